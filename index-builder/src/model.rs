//! The vocabulary of the joint incentive / joint punishment system, shared by the catalogue,
//! the sources, the snapshot and the decision engine.
//!
//! Each enum has a stable wire name (the snake_case string used in CSV, TOML and JSON) and a
//! stable one-byte code (used in the snapshot's fixed-width tables). Changing either is a
//! format change.

use std::fmt;

macro_rules! wire_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal, $wire:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
        pub enum $name { $($(#[$vmeta])* $variant,)+ }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The snake_case name used in CSV, TOML and JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire,)+ }
            }

            /// The one-byte code used in snapshot tables.
            pub fn code(self) -> u8 {
                match self { $($name::$variant => $code,)+ }
            }

            pub fn from_code(code: u8) -> Option<$name> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }

            /// Parses the wire name; `None` for anything else (callers report the context).
            pub fn parse(s: &str) -> Option<$name> {
                match s { $($wire => Some($name::$variant),)+ _ => None }
            }

            /// The accepted wire names, for error messages.
            pub fn expected() -> &'static str {
                concat!($($wire, " "),+).trim_end()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<$name, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                $name::parse(&s).ok_or_else(|| {
                    serde::de::Error::custom(format!(
                        "unknown {} `{}`, expected one of: {}",
                        stringify!($name).to_lowercase(), s, $name::expected()
                    ))
                })
            }
        }
    };
}

wire_enum! {
    /// The class of a list (SPEC §2).
    Class {
        /// 红名单: trustworthy subjects.
        Red = 1, "red";
        /// 重点关注名单: relatively serious dishonesty (较重失信).
        Focus = 2, "focus";
        /// 黑名单: severe dishonesty (严重失信).
        Black = 3, "black";
    }
}

wire_enum! {
    /// Whether a subject is an organisation (USCC) or a person (RIC).
    SubjectType {
        Org = 1, "org";
        Person = 2, "person";
    }
}

wire_enum! {
    /// The situations in which a caller asks (SPEC §4).
    Scenario {
        Licensing = 1, "licensing";
        Procurement = 2, "procurement";
        FiscalFunds = 3, "fiscal_funds";
        MarketEntry = 4, "market_entry";
        Honors = 5, "honors";
        Finance = 6, "finance";
        Transport = 7, "transport";
        Consumption = 8, "consumption";
        Inspection = 9, "inspection";
        PublicServices = 10, "public_services";
    }
}

wire_enum! {
    /// What a measure does to the grant in a scenario.
    Effect {
        Deny = 1, "deny";
        Review = 2, "review";
        FastTrack = 3, "fast_track";
    }
}

wire_enum! {
    /// 强制性 (mandatory) or 推荐性 (recommended) measure.
    Binding {
        Mandatory = 1, "mandatory";
        Recommended = 2, "recommended";
    }
}

wire_enum! {
    /// Punitive (惩戒) or rewarding (激励) measure.
    Kind {
        Punish = 1, "punish";
        Reward = 2, "reward";
    }
}

wire_enum! {
    /// The role a person holds in an organisation (links.csv).
    Role {
        /// 法定代表人
        LegalRep = 1, "legal_rep";
        /// 主要负责人
        Principal = 2, "principal";
        /// 直接责任人员
        Responsible = 3, "responsible";
        Director = 4, "director";
        Shareholder = 5, "shareholder";
        /// 实际控制人
        Controller = 6, "controller";
    }
}

wire_enum! {
    /// What a repair row does to a record (repairs.csv).
    RepairAction {
        /// 信用修复
        Repair = 1, "repair";
        /// 移出
        Removal = 2, "removal";
        /// 撤销
        Revocation = 3, "revocation";
    }
}

wire_enum! {
    /// How a closed objection ended (objections.csv); an open objection has no outcome.
    Outcome {
        /// The record stands.
        Upheld = 1, "upheld";
        /// The record stops taking effect on the closing day.
        Corrected = 2, "corrected";
        /// The record stops taking effect on the closing day.
        Revoked = 3, "revoked";
    }
}

impl Outcome {
    /// Whether this outcome ends the record's effect.
    pub fn ends_record(self) -> bool {
        matches!(self, Outcome::Corrected | Outcome::Revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_and_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(Scenario::parse(s.as_str()), Some(*s));
            assert_eq!(Scenario::from_code(s.code()), Some(*s));
        }
        for r in Role::ALL {
            assert_eq!(Role::from_code(r.code()), Some(*r));
        }
        assert_eq!(Scenario::parse("Licensing"), None);
        assert!(Class::expected().contains("focus"));
    }

    #[test]
    fn unknown_names_are_rejected_with_the_choices() {
        let e = serde_json::from_str::<Effect>("\"allow\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown effect `allow`"), "{e}");
        assert!(e.contains("deny review fast_track"), "{e}");
    }
}
