//! Kubernetes resource quantities (`100m`, `1.5`, `512Mi`, `1Gi`, `1e3`), parsed exactly.

/// A quantity that could not be parsed, with the reason.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a Kubernetes quantity: {reason}")]
pub struct QuantityError {
    pub text: String,
    pub reason: String,
}

/// The quantity's value in milli-units, rounded up as `Quantity.MilliValue()` does.
pub fn parse_milli(text: &str) -> Result<i64, QuantityError> {
    let fail = |reason: &str| QuantityError {
        text: text.to_string(),
        reason: reason.to_string(),
    };
    let s = text.trim();
    if s.is_empty() {
        return Err(fail("empty"));
    }
    let (negative, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let num_end = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(s.len());
    let (number, suffix) = s.split_at(num_end);
    if number.is_empty() || number == "." || number.matches('.').count() > 1 {
        return Err(fail("expected a number such as 250m, 1.5, 512Mi or 1e3"));
    }
    let (int_part, frac_part) = number.split_once('.').unwrap_or((number, ""));
    let digits: String = format!("{int_part}{frac_part}");
    if digits.len() > 30 {
        return Err(fail("too many digits"));
    }
    let mantissa: i128 = digits.parse().map_err(|_| fail("bad digits"))?;
    let mut exp10: i32 = -(frac_part.len() as i32);
    let mut exp2: u32 = 0;
    match suffix {
        "" => {}
        "n" => exp10 -= 9,
        "u" => exp10 -= 6,
        "m" => exp10 -= 3,
        "k" => exp10 += 3,
        "M" => exp10 += 6,
        "G" => exp10 += 9,
        "T" => exp10 += 12,
        "P" => exp10 += 15,
        "E" => exp10 += 18,
        "Ki" => exp2 = 10,
        "Mi" => exp2 = 20,
        "Gi" => exp2 = 30,
        "Ti" => exp2 = 40,
        "Pi" => exp2 = 50,
        "Ei" => exp2 = 60,
        _ if suffix.starts_with(['e', 'E']) => {
            let e: i32 = suffix[1..].parse().map_err(|_| fail("bad exponent"))?;
            if !(-30..=30).contains(&e) {
                return Err(fail("exponent out of range"));
            }
            exp10 += e;
        }
        _ => {
            return Err(fail(&format!(
                "unknown suffix `{suffix}` (use n, u, m, k, M, G, T, P, E, Ki, Mi, Gi, Ti, Pi, Ei or an exponent like e3)"
            )));
        }
    }
    // milli = mantissa * 10^(exp10 + 3) * 2^exp2, rounded up.
    let mut value = mantissa
        .checked_mul(1i128 << exp2)
        .ok_or_else(|| fail("too large"))?;
    let e = exp10 + 3;
    if e >= 0 {
        value = value
            .checked_mul(
                10i128
                    .checked_pow(e as u32)
                    .ok_or_else(|| fail("too large"))?,
            )
            .ok_or_else(|| fail("too large"))?;
    } else {
        let div = 10i128
            .checked_pow((-e) as u32)
            .ok_or_else(|| fail("too small"))?;
        value = (value + div - 1) / div;
    }
    if negative {
        value = -value;
    }
    i64::try_from(value).map_err(|_| fail("too large for a 64-bit milli-value"))
}

/// Format a milli-value back as a short quantity (`250m`, `2`, `1500m`).
pub fn format_milli(milli: i64) -> String {
    if milli % 1000 == 0 {
        (milli / 1000).to_string()
    } else {
        format!("{milli}m")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_people_write() {
        assert_eq!(parse_milli("100m"), Ok(100));
        assert_eq!(parse_milli("1.5"), Ok(1500));
        assert_eq!(parse_milli("2"), Ok(2000));
        assert_eq!(parse_milli("512Mi"), Ok(512 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("1Gi"), Ok(1024 * 1024 * 1024 * 1000));
        assert_eq!(parse_milli("1e3"), Ok(1_000_000));
        assert_eq!(parse_milli("1E-3"), Ok(1));
        assert_eq!(parse_milli("0.5Ki"), Ok(512_000));
        assert_eq!(parse_milli("250u"), Ok(1), "rounded up like MilliValue");
        assert_eq!(parse_milli("1k"), Ok(1_000_000));
        assert_eq!(parse_milli("-2m"), Ok(-2));
    }

    #[test]
    fn rejects_garbage_with_a_reason() {
        for bad in ["", "abc", "1.2.3", "5Xi", "1e", "."] {
            assert!(parse_milli(bad).is_err(), "{bad}");
        }
        assert!(
            parse_milli("5Xi")
                .unwrap_err()
                .reason
                .contains("unknown suffix")
        );
        assert!(parse_milli("99999999999999999999Ei").is_err());
    }

    #[test]
    fn formats_back() {
        assert_eq!(format_milli(250), "250m");
        assert_eq!(format_milli(2000), "2");
    }
}
