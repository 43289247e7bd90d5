//! What a load test reports: `report.json`, `series.csv` (one row per second), a human
//! summary with the SLO verdicts, and the comparison with a stored baseline run.

use super::{LOADTEST_FORMAT_VERSION, LoadSlo};
use crate::io::write_atomic;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Failed requests by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorCounts {
    /// Could not connect, or the connection failed before an answer.
    pub connect: u64,
    /// No complete answer within the timeout.
    pub timeout: u64,
    /// An answer with a status code that is not a success.
    pub status: u64,
    /// The body could not be read or lacked the expected content.
    pub body: u64,
    /// An answer that is not HTTP/1 (garbage, an HTTP/0.9 reply, a header too large).
    #[serde(default)]
    pub protocol: u64,
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.connect + self.timeout + self.status + self.body + self.protocol
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub mean: f64,
    pub p50: f64,
    pub p90: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// Latency from the intended send time (coordinated omission corrected) and from the
/// actual send (raw). In a closed loop they coincide.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Latency {
    pub corrected: Percentiles,
    pub raw: Percentiles,
}

/// One second of the run (requests by the second they were sent in; answers, errors and
/// percentiles by the second they completed in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SecondRow {
    pub t_s: u64,
    pub sent: u64,
    pub completed: u64,
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub active: u64,
}

/// The SLO bounds and verdicts (`None`: no bound given).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SloResult {
    pub success_rate: Option<f64>,
    pub p95_ms: Option<f64>,
    pub availability_pass: Option<bool>,
    pub p95_pass: Option<bool>,
}

impl SloResult {
    /// Judge a run; with no request completed every bound fails.
    pub fn judge(slo: &LoadSlo, success_rate: f64, p95_ms: f64, completed: u64) -> SloResult {
        SloResult {
            success_rate: slo.success_rate,
            p95_ms: slo.p95_ms,
            availability_pass: slo.success_rate.map(|r| completed > 0 && success_rate >= r),
            p95_pass: slo.p95_ms.map(|p| completed > 0 && p95_ms <= p),
        }
    }

    pub fn passed(&self) -> bool {
        self.availability_pass != Some(false) && self.p95_pass != Some(false)
    }
}

/// The whole report of a run (`report.json`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadReport {
    pub format_version: u32,
    pub scenario: String,
    pub description: String,
    pub target: String,
    pub path: String,
    pub load: String,
    pub started_unix_s: f64,
    pub planned_duration_s: f64,
    pub duration_s: f64,
    pub sent: u64,
    pub completed: u64,
    pub ok: u64,
    pub errors: ErrorCounts,
    /// Answers by status code, and failures by class (`timeout`, `connect`, `body`,
    /// `protocol`).
    pub status_codes: BTreeMap<String, u64>,
    /// Open-loop arrivals due before the end that were never sent because every connection
    /// was busy (counted up to `max_requests`).
    #[serde(default)]
    pub dropped: u64,
    /// Open-loop requests sent more than 10 ms after their intended time because every
    /// connection was busy when they came due, and the largest such delay (ms).
    #[serde(default)]
    pub late: u64,
    #[serde(default)]
    pub max_lag_ms: f64,
    /// Open loop: connections at the start, the most the pool held, and its limit.
    #[serde(default)]
    pub connections_start: u64,
    #[serde(default)]
    pub connections_peak: u64,
    #[serde(default)]
    pub connections_limit: u64,
    /// Model seconds per wall-clock second the load was sent at: latencies are in model
    /// time (x this); durations, throughput and the series' seconds on the wall clock.
    #[serde(default = "one")]
    pub time_scale: f64,
    pub throughput_rps: f64,
    /// Bytes of response bodies received (counted, not kept).
    #[serde(default)]
    pub body_bytes: u64,
    /// `body_bytes` per second of the run.
    #[serde(default)]
    pub throughput_bytes_per_s: f64,
    pub success_rate: f64,
    pub latency_ms: Latency,
    pub slo: SloResult,
    /// `completed`, `max_requests (N) reached`, or `aborted: ...`.
    pub stopped: String,
    /// The run stopped early; its figures cover what was done.
    pub partial: bool,
    pub series: Vec<SecondRow>,
    /// Every request's intended send time and latency, when the run was asked to keep them
    /// (not written to `report.json`).
    #[serde(skip)]
    pub samples: Vec<Sample>,
}

fn one() -> f64 {
    1.0
}

/// One request as sent and answered, on the wall clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Intended send time, seconds from the start of the run.
    pub intended_s: f64,
    /// Actual send time (when the request was delivered to a connection), seconds from the
    /// start of the run.
    pub delivered_s: f64,
    /// Latency from the intended send time (coordinated-omission corrected), ms.
    pub latency_ms: f64,
    /// Latency from the actual send, ms.
    pub raw_ms: f64,
    /// Answered with an accepted status (and body).
    pub ok: bool,
}

fn pf(v: Option<bool>) -> &'static str {
    match v {
        Some(true) => "PASS",
        Some(false) => "FAIL",
        None => "n/a (no bound)",
    }
}

impl LoadReport {
    /// The human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "scaletwin loadtest: {} -> {}{}\n{}\n",
            self.scenario, self.target, self.path, self.load
        );
        if self.partial {
            s.push_str(&format!("PARTIAL: {}\n", self.stopped));
        }
        s.push_str(&format!(
            "duration {:.1} s (planned {:.0} s), stopped: {}\n",
            self.duration_s, self.planned_duration_s, self.stopped
        ));
        s.push_str(&format!(
            "requests {}  completed {}  ok {}  failed {} (connect {}, timeout {}, status {}, body {}, protocol {})\n",
            self.sent,
            self.completed,
            self.ok,
            self.errors.total(),
            self.errors.connect,
            self.errors.timeout,
            self.errors.status,
            self.errors.body,
            self.errors.protocol
        ));
        if (self.time_scale - 1.0).abs() > 1e-12 {
            s.push_str(&format!(
                "time scale {}: latencies in model time (x {}); duration, throughput and the series' seconds on the wall clock\n",
                self.time_scale, self.time_scale
            ));
        }
        if self.connections_peak > 0 {
            s.push_str(&format!(
                "connections: {} at the start, {} at most (limit {})\n",
                self.connections_start, self.connections_peak, self.connections_limit
            ));
        }
        if self.late > 0 {
            s.push_str(&format!(
                "late {}: sent more than 10 ms after their intended time, every connection busy (at most {:.0} ms late){}\n",
                self.late,
                self.max_lag_ms,
                if self.connections_peak >= self.connections_limit {
                    "; the pool reached its limit: raise limits.max_connections (--max-connections) or lower the rate"
                } else {
                    ""
                }
            ));
        }
        if self.dropped > 0 {
            s.push_str(&format!(
                "dropped {}: due before the end but never sent, every connection busy (raise limits.max_connections, or lower the rate)\n",
                self.dropped
            ));
        }
        s.push_str(&format!(
            "throughput {:.1} req/s  {:.3} MB/s of bodies  success {:.3}%\n",
            self.throughput_rps,
            self.throughput_bytes_per_s / 1e6,
            self.success_rate * 100.0
        ));
        for (name, p) in [
            (
                "latency ms (from intended send)",
                &self.latency_ms.corrected,
            ),
            ("latency ms (raw, from actual send)", &self.latency_ms.raw),
        ] {
            s.push_str(&format!(
                "{name}: p50 {:.2}  p90 {:.2}  p95 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}\n",
                p.p50, p.p90, p.p95, p.p99, p.max, p.mean
            ));
        }
        if !self.status_codes.is_empty() {
            let codes: Vec<String> = self
                .status_codes
                .iter()
                .map(|(k, v)| format!("{k}: {v}"))
                .collect();
            s.push_str(&format!("status: {}\n", codes.join(", ")));
        }
        s.push_str(&format!(
            "SLO Availability: {}{}\n",
            pf(self.slo.availability_pass),
            self.slo
                .success_rate
                .map(|r| format!(
                    " (success {:.3}% vs >= {:.3}%)",
                    self.success_rate * 100.0,
                    r * 100.0
                ))
                .unwrap_or_default()
        ));
        s.push_str(&format!(
            "SLO P95 Latency: {}{}\n",
            pf(self.slo.p95_pass),
            self.slo
                .p95_ms
                .map(|p| format!(
                    " (p95 {:.1} ms vs <= {p} ms)",
                    self.latency_ms.corrected.p95
                ))
                .unwrap_or_default()
        ));
        s
    }

    /// The per-second series as CSV.
    pub fn series_csv(&self) -> String {
        let mut s = String::from("t_s,sent,completed,ok,errors,p50_ms,p95_ms,p99_ms,active\n");
        for r in &self.series {
            s.push_str(&format!(
                "{},{},{},{},{},{:.3},{:.3},{:.3},{}\n",
                r.t_s, r.sent, r.completed, r.ok, r.errors, r.p50_ms, r.p95_ms, r.p99_ms, r.active
            ));
        }
        s
    }

    /// Write `report.json`, `series.csv` and `summary.txt` into `dir` (atomically).
    pub fn write(&self, dir: &Path) -> std::io::Result<Vec<PathBuf>> {
        let mut out = Vec::new();
        for (name, text) in [
            (
                "report.json",
                serde_json::to_string_pretty(self).map_err(std::io::Error::other)? + "\n",
            ),
            ("series.csv", self.series_csv()),
            ("summary.txt", self.summary()),
        ] {
            let p = dir.join(name);
            write_atomic(&p, text.as_bytes())?;
            out.push(p);
        }
        Ok(out)
    }

    /// Read a stored `report.json` (for `--baseline`).
    pub fn read(path: &Path) -> Result<LoadReport, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| format!("{}: not JSON: {e}", path.display()))?;
        match v.get("format_version").and_then(|f| f.as_u64()) {
            Some(n) if n == LOADTEST_FORMAT_VERSION as u64 => {}
            Some(n) => {
                return Err(format!(
                    "{}: format_version {n}; this build reads {LOADTEST_FORMAT_VERSION}",
                    path.display()
                ));
            }
            None => {
                return Err(format!(
                    "{}: no format_version: not a scaletwin loadtest report",
                    path.display()
                ));
            }
        }
        serde_json::from_value(v).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// How much worse than the baseline a run may be before it counts as a regression.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Tolerances {
    /// Relative throughput drop (0.1: 10 % lower).
    pub throughput: f64,
    /// Absolute success-rate drop (0.005: half a percentage point).
    pub success_rate: f64,
    /// Relative latency rise (0.2: 20 % higher).
    pub latency: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            throughput: 0.10,
            success_rate: 0.005,
            latency: 0.20,
        }
    }
}

/// One figure compared with the baseline.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub metric: String,
    pub baseline: f64,
    pub current: f64,
    /// Relative change (absolute for the success rate), signed.
    pub change: f64,
    pub tolerance: f64,
    pub regressed: bool,
}

/// Compare a run with a stored baseline: throughput, success rate, p50/p95/p99.
pub fn compare(cur: &LoadReport, base: &LoadReport, tol: &Tolerances) -> Vec<Check> {
    let rel = |c: f64, b: f64| if b > 0.0 { (c - b) / b } else { 0.0 };
    let mut out = vec![
        Check {
            metric: "throughput_rps".into(),
            baseline: base.throughput_rps,
            current: cur.throughput_rps,
            change: rel(cur.throughput_rps, base.throughput_rps),
            tolerance: tol.throughput,
            regressed: rel(cur.throughput_rps, base.throughput_rps) < -tol.throughput,
        },
        Check {
            metric: "success_rate".into(),
            baseline: base.success_rate,
            current: cur.success_rate,
            change: cur.success_rate - base.success_rate,
            tolerance: tol.success_rate,
            regressed: cur.success_rate - base.success_rate < -tol.success_rate,
        },
    ];
    for (name, c, b) in [
        (
            "p50_ms",
            cur.latency_ms.corrected.p50,
            base.latency_ms.corrected.p50,
        ),
        (
            "p95_ms",
            cur.latency_ms.corrected.p95,
            base.latency_ms.corrected.p95,
        ),
        (
            "p99_ms",
            cur.latency_ms.corrected.p99,
            base.latency_ms.corrected.p99,
        ),
    ] {
        out.push(Check {
            metric: name.into(),
            baseline: b,
            current: c,
            change: rel(c, b),
            tolerance: tol.latency,
            regressed: rel(c, b) > tol.latency,
        });
    }
    out
}

/// The comparison as text.
pub fn comparison_text(checks: &[Check]) -> String {
    let mut s = String::from("against the baseline:\n");
    for c in checks {
        let change = if c.metric == "success_rate" {
            format!("{:+.3} pp", c.change * 100.0)
        } else {
            format!("{:+.1}%", c.change * 100.0)
        };
        let tol = if c.metric == "success_rate" {
            format!("{:.3} pp", c.tolerance * 100.0)
        } else {
            format!("{:.0}%", c.tolerance * 100.0)
        };
        s.push_str(&format!(
            "  {:<15} {:>12.3} -> {:>12.3}  {change:>10}  (tolerance {tol})  {}\n",
            c.metric,
            c.baseline,
            c.current,
            if c.regressed { "REGRESSED" } else { "ok" }
        ));
    }
    let bad: Vec<&str> = checks
        .iter()
        .filter(|c| c.regressed)
        .map(|c| c.metric.as_str())
        .collect();
    if bad.is_empty() {
        s.push_str("no regression\n");
    } else {
        s.push_str(&format!("REGRESSION: {}\n", bad.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(rps: f64, ok: f64, p95: f64) -> LoadReport {
        LoadReport {
            format_version: LOADTEST_FORMAT_VERSION,
            throughput_rps: rps,
            success_rate: ok,
            latency_ms: Latency {
                corrected: Percentiles {
                    p50: p95 / 2.0,
                    p95,
                    p99: p95 * 1.5,
                    ..Default::default()
                },
                raw: Percentiles::default(),
            },
            ..Default::default()
        }
    }

    #[test]
    fn regressions_are_named_within_tolerances() {
        let base = report(100.0, 0.999, 100.0);
        let same = compare(&report(95.0, 0.996, 115.0), &base, &Tolerances::default());
        assert!(same.iter().all(|c| !c.regressed), "{same:?}");
        let slow = compare(&report(100.0, 0.999, 130.0), &base, &Tolerances::default());
        let bad: Vec<_> = slow
            .iter()
            .filter(|c| c.regressed)
            .map(|c| &c.metric)
            .collect();
        assert_eq!(bad, ["p50_ms", "p95_ms", "p99_ms"]);
        let t = comparison_text(&slow);
        assert!(t.contains("REGRESSION: p50_ms, p95_ms, p99_ms"), "{t}");
        let fewer = compare(&report(80.0, 0.98, 100.0), &base, &Tolerances::default());
        assert!(fewer[0].regressed && fewer[1].regressed);
    }

    #[test]
    fn verdicts_need_answers() {
        let slo = LoadSlo {
            success_rate: Some(0.99),
            p95_ms: Some(1500.0),
        };
        let r = SloResult::judge(&slo, 1.0, 10.0, 0);
        assert_eq!(r.availability_pass, Some(false));
        assert!(!r.passed());
        let r = SloResult::judge(&slo, 0.995, 1200.0, 100);
        assert!(r.passed());
        let r = SloResult::judge(&LoadSlo::default(), 0.0, 1e9, 10);
        assert!(r.passed() && r.p95_pass.is_none());
    }
}
