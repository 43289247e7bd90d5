//! Wall-clock timestamps in traces: ISO-like datetimes and Common Log Format times, to UTC
//! epoch seconds. Naive datetimes (no zone) are read as UTC unless an offset is given.

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Days since 1970-01-01 of a date written as year, month, day, refusing days the month
/// does not have (2023-02-30, 2023-04-31).
fn checked_days(y: i64, m: i64, d: i64) -> Result<i64, String> {
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let last = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    if d > last {
        return Err(format!(
            "{y:04}-{m:02} has {last} days, not {d}: a date that does not exist"
        ));
    }
    Ok(days_from_civil(y, m, d))
}

/// Parse a zone offset: `Z`, `UTC`, `+HH:MM`, `-HHMM`, `+HH`. Returns seconds east of UTC.
pub fn parse_offset(s: &str) -> Result<i64, String> {
    let s = s.trim();
    if s.is_empty() || s == "Z" || s.eq_ignore_ascii_case("UTC") || s.eq_ignore_ascii_case("GMT") {
        return Ok(0);
    }
    let (sign, rest) = match s.as_bytes()[0] {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => {
            return Err(format!(
                "`{s}` is not a time zone offset (write Z, UTC, +02:00 or -0400)"
            ));
        }
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if !digits.chars().all(|c| c.is_ascii_digit()) || !(digits.len() == 2 || digits.len() == 4) {
        return Err(format!(
            "`{s}` is not a time zone offset (write Z, UTC, +02:00 or -0400)"
        ));
    }
    let h: i64 = digits[..2].parse().unwrap_or(0);
    let m: i64 = if digits.len() == 4 {
        digits[2..].parse().unwrap_or(0)
    } else {
        0
    };
    if h > 14 || m > 59 {
        return Err(format!("`{s}` is out of range for a time zone offset"));
    }
    Ok(sign * (h * 3600 + m * 60))
}

fn num(s: &str, what: &str, lo: i64, hi: i64) -> Result<i64, String> {
    let v: i64 = s.parse().map_err(|_| format!("bad {what} `{s}`"))?;
    if v < lo || v > hi {
        return Err(format!("{what} {v} out of range"));
    }
    Ok(v)
}

/// Parse `YYYY-MM-DD[ T]HH:MM:SS[.frac][zone]` to UTC epoch seconds. `default_offset` (seconds
/// east of UTC) applies when the text has no zone.
pub fn parse_datetime(s: &str, default_offset: i64) -> Result<f64, String> {
    let s = s.trim();
    if s.len() < 19 {
        return Err(format!("`{s}` is not a datetime like 2023-11-16 18:17:03"));
    }
    let b = s.as_bytes();
    if b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b' ' || b[10] == b'T')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(format!("`{s}` is not a datetime like 2023-11-16 18:17:03"));
    }
    let y = num(&s[0..4], "year", 0, 9999)?;
    let mo = num(&s[5..7], "month", 1, 12)?;
    let d = num(&s[8..10], "day", 1, 31)?;
    let h = num(&s[11..13], "hour", 0, 23)?;
    let mi = num(&s[14..16], "minute", 0, 59)?;
    let se = num(&s[17..19], "second", 0, 60)?;
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let n = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if n == 0 {
            return Err(format!("`{s}`: empty fraction of a second"));
        }
        frac = format!("0.{}", &r[..n]).parse::<f64>().unwrap_or(0.0);
        rest = &r[n..];
    }
    let offset = if rest.trim().is_empty() {
        default_offset
    } else {
        parse_offset(rest)?
    };
    let days = checked_days(y, mo, d)?;
    Ok((days * 86_400 + h * 3600 + mi * 60 + se - offset) as f64 + frac)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parse a Common Log Format time `01/Jul/1995:00:00:01 -0400` to UTC epoch seconds.
pub fn parse_clf_time(s: &str) -> Result<f64, String> {
    let s = s.trim();
    let (dt, zone) = s.split_once(' ').unwrap_or((s, "+0000"));
    let parts: Vec<&str> = dt.splitn(4, ['/', ':']).collect();
    if parts.len() != 4 {
        return Err(format!(
            "`{s}` is not a log time like 01/Jul/1995:00:00:01 -0400"
        ));
    }
    let d = num(parts[0], "day", 1, 31)?;
    let mo = MONTHS
        .iter()
        .position(|m| *m == parts[1])
        .ok_or_else(|| format!("bad month `{}`", parts[1]))? as i64
        + 1;
    let y = num(parts[2], "year", 0, 9999)?;
    let hms: Vec<&str> = parts[3].split(':').collect();
    if hms.len() != 3 {
        return Err(format!(
            "`{s}` is not a log time like 01/Jul/1995:00:00:01 -0400"
        ));
    }
    let (h, mi, se) = (
        num(hms[0], "hour", 0, 23)?,
        num(hms[1], "minute", 0, 59)?,
        num(hms[2], "second", 0, 60)?,
    );
    let off = parse_offset(zone)?;
    Ok((checked_days(y, mo, d)? * 86_400 + h * 3600 + mi * 60 + se - off) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_and_zones() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00", 0), Ok(0.0));
        assert_eq!(parse_datetime("1998-04-30 21:30:00", 0), Ok(893_971_800.0));
        assert_eq!(
            parse_datetime("1995-07-09T00:00:00-04:00", 0),
            Ok(805_262_400.0)
        );
        assert_eq!(
            parse_datetime("1995-07-09 00:00:00", -4 * 3600),
            Ok(805_262_400.0)
        );
        let t = parse_datetime("2023-11-16 18:17:03.9799600", 0).unwrap();
        assert!((t - 1_700_158_623.979_96).abs() < 1e-6);
        assert!(parse_datetime("2023-11-16 18:17:03 +25:00", 0).is_err());
        assert!(
            parse_datetime("2023-11-16 18:17:03 Mars/Olympus", 0)
                .unwrap_err()
                .contains("time zone")
        );
        assert!(parse_datetime("yesterday", 0).is_err());
    }

    #[test]
    fn clf_times() {
        assert_eq!(
            parse_clf_time("09/Jul/1995:00:00:00 -0400"),
            Ok(805_262_400.0)
        );
        assert!(parse_clf_time("09/Foo/1995:00:00:00 -0400").is_err());
        assert!(parse_clf_time("31/Apr/1995:00:00:00 -0400").is_err());
        assert!(parse_clf_time("29/Feb/1996:00:00:00 +0000").is_ok());
    }

    #[test]
    fn days_a_month_does_not_have_are_refused() {
        let e = parse_datetime("2023-02-30 00:00:00", 0).unwrap_err();
        assert!(e.contains("2023-02 has 28 days, not 30"), "{e}");
        assert!(parse_datetime("2024-02-29 00:00:00", 0).is_ok());
        assert!(parse_datetime("2100-02-29 00:00:00", 0).is_err());
        assert!(parse_datetime("2000-02-29 00:00:00", 0).is_ok());
        assert!(parse_datetime("2023-06-31 00:00:00", 0).is_err());
    }
}
