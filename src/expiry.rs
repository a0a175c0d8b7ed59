//! Ages and dates: Python's ISO-8601 text (`datetime.isoformat()` / `fromisoformat()`),
//! the stored `_session_expiry` value, and when a stored session counts as expired.

use serde_json::Value;
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// A Python `datetime`: aware (with a UTC offset) or naive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTime {
    /// Has a UTC offset; what Django stores with `USE_TZ = True` (the default).
    Aware(OffsetDateTime),
    /// No offset; what Django stores with `USE_TZ = False`.
    Naive(PrimitiveDateTime),
}

impl DateTime {
    /// `self - other`, if both are aware or both naive (Python raises `TypeError` otherwise).
    pub fn minus(&self, other: &DateTime) -> Option<Duration> {
        match (self, other) {
            (DateTime::Aware(a), DateTime::Aware(b)) => Some(*a - *b),
            (DateTime::Naive(a), DateTime::Naive(b)) => Some(*a - *b),
            _ => None,
        }
    }

    /// `self + seconds`; `None` past Python's year range.
    pub fn plus_seconds(&self, seconds: i64) -> Option<DateTime> {
        let d = Duration::seconds(seconds);
        let out = match self {
            DateTime::Aware(a) => DateTime::Aware(a.checked_add(d)?),
            DateTime::Naive(n) => DateTime::Naive(n.checked_add(d)?),
        };
        let year = match out {
            DateTime::Aware(a) => a.year(),
            DateTime::Naive(n) => n.year(),
        };
        (1..=9999).contains(&year).then_some(out)
    }
}

/// Now, aware, in UTC (`timezone.now()` with `USE_TZ = True`), to microseconds.
pub fn now() -> OffsetDateTime {
    truncate_to_micros(OffsetDateTime::now_utc())
}

/// A file timestamp as an aware UTC datetime (`datetime.fromtimestamp(mtime, utc)`).
pub fn from_unix(seconds: i64, nanoseconds: u32) -> OffsetDateTime {
    let t = OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    truncate_to_micros(t + Duration::nanoseconds(i64::from(nanoseconds)))
}

fn truncate_to_micros(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(t.nanosecond() / 1000 * 1000).expect("in range")
}

/// `delta.days * 86400 + delta.seconds`: whole seconds, rounded toward minus infinity.
pub fn floor_seconds(d: Duration) -> i64 {
    let micros = d.whole_microseconds();
    micros.div_euclid(1_000_000).clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// `datetime.isoformat()`: `YYYY-MM-DDTHH:MM:SS[.ffffff][+HH:MM[:SS]]`.
pub fn format_iso(dt: &DateTime) -> String {
    let (date_time, offset) = match dt {
        DateTime::Aware(a) => (PrimitiveDateTime::new(a.date(), a.time()), Some(a.offset())),
        DateTime::Naive(n) => (*n, None),
    };
    let (d, t) = (date_time.date(), date_time.time());
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        d.year(),
        u8::from(d.month()),
        d.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if t.microsecond() != 0 {
        s.push_str(&format!(".{:06}", t.microsecond()));
    }
    if let Some(off) = offset {
        let total = off.whole_seconds();
        let sign = if total < 0 { '-' } else { '+' };
        let abs = total.unsigned_abs();
        s.push_str(&format!("{sign}{:02}:{:02}", abs / 3600, abs / 60 % 60));
        if abs % 60 != 0 {
            s.push_str(&format!(":{:02}", abs % 60));
        }
    }
    s
}

/// `datetime.fromisoformat()` for the extended forms: `YYYY-MM-DD`, optionally followed by
/// `T` (or a space) and `HH[:MM[:SS[.fraction]]]`, optionally followed by `Z` or an offset
/// `±HH[:MM[:SS]]`. Fractions beyond microseconds are truncated.
pub fn parse_iso(s: &str) -> Option<DateTime> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let date = Date::from_calendar_date(
        digits(&b[0..4])? as i32,
        Month::try_from(digits(&b[5..7])? as u8).ok()?,
        digits(&b[8..10])? as u8,
    )
    .ok()?;
    if date.year() < 1 {
        return None;
    }
    let rest = &s[10..];
    if rest.is_empty() {
        return Some(DateTime::Naive(PrimitiveDateTime::new(date, Time::MIDNIGHT)));
    }
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let tz_at = rest.find(['Z', 'z', '+', '-']).unwrap_or(rest.len());
    let (clock, tz) = rest.split_at(tz_at);
    let time = parse_clock(clock)?;
    let naive = PrimitiveDateTime::new(date, time);
    if tz.is_empty() {
        return Some(DateTime::Naive(naive));
    }
    let offset = if tz.eq_ignore_ascii_case("z") {
        UtcOffset::UTC
    } else {
        let sign: i32 = if tz.starts_with('-') { -1 } else { 1 };
        let (h, m, sec) = parse_hms(&tz[1..])?;
        if h > 23 {
            return None;
        }
        let secs = sign * (h as i32 * 3600 + m as i32 * 60 + sec as i32);
        UtcOffset::from_whole_seconds(secs).ok()?
    };
    Some(DateTime::Aware(naive.assume_offset(offset)))
}

/// `HH[:MM[:SS[.fraction]]]`.
fn parse_clock(s: &str) -> Option<Time> {
    let (hms, fraction) = match s.split_once(['.', ',']) {
        Some((hms, f)) => (hms, Some(f)),
        None => (s, None),
    };
    let (h, m, sec) = parse_hms(hms)?;
    let micros = match fraction {
        None => 0,
        Some(f) if !f.is_empty() && f.bytes().all(|c| c.is_ascii_digit()) && hms.len() == 8 => {
            let six: String = f.chars().chain(std::iter::repeat('0')).take(6).collect();
            six.parse::<u32>().ok()?
        }
        Some(_) => return None,
    };
    Time::from_hms_micro(h, m, sec, micros).ok()
}

/// `HH`, `HH:MM` or `HH:MM:SS` (also `HHMM` and `HHMMSS`).
fn parse_hms(s: &str) -> Option<(u8, u8, u8)> {
    let b = s.as_bytes();
    let parts: Vec<&[u8]> = if s.contains(':') { b.split(|&c| c == b':').collect() } else { b.chunks(2).collect() };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.len() != 2) {
        return None;
    }
    let n = |i: usize| parts.get(i).map_or(Some(0), |p| digits(p).map(|v| v as u8));
    Some((n(0)?, n(1)?, n(2)?))
}

fn digits(b: &[u8]) -> Option<u32> {
    if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// What a stored `_session_expiry` means.
#[derive(Debug, Clone, PartialEq)]
pub enum Stored {
    /// Missing or falsy (`None`, `0`, ...): the cookie age applies.
    Default,
    /// A number of seconds (Python ints and floats; `True` counts as 1).
    Seconds(i64),
    /// An ISO-8601 instant.
    Instant(DateTime),
    /// Something Django would crash on: unparseable text, a list, ...
    Invalid,
}

impl Stored {
    /// Reads a stored (or explicitly given) expiry value, with Python's truthiness.
    pub fn classify(value: Option<&Value>) -> Stored {
        match value {
            None | Some(Value::Null) | Some(Value::Bool(false)) => Stored::Default,
            Some(Value::Bool(true)) => Stored::Seconds(1),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(0) => Stored::Default,
                Some(i) => Stored::Seconds(i),
                None => match n.as_f64() {
                    Some(0.0) => Stored::Default, // also -0.0
                    Some(f) if f.is_finite() => Stored::Seconds(f.floor() as i64),
                    _ => Stored::Invalid,
                },
            },
            Some(Value::String(s)) if s.is_empty() => Stored::Default,
            Some(Value::String(s)) => parse_iso(s).map_or(Stored::Invalid, Stored::Instant),
            Some(Value::Array(a)) if a.is_empty() => Stored::Default,
            Some(Value::Object(o)) if o.is_empty() => Stored::Default,
            Some(_) => Stored::Invalid,
        }
    }
}

/// Whether a stored session is expired, server side, at `now`.
///
/// As Django: an ISO expiry is absolute, and without one the file expires `cookie_age`
/// seconds after its last save (mtime); a session is expired once less than one whole
/// second remains. Unlike Django's file backend, an integer expiry counts seconds of
/// inactivity from the mtime (Django never expires those), and an expiry Django would
/// crash on (unparseable, naive) counts as expired.
pub fn is_expired(expiry: Option<&Value>, mtime: OffsetDateTime, now: OffsetDateTime, cookie_age: i64) -> bool {
    let after_mtime = |seconds: i64| match mtime.checked_add(Duration::seconds(seconds)) {
        Some(at) => floor_seconds(at - now) <= 0,
        None => seconds < 0,
    };
    match Stored::classify(expiry) {
        Stored::Default => after_mtime(cookie_age),
        Stored::Seconds(n) => after_mtime(n),
        Stored::Instant(DateTime::Aware(at)) => floor_seconds(at - now) <= 0,
        Stored::Instant(DateTime::Naive(_)) | Stored::Invalid => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn aware(s: &str) -> OffsetDateTime {
        match parse_iso(s) {
            Some(DateTime::Aware(a)) => a,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn isoformat_round_trips_like_python() {
        for s in [
            "2026-11-26T05:37:16.092128+00:00",
            "2030-01-01T00:00:00+00:00",
            "2030-01-01T00:00:00",
            "2030-01-01T12:30:00.000001-05:30",
            "0001-01-01T00:00:00+14:00",
            "9999-12-31T23:59:59.999999+00:00",
        ] {
            assert_eq!(format_iso(&parse_iso(s).unwrap()), s);
        }
    }

    #[test]
    fn fromisoformat_variants() {
        let utc = |s| format_iso(&parse_iso(s).unwrap());
        assert_eq!(utc("2030-01-01T00:00:00Z"), "2030-01-01T00:00:00+00:00");
        assert_eq!(utc("2030-01-01 10:20"), "2030-01-01T10:20:00");
        assert_eq!(utc("2030-01-01"), "2030-01-01T00:00:00");
        assert_eq!(utc("2030-01-01T10:20:30.5+0100"), "2030-01-01T10:20:30.500000+01:00");
        assert_eq!(utc("2030-01-01T10:20:30.1234567+00:00"), "2030-01-01T10:20:30.123456+00:00");
        for bad in [
            "",
            "tomorrow",
            "2030-13-01T00:00:00",
            "2030-02-30",
            "2030-01-01T25:00:00",
            "2030-01-01X10:00",
            "2030-01-01T10:00:00+",
            "2030-01-01T10:00:00.+00:00",
            "2030-01-01T10:00:00+24:00",
            "0000-01-01T00:00:00",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn floor_seconds_rounds_toward_minus_infinity() {
        assert_eq!(floor_seconds(Duration::milliseconds(500)), 0);
        assert_eq!(floor_seconds(Duration::milliseconds(1500)), 1);
        assert_eq!(floor_seconds(Duration::milliseconds(-500)), -1);
        assert_eq!(floor_seconds(Duration::seconds(-3)), -3);
    }

    #[test]
    fn stored_values_use_python_truthiness() {
        assert_eq!(Stored::classify(None), Stored::Default);
        for falsy in [json!(null), json!(0), json!(0.0), json!(false), json!(""), json!([]), json!({})] {
            assert_eq!(Stored::classify(Some(&falsy)), Stored::Default, "{falsy}");
        }
        assert_eq!(Stored::classify(Some(&json!(10))), Stored::Seconds(10));
        assert_eq!(Stored::classify(Some(&json!(-3600))), Stored::Seconds(-3600));
        assert_eq!(Stored::classify(Some(&json!(1.5))), Stored::Seconds(1));
        assert_eq!(Stored::classify(Some(&json!(true))), Stored::Seconds(1));
        assert!(matches!(Stored::classify(Some(&json!("2030-01-01T00:00:00+00:00"))), Stored::Instant(_)));
        assert_eq!(Stored::classify(Some(&json!("soon"))), Stored::Invalid);
        assert_eq!(Stored::classify(Some(&json!([1]))), Stored::Invalid);
    }

    #[test]
    fn server_side_expiry() {
        let now = aware("2026-11-26T12:00:00+00:00");
        let age = 1_209_600;
        let fresh = now - Duration::seconds(10);
        let old = now - Duration::days(15);
        assert!(!is_expired(None, fresh, now, age));
        assert!(is_expired(None, old, now, age));
        // The `<= 0` rule: less than one whole second left is expired.
        assert!(is_expired(None, now - Duration::seconds(age) + Duration::milliseconds(500), now, age));
        assert!(!is_expired(None, now - Duration::seconds(age) + Duration::milliseconds(1500), now, age));
        // Integer expiry: inactivity since the last save (Django never expires these).
        assert!(!is_expired(Some(&json!(3600)), now - Duration::seconds(3000), now, age));
        assert!(is_expired(Some(&json!(3600)), now - Duration::seconds(3601), now, age));
        assert!(is_expired(Some(&json!(-3600)), now, now, age));
        // Absolute instants ignore the mtime.
        assert!(!is_expired(Some(&json!("2026-11-26T12:00:10+00:00")), old, now, age));
        assert!(is_expired(Some(&json!("2026-11-26T11:59:50+00:00")), fresh, now, age));
        // What Django would crash on counts as expired.
        assert!(is_expired(Some(&json!("2030-01-01T00:00:00")), fresh, now, age));
        assert!(is_expired(Some(&json!("not a date")), fresh, now, age));
        // Overflowing arithmetic does not panic.
        assert!(!is_expired(Some(&json!(i64::MAX)), fresh, now, age));
        assert!(is_expired(Some(&json!(i64::MIN)), fresh, now, age));
    }

    #[test]
    fn arithmetic_is_python_like() {
        let m = DateTime::Aware(aware("2026-11-26T12:00:00.250000+00:00"));
        let e = m.plus_seconds(10).unwrap();
        assert_eq!(format_iso(&e), "2026-11-26T12:00:10.250000+00:00");
        assert_eq!(floor_seconds(e.minus(&m).unwrap()), 10);
        let naive = parse_iso("2026-11-26T12:00:00").unwrap();
        assert_eq!(naive.minus(&m), None);
        assert_eq!(m.plus_seconds(i64::MAX / 2), None);
        assert_eq!(from_unix(1_700_000_000, 123_456_789), aware("2023-11-14T22:13:20.123456+00:00"));
    }
}
