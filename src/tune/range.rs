//! Axis ranges: `from`, `to` and `step` written as decimals and expanded exactly (no binary
//! rounding: `0.1` to `0.3` by `0.1` is three values).

use super::Range;

/// Parse a decimal into (mantissa, scale): `"2.50"` -> (250, 2).
fn decimal(s: &str) -> Result<(i128, u32), String> {
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(format!("`{s}` is not a decimal number"));
    }
    let digits = format!("{int}{frac}");
    let m: i128 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a decimal number"))?;
    Ok((m, frac.len() as u32))
}

fn format_decimal(m: i128, scale: u32) -> String {
    if scale == 0 {
        return m.to_string();
    }
    let neg = m < 0;
    let a = m.unsigned_abs();
    let p = 10u128.pow(scale);
    let s = format!(
        "{}{}.{:0width$}",
        if neg { "-" } else { "" },
        a / p,
        a % p,
        width = scale as usize
    );
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Range {
    /// The values from `from` to `to` inclusive, in exact decimal steps.
    pub fn expand(&self) -> Result<Vec<String>, String> {
        let (f, fs) = decimal(&self.from)?;
        let (t, ts) = decimal(&self.to)?;
        let (st, ss) = decimal(&self.step)?;
        let scale = fs.max(ts).max(ss);
        let up = |m: i128, s: u32| m * 10i128.pow(scale - s);
        let (f, t, st) = (up(f, fs), up(t, ts), up(st, ss));
        if st <= 0 {
            return Err(format!("step {} must be > 0", self.step));
        }
        if t < f {
            return Err(format!(
                "empty range: to ({}) is below from ({})",
                self.to, self.from
            ));
        }
        let n = (t - f) / st + 1;
        if n > 1_000_000 {
            return Err(format!("{n} values: the range is too fine"));
        }
        Ok((0..n).map(|k| format_decimal(f + k * st, scale)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_exactly() {
        let r = Range {
            from: "0.1".into(),
            to: "0.3".into(),
            step: "0.1".into(),
        };
        assert_eq!(r.expand().unwrap(), vec!["0.1", "0.2", "0.3"]);
        let r = Range {
            from: "60".into(),
            to: "300".into(),
            step: "60".into(),
        };
        assert_eq!(r.expand().unwrap(), vec!["60", "120", "180", "240", "300"]);
        assert!(
            Range {
                from: "1".into(),
                to: "0".into(),
                step: "1".into()
            }
            .expand()
            .unwrap_err()
            .contains("empty range")
        );
        assert!(
            Range {
                from: "0".into(),
                to: "1".into(),
                step: "0".into()
            }
            .expand()
            .unwrap_err()
            .contains("step")
        );
    }
}
