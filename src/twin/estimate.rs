//! What a calibration reports: each estimate with its interval, source and fit, what could
//! not be identified and why, and the readings of a bundle several estimators share.

use super::bundle::Bundle;
use super::data::summed_where;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const CALIBRATION_FORMAT_VERSION: u32 = 1;

/// One estimated parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub deployment: String,
    /// The service.yaml field (`work.service_time`, `work.cpu_seconds_per_request`, ...).
    pub parameter: String,
    /// The value written (a number, or a distribution).
    pub value: serde_json::Value,
    /// The headline figure and its interval (e.g. the mean service time, s).
    pub figure: String,
    pub estimate: f64,
    pub interval: Option<(f64, f64)>,
    /// What the interval is (split-half range, 95 % from the standard error, ...).
    pub interval_kind: String,
    /// The bundle queries it came from.
    pub source: Vec<String>,
    /// Goodness of fit: name and value.
    pub fit: String,
    pub fit_value: f64,
    /// Points (steps or pods) used.
    pub n: usize,
    /// For a distribution: its mean and p95 (s), whatever its family.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub summary: BTreeMap<String, f64>,
}

/// A parameter the data could not measure, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NotIdentified {
    pub deployment: String,
    pub parameter: String,
    pub kept: String,
    pub reason: String,
}

/// `calibration.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub format_version: u32,
    pub bundle: String,
    pub base_model: String,
    pub estimates: Vec<Estimate>,
    pub not_identified: Vec<NotIdentified>,
}

impl Calibration {
    /// The page section of a calibration: each estimate with its interval, fit and source,
    /// then what was not identified (or assumed) and why.
    pub fn html(&self) -> String {
        use crate::report::page::esc;
        let mut rows = String::new();
        for e in &self.estimates {
            let interval = e
                .interval
                .map(|(a, b)| format!("{a:.4} .. {b:.4} ({})", e.interval_kind))
                .unwrap_or_else(|| e.interval_kind.clone());
            rows.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}</td><td style=\"text-align:left\">{}: {:.3}</td><td>{}</td><td style=\"text-align:left\"><code>{}</code></td></tr>",
                esc(&e.deployment),
                esc(&e.parameter),
                esc(&e.figure),
                esc(&interval),
                esc(&e.fit),
                e.fit_value,
                e.n,
                esc(&e.source.join("; "))
            ));
        }
        let mut kept = String::new();
        for n in &self.not_identified {
            kept.push_str(&format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td style=\"text-align:left\">{}</td></tr>",
                esc(&n.deployment),
                esc(&n.parameter),
                esc(&n.kept),
                esc(&n.reason)
            ));
        }
        format!(
            "<h2>Calibration</h2>\n<p>The model's parameters as estimated from {} on the structure of {} (calibration.json).</p>\n<table><tr><th>deployment</th><th>parameter</th><th>estimate</th><th>interval</th><th>fit</th><th>points</th><th>source</th></tr>{rows}</table>\n<h3>Not identified or assumed</h3>\n<table><tr><th>deployment</th><th>parameter</th><th>kept</th><th>why</th></tr>{kept}</table>\n",
            esc(&self.bundle),
            esc(&self.base_model)
        )
    }
}

pub fn round(v: f64, digits: i32) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(digits - 1 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Successful answers per second at each step: the `requests` series whose `code` is 2xx
/// (a series without a `code` label counts as successes).
pub fn ok_rate(b: &Bundle, dep: &str, load: &str) -> BTreeMap<i64, f64> {
    summed_where(b, dep, load, |s| {
        s.labels.get("code").is_none_or(|c| c.starts_with('2'))
    })
}

impl Calibration {
    /// The human table.
    pub fn summary(&self) -> String {
        let mut s = String::new();
        for e in &self.estimates {
            s += &format!(
                "{:<18} {:<30} {}{}  [{}: {:.3}, n {}]\n",
                e.deployment,
                e.parameter,
                e.figure,
                e.interval
                    .map(|(a, b)| format!(" ({} {a:.4}..{b:.4})", e.interval_kind))
                    .unwrap_or_default(),
                e.fit,
                e.fit_value,
                e.n
            );
        }
        for n in &self.not_identified {
            s += &format!(
                "{:<18} {:<30} not identified, kept {}: {}\n",
                n.deployment, n.parameter, n.kept, n.reason
            );
        }
        s
    }
}
