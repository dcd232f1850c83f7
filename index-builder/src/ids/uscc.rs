//! Unified Social Credit Code (统一社会信用代码), GB 32100-2015.

use super::{IdError, IdType};

/// The 31 characters a USCC may contain, in value order (I, O, Z, S and V are never used).
pub const CHARSET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";

/// Weights of positions 1–17 for the MOD 31 check: 3^(i−1) mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Weights of the eight body characters of the GB 11714 organisation code.
const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// The value 0–30 of a USCC character, or `None` outside the character set.
pub fn char_value(c: u8) -> Option<u32> {
    // A 256-entry table keeps the hot validation loop branch-free.
    const TABLE: [u8; 256] = {
        let mut t = [255u8; 256];
        let mut i = 0;
        while i < 31 {
            t[CHARSET[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    match TABLE[c as usize] {
        255 => None,
        v => Some(v as u32),
    }
}

/// The MOD 31 check character (position 18) for the first 17 characters, or `None` when one
/// of them is outside the character set.
pub fn check_char(first17: &[u8]) -> Option<u8> {
    debug_assert_eq!(first17.len(), 17);
    let mut sum = 0u32;
    for (&c, &w) in first17.iter().zip(WEIGHTS.iter()) {
        sum += char_value(c)? * w;
    }
    let v = (31 - sum % 31) % 31;
    Some(CHARSET[v as usize])
}

/// The GB 11714 organisation-code check character (USCC position 17) for the eight body
/// characters (USCC positions 9–16), or `None` when a body character is not a digit or an
/// upper-case letter.
pub fn org_check_char(body8: &[u8]) -> Option<u8> {
    debug_assert_eq!(body8.len(), 8);
    let mut sum = 0u32;
    for (&c, &w) in body8.iter().zip(ORG_WEIGHTS.iter()) {
        let v = match c {
            b'0'..=b'9' => (c - b'0') as u32,
            b'A'..=b'Z' => (c - b'A') as u32 + 10,
            _ => return None,
        };
        sum += v * w;
    }
    Some(match 11 - sum % 11 {
        10 => b'X',
        11 => b'0',
        v => b'0' + v as u8,
    })
}

/// Whether `c` is a registration-authority code (position 1): 1–9, A, N or Y.
pub fn is_authority(c: u8) -> bool {
    matches!(c, b'1'..=b'9' | b'A' | b'N' | b'Y')
}

/// Whether `entity` (position 2) is an entity type registration authority `authority`
/// (position 1) can issue: GB 32100-2015 table 1 numbers every authority's types with the
/// digits 1-9, and market regulation (9) has exactly three, 1 企业, 2 个体工商户 and
/// 3 农民专业合作社. The other authorities' lists are not enforced beyond 1-9: they have been
/// extended since the standard, and a code keeps the type it was issued with.
pub fn is_entity_type(authority: u8, entity: u8) -> bool {
    match authority {
        b'9' => matches!(entity, b'1'..=b'3'),
        _ => matches!(entity, b'1'..=b'9'),
    }
}

/// What a position admits, in the words error messages use.
const ANY: &str = "a digit or a capital letter other than I, O, S, V, Z";
const AUTHORITY: &str = "a registration-authority code (1-9, A, N or Y)";
const ENTITY: &str = "an entity-type code (a digit 1-9)";
const ENTITY_9: &str = "an entity type of registration authority 9 (1, 2 or 3)";
const REGION: &str = "a digit (positions 3-8 are the region code)";

/// Validates a normalised 18-character code, reporting the leftmost problem (position 18
/// last, so that its error can name the expected check character).
///
/// Position 2 (entity type) must be a type its authority issues ([`is_entity_type`]). A code
/// that is right in every respect except the MOD 31 character yields [`IdError::UsccCheck`];
/// the caller decides whether that is acceptable ("nonconforming").
pub(crate) fn validate(code: &[u8; 18]) -> Result<(), IdError> {
    // One pass checks each position's rule and accumulates the MOD 31 sum.
    let mut sum = 0u32;
    for (i, &c) in code[..17].iter().enumerate() {
        let value = char_value(c);
        let expected = match (i, value) {
            (0, _) if !is_authority(c) => AUTHORITY,
            (1, _) if !is_entity_type(code[0], c) => match code[0] {
                b'9' => ENTITY_9,
                _ => ENTITY,
            },
            (2..=7, _) if !c.is_ascii_digit() => REGION,
            (_, None) => ANY,
            (_, Some(v)) => {
                sum += v * WEIGHTS[i];
                continue;
            }
        };
        return Err(IdError::BadChar {
            id_type: Some(IdType::Uscc),
            position: i + 1,
            found: c as char,
            expected,
        });
    }
    // Every character is in CHARSET (digits and capitals), so the inner check is defined.
    let org = org_check_char(&code[8..16]).expect("body is alphanumeric");
    if org != code[16] {
        return Err(IdError::OrgCheck {
            expected: org as char,
            found: code[16] as char,
        });
    }
    let check = CHARSET[((31 - sum % 31) % 31) as usize];
    if char_value(code[17]).is_none() {
        // Not a charset character: malformed, so never "nonconforming", but the right
        // check character is known and worth telling.
        return Err(IdError::CheckCharNotAllowed {
            id_type: IdType::Uscc,
            expected: check as char,
            found: code[17] as char,
        });
    }
    if check != code[17] {
        return Err(IdError::UsccCheck {
            expected: check as char,
            found: code[17] as char,
        });
    }
    Ok(())
}

#[cfg(test)]
mod check_tests {
    use super::*;

    #[test]
    fn domain_examples() {
        for code in [
            "91110000600037341L",
            "9144030071526726XG",
            "92340602MA2PBMEM24",
            "121200004013590816",
        ] {
            let b = code.as_bytes();
            assert_eq!(check_char(&b[..17]), Some(b[17]), "{code}");
            assert_eq!(org_check_char(&b[8..16]), Some(b[16]), "{code}");
        }
        // The standard's own example carries a wrong check character; 3 is right.
        assert_eq!(check_char(&b"91350100M000100Y4Z"[..17]), Some(b'3'));
    }
}
