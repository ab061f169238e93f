//! Time as the data gives it: seconds and microseconds since the Unix epoch.
//! Every time in bugyo's detection comes from the data, never from the clock,
//! so that a replay is deterministic.

use std::fmt;

/// A point in time with microsecond resolution (MRT BGP4MP_ET precision).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    pub secs: i64,
    /// Microseconds within the second (0..1_000_000).
    pub micros: u32,
}

impl Timestamp {
    /// A timestamp of whole seconds.
    pub const fn from_secs(secs: i64) -> Self {
        Timestamp { secs, micros: 0 }
    }

    /// Microseconds since the epoch.
    pub const fn as_micros(&self) -> i64 {
        self.secs * 1_000_000 + self.micros as i64
    }

    /// Builds a timestamp from microseconds since the epoch.
    pub const fn from_micros(us: i64) -> Self {
        Timestamp {
            secs: us.div_euclid(1_000_000),
            micros: us.rem_euclid(1_000_000) as u32,
        }
    }

    /// This time plus `secs` seconds.
    pub const fn plus_secs(&self, secs: i64) -> Self {
        Timestamp {
            secs: self.secs + secs,
            micros: self.micros,
        }
    }

    /// Seconds from `earlier` to `self` (negative if `earlier` is later).
    pub fn secs_since(&self, earlier: Timestamp) -> f64 {
        (self.as_micros() - earlier.as_micros()) as f64 / 1e6
    }

    /// RFC 3339 in UTC, e.g. `2017-08-25T03:22:00Z` (microseconds shown
    /// only when present).
    pub fn rfc3339(&self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.secs);
        if self.micros == 0 {
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
        } else {
            format!(
                "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:06}Z",
                self.micros
            )
        }
    }
}

impl Timestamp {
    /// Parses an RFC 3339 UTC time as [`Timestamp::rfc3339`] writes it
    /// (`2017-08-25T03:22:00Z`, optionally with a fraction of a second, up
    /// to microseconds; `+00:00` for `Z` accepted); `None` if it is not one.
    pub fn parse_rfc3339(s: &str) -> Option<Timestamp> {
        let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
        let (date, time) = s.split_once(['T', ' '])?;
        let mut d = date.splitn(3, '-');
        let y: i64 = d.next()?.parse().ok()?;
        let mo: i64 = d.next()?.parse().ok()?;
        let day: i64 = d.next()?.parse().ok()?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, f))
                if !f.is_empty() && f.len() <= 6 && f.bytes().all(|b| b.is_ascii_digit()) =>
            {
                (hms, format!("{f:0<6}").parse::<u32>().ok()?)
            }
            Some(_) => return None,
            None => (time, 0),
        };
        let mut t = hms.splitn(3, ':');
        let h: i64 = t.next()?.parse().ok()?;
        let mi: i64 = t.next()?.parse().ok()?;
        let sec: i64 = t.next()?.parse().ok()?;
        if !(1..=12).contains(&mo) || !(1..=31).contains(&day) || h > 23 || mi > 59 || sec > 60 {
            return None;
        }
        // Days from the civil date (Howard Hinnant's algorithm).
        let y = if mo <= 2 { y - 1 } else { y };
        let era = y.div_euclid(400);
        let yoe = y.rem_euclid(400);
        let mp = (mo + 9) % 12;
        let doy = (153 * mp + 2) / 5 + day - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        let t = Timestamp {
            secs: days * 86_400 + h * 3600 + mi * 60 + sec,
            micros: frac,
        };
        // Reject dates that do not exist (30 February).
        (civil(t.secs).2 == day as u32).then_some(t)
    }
}

/// Splits Unix seconds into UTC calendar fields (Howard Hinnant's algorithm).
fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Whether `year` is a Gregorian leap year.
pub fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

/// Days in `month` (1..=12) of `year`.
pub fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of the proleptic Gregorian date `year-month-day`
/// (Howard Hinnant's `days_from_civil`). `month` is 1..=12; `day` is not
/// checked against the month's length (31 February is 3 March): callers
/// that take dates from input check with [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (m, d) = (i64::from(month), i64::from(day));
    let y = if m <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date (year, month 1..=12, day 1..=31) of a day
/// count since 1970-01-01; the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let (y, m, d, _, _, _) = civil(days * 86_400);
    (y, m, d)
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl serde::Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.rfc3339())
    }
}

impl<'de> serde::Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Timestamp::parse_rfc3339(&s)
            .ok_or_else(|| serde::de::Error::custom(format!("time {s:?}: not RFC 3339 UTC")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_parses_back() {
        for t in [0, 1_503_631_320, 951_782_400, -86_400, 4_102_444_799] {
            for micros in [0, 1, 500_000] {
                let ts = Timestamp { secs: t, micros };
                assert_eq!(Timestamp::parse_rfc3339(&ts.rfc3339()), Some(ts));
            }
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2017-08-25T03:22:00.5+00:00").map(|t| t.micros),
            Some(500_000)
        );
        for bad in [
            "",
            "2017-08-25",
            "2017-02-30T00:00:00Z",
            "2017-08-25T03:22:00",
            "2017-13-01T00:00:00Z",
            "2017-08-25T03:22:00.Z",
            "x017-08-25T03:22:00Z",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn civil_days_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn rfc3339() {
        assert_eq!(Timestamp::from_secs(0).rfc3339(), "1970-01-01T00:00:00Z");
        // 2017-08-25 12:22 JST = 03:22 UTC
        assert_eq!(
            Timestamp::from_secs(1_503_631_320).rfc3339(),
            "2017-08-25T03:22:00Z"
        );
        let t = Timestamp {
            secs: 1_445_565_678,
            micros: 509_481,
        };
        assert_eq!(t.rfc3339(), "2015-10-23T02:01:18.509481Z");
        assert_eq!(Timestamp::from_micros(t.as_micros()), t);
    }
}
