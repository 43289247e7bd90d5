//! What a run produced: per-deployment figures, SLO verdicts, time series, decisions.

use serde::{Deserialize, Serialize};

/// Version of `outcome.json`; readers reject other versions.
pub const OUTCOME_FORMAT_VERSION: u32 = 1;

/// The SLOs a run is judged against.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Slo {
    /// p95 latency bound, ms.
    pub p95_ms: f64,
    /// Minimum success rate (0..1).
    pub success_rate: f64,
    /// Fraction of windows that must meet both (0..1).
    pub window_attainment: f64,
}

impl Default for Slo {
    fn default() -> Self {
        Slo {
            p95_ms: 1500.0,
            success_rate: 0.99,
            window_attainment: 0.99,
        }
    }
}

/// Failures by cause. Nothing is silently dropped: every request that did not succeed is here.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failures {
    /// The pod's (or the shared) queue was full.
    pub queue_full: u64,
    /// No ready endpoint to route to.
    pub no_endpoint: u64,
    /// Waited or ran past the client timeout.
    pub timeout: u64,
    /// Lost when a terminating pod was killed at the end of its grace period.
    pub killed: u64,
}

impl Failures {
    pub fn total(&self) -> u64 {
        self.queue_full + self.no_endpoint + self.timeout + self.killed
    }
}

/// Latency summary in milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LatencyMs {
    pub mean: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub max: f64,
}

/// The quantiles at which [`DeploymentOutcome::latency_cdf_ms`] is sampled: dense in the
/// tail, where SLOs live.
pub const CDF_QUANTILES: [f64; 27] = [
    0.001, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9,
    0.925, 0.95, 0.96, 0.97, 0.98, 0.99, 0.995, 0.999, 0.9999, 1.0,
];

/// The end-to-end figures of the entry's requests with their fanned-out jobs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EndToEnd {
    /// Requests whose every job succeeded.
    pub completed: u64,
    /// Requests one of whose jobs failed (rejected, or lost with its pod).
    pub failed: u64,
    /// Arrival to the last job's completion, over the completed requests.
    pub latency_ms: LatencyMs,
}

/// Little's law check: L (time-average number in system) against λ·W.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LittlesLaw {
    pub throughput_per_s: f64,
    pub mean_time_in_system_s: f64,
    pub mean_number_in_system: f64,
    pub relative_error: f64,
}

/// One deployment's figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DeploymentOutcome {
    pub name: String,
    /// Requests (or jobs) that arrived.
    pub arrived: u64,
    pub succeeded: u64,
    pub failures: Failures,
    /// Still in the system when the run ended (neither success nor failure).
    pub in_system_at_end: u64,
    pub success_rate: f64,
    pub latency_ms: LatencyMs,
    /// The latency distribution as `(ms, fraction of requests at or below)` points, for the
    /// report's CDF (absent in outcomes written before it existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub latency_cdf_ms: Vec<(f64, f64)>,
    /// A consumer's jobs: the time from enqueueing to the start of their service (absent for
    /// a deployment that consumes no queue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_wait_ms: Option<LatencyMs>,
    pub pod_hours: f64,
    pub cost: f64,
    pub scaling_events: u32,
    pub scale_ups: u32,
    pub scale_downs: u32,
    /// Direction reversals between consecutive scaling events.
    pub oscillations: u32,
    pub max_replicas: u32,
    pub time_at_max_s: f64,
    pub windows: u32,
    pub windows_attained: u32,
    pub window_attainment: f64,
    /// Seconds from each spike's start until the SLO was met again (0: never violated).
    pub recovery_s: Vec<f64>,
    /// The first offered load (req/s) at which a window missed the SLO (stress patterns).
    pub breaking_point_rps: Option<f64>,
    pub littles_law: LittlesLaw,
    /// More than 1 % of requests failed for capacity reasons (queue full, no endpoint, timeout).
    pub saturated: bool,
}

/// PASS/FAIL for each SLO, on the entry deployment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdicts {
    pub p95: bool,
    pub success_rate: bool,
    pub window_attainment: bool,
}

/// One row of the fixed-resolution time series.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesRow {
    pub t_s: f64,
    pub deployment: String,
    pub offered_rps: f64,
    pub desired_replicas: u32,
    pub current_replicas: u32,
    pub ready_replicas: u32,
    pub queue_length: u64,
    pub utilization: f64,
    pub p95_ms: f64,
    pub success_rate: f64,
}

/// One autoscaler decision, with its reason.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecisionRecord {
    pub t_s: f64,
    pub object: String,
    pub controller: String,
    pub current: i32,
    pub desired: i32,
    pub changed: bool,
    pub reason: String,
    /// The metric whose proposal won (an HPA decision on the metric path), as the HPA
    /// labels it (`cpu`, `external/s0-prometheus`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The rate or range limit that bound an HPA decision (`ScaleUpLimit`,
    /// `ScaleDownLimit`, `TooManyReplicas`, `TooFewReplicas`), when one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<String>,
}

impl DecisionRecord {
    /// An HPA reconcile taken at `now_us`, with the metric that won and the limit that bound
    /// it; the simulator and the testbed log theirs through this.
    pub fn of_hpa(
        now_us: i64,
        object: &str,
        current: i32,
        d: &crate::policy::hpa::SyncDecision,
    ) -> DecisionRecord {
        use crate::policy::hpa::LimitReason;
        DecisionRecord {
            metric: d
                .winner()
                .filter(|w| w.result.is_ok())
                .map(|w| w.label.clone()),
            limit: d
                .limit
                .filter(|l| *l != LimitReason::DesiredWithinRange)
                .map(|l| l.as_str().to_string()),
            ..DecisionRecord::at(
                now_us,
                object,
                "hpa",
                current,
                d.desired,
                d.scale_updated,
                d.explain(),
            )
        }
    }

    /// A decision taken at `now_us` (µs on the model clock); the simulator and the testbed
    /// log theirs through this.
    pub fn at(
        now_us: i64,
        object: &str,
        controller: &str,
        current: i32,
        desired: i32,
        changed: bool,
        reason: String,
    ) -> DecisionRecord {
        DecisionRecord {
            t_s: now_us as f64 * 1e-6,
            object: object.to_string(),
            controller: controller.to_string(),
            current,
            desired,
            changed,
            reason,
            metric: None,
            limit: None,
        }
    }
}

/// The whole outcome of a run.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub format_version: u32,
    pub model: String,
    pub seed: u64,
    pub duration_s: f64,
    pub window_s: f64,
    pub slo: Slo,
    pub entry: String,
    pub verdicts: Verdicts,
    pub deployments: Vec<DeploymentOutcome>,
    /// From a request's arrival at the entry to the completion of the last job it fanned out
    /// (directly or through other jobs); absent when the entry fans nothing out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end: Option<EndToEnd>,
    pub total_cost: f64,
    pub total_pod_hours: f64,
    pub events_processed: u64,
    #[serde(skip)]
    pub series: Vec<SeriesRow>,
    #[serde(skip)]
    pub decisions: Vec<DecisionRecord>,
}

impl Outcome {
    /// The figures of one deployment.
    pub fn deployment(&self, name: &str) -> Option<&DeploymentOutcome> {
        self.deployments.iter().find(|d| d.name == name)
    }

    /// A human summary.
    pub fn summary(&self) -> String {
        let pf = |b: bool| if b { "PASS" } else { "FAIL" };
        let mut s = format!(
            "scaletwin simulate: model {}, {:.1} h simulated, seed {}\n",
            self.model,
            self.duration_s / 3600.0,
            self.seed
        );
        for d in &self.deployments {
            s.push_str(&format!(
                "\n{}\n  requests {}  ok {}  failed {} (queue full {}, no endpoint {}, timeout {}, killed {})  success {:.3}%\n",
                d.name,
                d.arrived,
                d.succeeded,
                d.failures.total(),
                d.failures.queue_full,
                d.failures.no_endpoint,
                d.failures.timeout,
                d.failures.killed,
                d.success_rate * 100.0
            ));
            s.push_str(&format!(
                "  latency ms  p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n",
                d.latency_ms.p50, d.latency_ms.p95, d.latency_ms.p99, d.latency_ms.max
            ));
            if let Some(w) = &d.queue_wait_ms {
                s.push_str(&format!(
                    "  queue wait ms  p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n",
                    w.p50, w.p95, w.p99, w.max
                ));
            }
            s.push_str(&format!(
                "  pod-hours {:.2}  cost {:.2}  scaling events {} (up {}, down {}, reversals {})  max replicas {}  time at max {:.0} s\n",
                d.pod_hours, d.cost, d.scaling_events, d.scale_ups, d.scale_downs, d.oscillations, d.max_replicas, d.time_at_max_s
            ));
            s.push_str(&format!(
                "  SLO windows met {}/{} ({:.1}%)",
                d.windows_attained,
                d.windows,
                d.window_attainment * 100.0
            ));
            if !d.recovery_s.is_empty() {
                let worst = d.recovery_s.iter().copied().fold(0.0, f64::max);
                s.push_str(&format!(
                    "  spike recovery worst {worst:.0} s over {} spikes",
                    d.recovery_s.len()
                ));
            }
            if let Some(b) = d.breaking_point_rps {
                s.push_str(&format!("  breaking point {b:.1} req/s"));
            }
            if d.saturated {
                s.push_str("  SATURATED: capacity limits turned load into failures");
            }
            s.push('\n');
        }
        if let Some(e) = &self.end_to_end {
            s.push_str(&format!(
                "\nend to end (request to its last fanned-out job)\n  completed {}  failed {}  latency ms  p50 {:.1}  p95 {:.1}  p99 {:.1}  max {:.1}\n",
                e.completed, e.failed, e.latency_ms.p50, e.latency_ms.p95, e.latency_ms.p99, e.latency_ms.max
            ));
        }
        s.push_str(&format!(
            "\nSLO ({}): p95 <= {} ms: {}   success >= {:.2}%: {}   windows met >= {:.1}%: {}\n",
            self.entry,
            self.slo.p95_ms,
            pf(self.verdicts.p95),
            self.slo.success_rate * 100.0,
            pf(self.verdicts.success_rate),
            self.slo.window_attainment * 100.0,
            pf(self.verdicts.window_attainment)
        ));
        s.push_str(&format!(
            "total pod-hours {:.2}, total cost {:.2}\n",
            self.total_pod_hours, self.total_cost
        ));
        s
    }
}
