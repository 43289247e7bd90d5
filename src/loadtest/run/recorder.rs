//! What a load test records: per-request outcomes into HDR histograms and a per-second
//! series, and the live Prometheus metrics.

use super::*;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct ReqLabels {
    pub(super) test: String,
    pub(super) status: String,
    pub(super) phase: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(super) struct TestLabel {
    pub(super) test: String,
}

/// The live metrics of a run.
pub(super) struct Metrics {
    pub(super) registry: Registry,
    pub(super) requests: Family<ReqLabels, Counter>,
    pub(super) duration: PromHistogram,
    pub(super) active: Gauge,
    pub(super) rps: Gauge<f64, std::sync::atomic::AtomicU64>,
    pub(super) test: String,
}

impl Metrics {
    pub(super) fn new(namespace: &str, test: &str) -> Metrics {
        let mut registry = Registry::with_prefix(namespace);
        let requests = Family::<ReqLabels, Counter>::default();
        registry.register(
            "load_test_requests",
            "Requests sent by the load test, by status (code or error class) and phase",
            requests.clone(),
        );
        let durations = Family::<TestLabel, PromHistogram>::new_with_constructor(|| {
            PromHistogram::new(exponential_buckets(0.001, 2.0, 18))
        });
        registry.register(
            "load_test_request_duration_seconds",
            "Request latency from the intended send time (coordinated-omission corrected)",
            durations.clone(),
        );
        let duration = durations
            .get_or_create(&TestLabel { test: test.into() })
            .clone();
        let active_f = Family::<TestLabel, Gauge>::default();
        registry.register(
            "load_test_active_users",
            "Closed loop: users started and not finished; open loop: requests in flight",
            active_f.clone(),
        );
        let active = active_f
            .get_or_create(&TestLabel { test: test.into() })
            .clone();
        let rps_f = Family::<TestLabel, Gauge<f64, std::sync::atomic::AtomicU64>>::default();
        registry.register(
            "load_test_requests_per_second",
            "Requests completed in the last full second",
            rps_f.clone(),
        );
        let rps = rps_f
            .get_or_create(&TestLabel { test: test.into() })
            .clone();
        Metrics {
            registry,
            requests,
            duration,
            active,
            rps,
            test: test.into(),
        }
    }
}

/// How one request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Ended {
    Ok(u16),
    Status(u16),
    Timeout,
    Connect,
    Body,
    Protocol,
}

/// Everything recorded, behind one lock (uncontended on the single-threaded runtime).
pub(super) struct Recorder {
    pub(super) corrected: Histogram<u64>,
    pub(super) raw: Histogram<u64>,
    pub(super) ok: u64,
    pub(super) completed: u64,
    pub(super) errors: ErrorCounts,
    pub(super) body_bytes: u64,
    pub(super) codes: std::collections::BTreeMap<String, u64>,
    /// Requests sent, by the second they were sent in.
    pub(super) sent_by_sec: Vec<u64>,
    /// The second being filled (by completion time) and its latencies.
    pub(super) cur_sec: u64,
    pub(super) cur: Histogram<u64>,
    pub(super) cur_ok: u64,
    pub(super) cur_err: u64,
    pub(super) rows: Vec<SecondRow>,
    pub(super) counters: HashMap<(String, &'static str), Counter>,
    pub(super) samples: Option<Vec<crate::loadtest::report::Sample>>,
}

/// The `q` quantile of a histogram of microseconds, in ms (0 when empty).
pub(super) fn ms_at(h: &Histogram<u64>, q: f64) -> f64 {
    if h.is_empty() {
        0.0
    } else {
        h.value_at_quantile(q) as f64 / 1000.0
    }
}

pub(super) fn hist(sigfig: u8) -> Histogram<u64> {
    // 1 µs .. 1 hour.
    Histogram::new_with_bounds(1, 3_600_000_000, sigfig).expect("valid histogram bounds")
}

impl Recorder {
    pub(super) fn new() -> Recorder {
        Recorder {
            corrected: hist(3),
            raw: hist(3),
            ok: 0,
            completed: 0,
            errors: ErrorCounts::default(),
            body_bytes: 0,
            codes: Default::default(),
            sent_by_sec: Vec::new(),
            cur_sec: 0,
            cur: hist(2),
            cur_ok: 0,
            cur_err: 0,
            rows: Vec::new(),
            counters: HashMap::new(),
            samples: None,
        }
    }

    pub(super) fn note_sent(&mut self, sec: u64) {
        let i = sec as usize;
        if self.sent_by_sec.len() <= i {
            self.sent_by_sec.resize(i + 1, 0);
        }
        self.sent_by_sec[i] += 1;
    }

    /// Close every second before `sec`.
    pub(super) fn roll(&mut self, sec: u64, active: u64) {
        while self.cur_sec < sec {
            let q = ms_at;
            let s = self.cur_sec as usize;
            self.rows.push(SecondRow {
                t_s: self.cur_sec,
                sent: self.sent_by_sec.get(s).copied().unwrap_or(0),
                completed: self.cur_ok + self.cur_err,
                ok: self.cur_ok,
                errors: self.cur_err,
                p50_ms: q(&self.cur, 0.5),
                p95_ms: q(&self.cur, 0.95),
                p99_ms: q(&self.cur, 0.99),
                active,
            });
            self.cur.reset();
            self.cur_ok = 0;
            self.cur_err = 0;
            self.cur_sec += 1;
        }
    }

    pub(super) fn record(&mut self, m: &Metrics, a: Answer) {
        let Answer {
            ended,
            bytes,
            corrected_us,
            raw_us,
            done_sec,
            phase,
            active,
            intended_s,
            sent_s,
        } = a;
        self.roll(done_sec, active);
        if let Some(v) = self.samples.as_mut() {
            v.push(crate::loadtest::report::Sample {
                intended_s,
                delivered_s: sent_s,
                latency_ms: corrected_us as f64 / 1000.0,
                raw_ms: raw_us as f64 / 1000.0,
                ok: matches!(ended, Ended::Ok(_)),
            });
        }
        self.completed += 1;
        self.body_bytes += bytes;
        let c = corrected_us.max(1);
        let _ = self.corrected.record(c.min(3_600_000_000));
        let _ = self.raw.record(raw_us.clamp(1, 3_600_000_000));
        let _ = self.cur.record(c.min(3_600_000_000));
        let status: String = match ended {
            Ended::Ok(code) => {
                self.ok += 1;
                self.cur_ok += 1;
                code.to_string()
            }
            Ended::Status(code) => {
                self.errors.status += 1;
                self.cur_err += 1;
                code.to_string()
            }
            Ended::Timeout => {
                self.errors.timeout += 1;
                self.cur_err += 1;
                "timeout".into()
            }
            Ended::Connect => {
                self.errors.connect += 1;
                self.cur_err += 1;
                "connect".into()
            }
            Ended::Body => {
                self.errors.body += 1;
                self.cur_err += 1;
                "body".into()
            }
            Ended::Protocol => {
                self.errors.protocol += 1;
                self.cur_err += 1;
                "protocol".into()
            }
        };
        *self.codes.entry(status.clone()).or_default() += 1;
        m.duration.observe(c as f64 / 1e6);
        let key = (status, phase);
        if let Some(cn) = self.counters.get(&key) {
            cn.inc();
        } else {
            let cn = m
                .requests
                .get_or_create(&ReqLabels {
                    test: m.test.clone(),
                    status: key.0.clone(),
                    phase: phase.into(),
                })
                .clone();
            cn.inc();
            self.counters.insert(key, cn);
        }
    }
}
