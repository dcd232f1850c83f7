//! Calendar dates as whole days, the only time unit the credit rules use.
//!
//! Every date in the sources and in the rules is a calendar date in China Standard Time
//! (UTC+8, no daylight saving). A [`Day`] counts days since 1970-01-01, which makes "on or
//! before" a plain integer comparison and lets the snapshot store a date in four bytes.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A proleptic Gregorian calendar date, stored as days since 1970-01-01.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Day(pub i32);

/// Why a `YYYY-MM-DD` string is not a date.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DateError {
    /// Not of the form `YYYY-MM-DD` (ten characters, digits and two hyphens).
    Shape,
    /// Well formed, but no such day exists (month 13, 31 April, 29 February of a common year).
    NoSuchDay { year: i32, month: u32, day: u32 },
    /// A real day, but outside the years a question may be asked about ([`AS_OF_YEARS`]).
    OutOfRange,
}

/// The years an `as_of` (the day a check, a screening or a profile is asked about) may name:
/// from 1949, before which the credit system can hold no record (the People's Republic and
/// every authority that lists anyone date from it), to 2199, far enough ahead for any
/// question about when a listing ends. Year 0000 or 9999 is a typo, not a question, and an
/// answer for it would read as a real "clear".
pub const AS_OF_YEARS: std::ops::RangeInclusive<i32> = 1949..=2199;

impl fmt::Display for DateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DateError::Shape => f.write_str("expected a date as YYYY-MM-DD"),
            DateError::NoSuchDay { year, month, day } => {
                write!(f, "{year:04}-{month:02}-{day:02} is not a calendar date")
            }
            DateError::OutOfRange => write!(
                f,
                "outside the accepted range {}-01-01 to {}-12-31",
                AS_OF_YEARS.start(),
                AS_OF_YEARS.end()
            ),
        }
    }
}

impl std::error::Error for DateError {}

/// Seconds east of UTC of China Standard Time.
const CST_OFFSET_SECS: i64 = 8 * 3600;

pub fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

pub fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl Day {
    /// The largest representable day; used as "open-ended" sentinel in fixed-width tables.
    pub const MAX: Day = Day(i32::MAX);

    /// Builds a day from its calendar parts, or `None` when the parts name no real day.
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Day> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Howard Hinnant's days_from_civil: shift the year to start in March so the leap day
        // is the last day of the "year", then count eras of 400 years.
        let y = if month <= 2 { year - 1 } else { year } as i64;
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let mp = (month as i64 + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day as i64 - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        Some(Day((era * 146_097 + doe - 719_468) as i32))
    }

    /// The calendar parts (year, month, day) of this day.
    pub fn ymd(self) -> (i32, u32, u32) {
        // Days from 0000-03-01. From then on (every date a register holds) the same steps
        // run on unsigned 32-bit numbers, whose divisions by constants are a multiply and a
        // shift: a listed subject's answer formats a handful of dates.
        let z = self.0 as i64 + 719_468;
        if let Ok(z) = u32::try_from(z) {
            let era = z / 146_097;
            let doe = z - era * 146_097;
            let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
            let mp = (5 * doy + 2) / 153;
            let d = doy - (153 * mp + 2) / 5 + 1;
            let m = if mp < 10 { mp + 3 } else { mp - 9 };
            let y = (yoe + era * 400 + u32::from(m <= 2)) as i32;
            return (y, m, d);
        }
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let y = (yoe + era * 400 + if m <= 2 { 1 } else { 0 }) as i32;
        (y, m, d)
    }

    /// Parses `YYYY-MM-DD` strictly: exactly ten bytes, and a day that exists.
    pub fn parse(s: &str) -> Result<Day, DateError> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(DateError::Shape);
        }
        let year = digits(&b[0..4]).ok_or(DateError::Shape)? as i32;
        let month = digits(&b[5..7]).ok_or(DateError::Shape)?;
        let day = digits(&b[8..10]).ok_or(DateError::Shape)?;
        Day::from_ymd(year, month, day).ok_or(DateError::NoSuchDay { year, month, day })
    }

    /// Parses an `as_of` date: `YYYY-MM-DD` as [`Day::parse`] reads it, in one of the
    /// [`AS_OF_YEARS`]. The one parser of every entry point that takes a day to decide on
    /// (`/v1/check`, `/v1/screen`, `/v1/subjects/{id}`, and `credgate check`, `screen` and
    /// `validate`), and of the days `index-builder build` takes (`--today`,
    /// `--history-from`).
    pub fn parse_as_of(s: &str) -> Result<Day, DateError> {
        let day = Day::parse(s)?;
        if AS_OF_YEARS.contains(&day.ymd().0) {
            Ok(day)
        } else {
            Err(DateError::OutOfRange)
        }
    }

    /// Parses the compact `YYYYMMDD` form used inside identity numbers.
    pub fn parse_compact(b: &[u8]) -> Option<Day> {
        if b.len() != 8 {
            return None;
        }
        let year = digits(&b[0..4])? as i32;
        Day::from_ymd(year, digits(&b[4..6])?, digits(&b[6..8])?)
    }

    /// The same calendar day `years` later; 29 February falls back to 28 February in a
    /// common year. (The five-year retention counts its period to that day and erases on
    /// the next: see `build::erase_day`.)
    pub fn add_years(self, years: i32) -> Day {
        let (y, m, d) = self.ymd();
        let y2 = y + years;
        let d2 = d.min(days_in_month(y2, m));
        Day::from_ymd(y2, m, d2).expect("clamped day exists")
    }

    pub fn add_days(self, days: i32) -> Day {
        Day(self.0 + days)
    }

    /// Today's date in China Standard Time.
    pub fn today_cst() -> Day {
        let secs = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Day((secs + CST_OFFSET_SECS).div_euclid(86_400) as i32)
    }

    /// Writes `YYYY-MM-DD` into a fixed buffer, without allocating.
    pub fn to_bytes(self) -> [u8; 10] {
        let (y, m, d) = self.ymd();
        let mut out = *b"0000-00-00";
        let y = y.clamp(0, 9999) as u32;
        for (i, v) in [
            (0, y / 1000),
            (1, y / 100 % 10),
            (2, y / 10 % 10),
            (3, y % 10),
        ] {
            out[i] = b'0' + v as u8;
        }
        out[5] = b'0' + (m / 10) as u8;
        out[6] = b'0' + (m % 10) as u8;
        out[8] = b'0' + (d / 10) as u8;
        out[9] = b'0' + (d % 10) as u8;
        out
    }
}

fn digits(b: &[u8]) -> Option<u32> {
    let mut v = 0u32;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.to_bytes();
        f.write_str(std::str::from_utf8(&b).expect("ascii"))
    }
}

impl serde::Serialize for Day {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let b = self.to_bytes();
        s.serialize_str(std::str::from_utf8(&b).expect("ascii"))
    }
}

impl<'de> serde::Deserialize<'de> for Day {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Day, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Day::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_round_trip() {
        assert_eq!(Day::from_ymd(1970, 1, 1), Some(Day(0)));
        assert_eq!(Day::parse("2000-03-01").unwrap().ymd(), (2000, 3, 1));
        for n in (-800_000..800_000).step_by(997) {
            let (y, m, d) = Day(n).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Some(Day(n)));
        }
    }

    #[test]
    fn every_day_round_trips_across_the_unsigned_switch_and_into_this_century() {
        // 0000-03-01 (day -719,468) is where ymd switches from signed to unsigned steps.
        let mut last = Day(-719_480).ymd();
        for n in -719_479..40_000 {
            let (y, m, d) = Day(n).ymd();
            assert_eq!(Day::from_ymd(y, m, d), Some(Day(n)), "{n}");
            let next_day = (y, m, d) == (last.0, last.1, last.2 + 1);
            let next_month =
                d == 1 && ((y, m) == (last.0, last.1 + 1) || (y, m) == (last.0 + 1, 1));
            assert!(next_day || next_month, "{n}: {last:?} then {:?}", (y, m, d));
            last = (y, m, d);
        }
    }

    #[test]
    fn rejects_days_that_do_not_exist() {
        assert_eq!(
            Day::parse("1949-02-31"),
            Err(DateError::NoSuchDay {
                year: 1949,
                month: 2,
                day: 31
            })
        );
        assert!(Day::parse("2023-02-29").is_err());
        assert!(Day::parse("2024-02-29").is_ok());
        assert!(Day::parse("1900-02-29").is_err());
        assert!(Day::parse("2000-02-29").is_ok());
        assert_eq!(Day::parse("2024-1-01"), Err(DateError::Shape));
        assert_eq!(
            Day::parse("2024-13-01").unwrap_err().to_string(),
            "2024-13-01 is not a calendar date"
        );
    }

    #[test]
    fn as_of_days_lie_in_the_accepted_years() {
        for ok in ["1949-01-01", "2026-11-30", "2199-12-31"] {
            assert_eq!(Day::parse_as_of(ok), Day::parse(ok), "{ok}");
        }
        for out in ["0000-01-01", "1948-12-31", "2200-01-01", "9999-12-31"] {
            assert_eq!(Day::parse_as_of(out), Err(DateError::OutOfRange), "{out}");
        }
        assert_eq!(
            Day::parse_as_of("0000-02-30"),
            Err(DateError::NoSuchDay {
                year: 0,
                month: 2,
                day: 30
            })
        );
        assert_eq!(Day::parse_as_of("+026-11-30"), Err(DateError::Shape));
        assert_eq!(
            DateError::OutOfRange.to_string(),
            "outside the accepted range 1949-01-01 to 2199-12-31"
        );
    }

    #[test]
    fn five_years_later_clamps_leap_day() {
        let d = Day::parse("2020-02-29").unwrap();
        assert_eq!(d.add_years(5).to_string(), "2025-02-28");
        assert_eq!(
            Day::parse("2019-06-30").unwrap().add_years(5).to_string(),
            "2024-06-30"
        );
    }

    #[test]
    fn compact_birth_dates() {
        assert_eq!(
            Day::parse_compact(b"19491231"),
            Day::parse("1949-12-31").ok()
        );
        assert_eq!(Day::parse_compact(b"19490231"), None);
        assert_eq!(Day::parse_compact(b"1949123"), None);
    }
}
