//! Running a load test: connections over hyper's HTTP/1 client on a single-threaded tokio
//! runtime, open-loop arrivals sent at their intended times (latency measured from the
//! intended time, so a stalled server cannot hide its queue: coordinated omission corrected,
//! and raw from the actual send), closed-loop users with think time, HDR histograms (memory
//! independent of the request count), a per-second series, live Prometheus metrics, and the
//! safety limits (duration, total requests, rate cap, error-rate abort, per-request timeout).

mod arrivals;
mod conn;
mod recorder;

use arrivals::*;
pub use arrivals::{arrival_times, compressed};
use conn::*;
use recorder::*;

use super::report::{ErrorCounts, LoadReport, Percentiles, SecondRow, SloResult};
use super::{Arrivals, LOADTEST_FORMAT_VERSION, Scenario, Target};
use crate::engine::rng::{KeyedRng, Stream};
use crate::engine::workload::{RateSchedule, segment_arrivals};
use crate::engine::{Pattern, Workload};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram as PromHistogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::time::Instant;

/// A test that could not start, with what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The scenario, a flag or a file it names is wrong: the command line exits 2.
    #[error("{0}")]
    Input(String),
    /// The target could not be reached (refused, timed out, TLS handshake failed) or the
    /// run could not be set up on this machine: the command line exits 3.
    #[error("{0}")]
    Unreachable(String),
}

impl LoadError {
    /// The exit code the command line ends with: 2 bad input, 3 a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            LoadError::Input(_) => 2,
            LoadError::Unreachable(_) => 3,
        }
    }
}

/// How to run beyond the scenario.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Serve `/metrics` here during the run (`None`: no endpoint).
    pub metrics_listen: Option<SocketAddr>,
    /// A line per second on stderr.
    pub progress: bool,
    /// Called once the metrics endpoint is bound, with its address.
    pub on_metrics: Option<fn(SocketAddr)>,
    /// Keep every request's intended send time and latency in [`LoadReport::samples`] (what
    /// `validate` replays in the simulator; memory then grows with the request count).
    pub record_samples: bool,
    /// Stop cleanly on Ctrl-C (SIGINT) and report what was done, marked partial.
    pub stop_on_ctrl_c: bool,
    /// The scenario was compressed by this time scale (model seconds per wall-clock second):
    /// the report's latencies are given in model time, and the SLO judged on them. `None`: 1.
    pub time_scale: Option<f64>,
}

/// An open-loop send later than this after its intended time is counted late: every
/// connection was busy when it came due.
const LATE_AFTER: Duration = Duration::from_millis(10);

/// One finished request, as recorded.
struct Answer {
    ended: Ended,
    /// Bytes of the response body.
    bytes: u64,
    /// From the intended send time, µs.
    corrected_us: u64,
    /// From the actual send, µs.
    raw_us: u64,
    /// The second (since the start) it completed in.
    done_sec: u64,
    phase: &'static str,
    active: u64,
    /// Intended send time, seconds from the start.
    intended_s: f64,
    /// Actual send time, seconds from the start.
    sent_s: f64,
}

/// The request every send is built from.
struct Template {
    method: hyper::Method,
    uri: hyper::Uri,
    headers: HeaderMap,
    body: Option<String>,
    templated: bool,
    expect_status: Vec<u16>,
    expect_body: Option<String>,
    timeout: Duration,
}

impl Template {
    fn request(&self, seq: u64, user: u64, t_s: f64, id: u64) -> hyper::Request<Full<Bytes>> {
        let body = match &self.body {
            None => Bytes::new(),
            Some(b) if !self.templated => Bytes::from(b.clone()),
            Some(b) => Bytes::from(
                b.replace("{seq}", &seq.to_string())
                    .replace("{id}", &format!("{id:016x}"))
                    .replace("{user}", &user.to_string())
                    .replace("{t_ms}", &format!("{:.0}", t_s * 1000.0)),
            ),
        };
        let mut req = hyper::Request::new(Full::new(body));
        *req.method_mut() = self.method.clone();
        *req.uri_mut() = self.uri.clone();
        *req.headers_mut() = self.headers.clone();
        req
    }

    /// The verdict on an answer: its status, and whether its body held the expected text
    /// (true when none is expected).
    fn judge(&self, status: u16, body_found: bool) -> Ended {
        let ok_status = if self.expect_status.is_empty() {
            (200..300).contains(&status)
        } else {
            self.expect_status.contains(&status)
        };
        if !ok_status {
            return Ended::Status(status);
        }
        if !body_found {
            return Ended::Body;
        }
        Ended::Ok(status)
    }
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

struct Shared {
    rec: Mutex<Recorder>,
    metrics: Metrics,
    start: Instant,
    end: Instant,
    stop: AtomicBool,
    active: AtomicU64,
    sent: AtomicU64,
    /// Open-loop arrivals due before the end that were never sent (every connection busy).
    dropped: AtomicU64,
    /// Open-loop sends later than `LATE_AFTER` after their intended time, and the largest
    /// delay (µs).
    late: AtomicU64,
    max_lag_us: AtomicU64,
    /// Open-loop connections in the pool, and the most it held.
    pool: AtomicU64,
    pool_peak: AtomicU64,
    reason: Mutex<Option<String>>,
    spikes: Vec<(f64, f64)>,
    ramp_up_s: f64,
}

impl Shared {
    fn phase(&self, t: f64) -> &'static str {
        if t < self.ramp_up_s {
            "ramp_up"
        } else if self.spikes.iter().any(|(a, b)| t >= *a && t < *b) {
            "spike"
        } else {
            "steady"
        }
    }

    fn stop_with(&self, why: String) {
        let mut r = self.reason.lock().unwrap_or_else(|e| e.into_inner());
        if r.is_none() {
            *r = Some(why);
        }
        self.stop.store(true, Ordering::SeqCst);
    }

    fn since(&self, at: Instant) -> f64 {
        at.saturating_duration_since(self.start).as_secs_f64()
    }

    fn finish(&self, (ended, bytes): (Ended, u64), intended: f64, sent_at: Instant) {
        let now = Instant::now();
        let done = self.since(now);
        let corrected = ((done - intended).max(0.0) * 1e6) as u64;
        let raw = now.saturating_duration_since(sent_at).as_micros() as u64;
        let mut rec = self.rec.lock().unwrap_or_else(|e| e.into_inner());
        rec.record(
            &self.metrics,
            Answer {
                ended,
                bytes,
                corrected_us: corrected,
                raw_us: raw,
                done_sec: done as u64,
                phase: self.phase(intended),
                active: self.active.load(Ordering::Relaxed),
                intended_s: intended,
                sent_s: self.since(sent_at),
            },
        );
    }
}

/// The open loop's connection limit on this machine: `max_connections`, kept 64 file
/// descriptors below the process's open-file limit (where the system says it) so that a
/// growing pool is not mistaken for a service refusing connections.
fn connection_limit(max_connections: u32) -> u32 {
    let soft = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|t| open_files_limit(&t));
    match soft {
        Some(n) => max_connections.min(n.saturating_sub(64).max(1) as u32),
        None => max_connections,
    }
}

/// The soft "Max open files" figure of a `/proc/<pid>/limits` text (`None`: unlimited or
/// absent).
fn open_files_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..]
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn id_of(seed: u64, seq: u64) -> u64 {
    KeyedRng::new(seed, Stream::Routing, seq).next_u64()
}

/// What every open-loop connection shares.
#[derive(Clone)]
struct Pool {
    cursor: Arc<Mutex<Cursor>>,
    dialer: Arc<Dialer>,
    seed: u64,
    /// Asks the run for one more connection (an arrival came due with every one busy).
    grow: tokio::sync::mpsc::UnboundedSender<()>,
}

/// One open-loop connection: takes the next arrival, waits for its time, sends.
async fn open_worker(sh: Arc<Shared>, t: Arc<Template>, pool: Pool) {
    let Pool {
        cursor,
        dialer,
        seed,
        grow,
    } = pool;
    let mut conn = Conn::new(dialer);
    loop {
        if sh.stop.load(Ordering::Relaxed) {
            return;
        }
        let Some((seq, at)) = cursor.lock().unwrap_or_else(|e| e.into_inner()).next() else {
            return;
        };
        // Past the planned end, an arrival still waiting for a free connection is dropped,
        // not sent: the run ends on time whatever the rate (k6's dropped iterations).
        if Instant::now() >= sh.end {
            sh.dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        let due = sh.start + Duration::from_secs_f64(at);
        let now = Instant::now();
        if now < due {
            tokio::time::sleep_until(due).await;
        } else if now > due + LATE_AFTER {
            // No connection was free when this arrival came due: count it, and ask for one
            // more connection so that the rate is kept (up to the limit).
            sh.late.fetch_add(1, Ordering::Relaxed);
            sh.max_lag_us
                .fetch_max((now - due).as_micros() as u64, Ordering::Relaxed);
            let _ = grow.send(());
        }
        if sh.stop.load(Ordering::Relaxed) {
            return;
        }
        let sent_at = Instant::now();
        sh.sent.fetch_add(1, Ordering::Relaxed);
        sh.rec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .note_sent(sh.since(sent_at) as u64);
        sh.active.fetch_add(1, Ordering::Relaxed);
        sh.metrics.active.inc();
        let ended = conn.send(&t, t.request(seq, 0, at, id_of(seed, seq))).await;
        sh.active.fetch_sub(1, Ordering::Relaxed);
        sh.metrics.active.dec();
        sh.finish(ended, at, sent_at);
    }
}

/// What every closed-loop user shares.
#[derive(Clone)]
struct Users {
    dialer: Arc<Dialer>,
    seed: u64,
    think_s: f64,
    max_requests: u64,
}

/// Closed-loop user `u`: starts at `start_s` (its ramp-up slot), sends, waits, thinks, again.
async fn user(sh: Arc<Shared>, t: Arc<Template>, users: Users, u: u64, start_s: f64) {
    let Users {
        dialer,
        seed,
        think_s,
        max_requests,
    } = users;
    tokio::time::sleep_until(sh.start + Duration::from_secs_f64(start_s)).await;
    if sh.stop.load(Ordering::Relaxed) || Instant::now() >= sh.end {
        return;
    }
    let mut rng = KeyedRng::new(seed, Stream::Think, u);
    let mut conn = Conn::new(dialer);
    sh.active.fetch_add(1, Ordering::Relaxed);
    sh.metrics.active.inc();
    loop {
        if sh.stop.load(Ordering::Relaxed) || Instant::now() >= sh.end {
            break;
        }
        let seq = sh.sent.fetch_add(1, Ordering::Relaxed);
        if seq >= max_requests {
            sh.stop_with(format!("max_requests ({max_requests}) reached"));
            break;
        }
        let sent_at = Instant::now();
        let at = sh.since(sent_at);
        sh.rec
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .note_sent(at as u64);
        let ended = conn.send(&t, t.request(seq, u, at, id_of(seed, seq))).await;
        sh.finish(ended, at, sent_at);
        if think_s > 0.0 {
            let pause = Duration::from_secs_f64(rng.exp(think_s));
            let wake = (Instant::now() + pause).min(sh.end);
            tokio::time::sleep_until(wake).await;
        }
    }
    sh.active.fetch_sub(1, Ordering::Relaxed);
    sh.metrics.active.dec();
}

async fn serve_metrics(listener: tokio::net::TcpListener, sh: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let sh = sh.clone();
        tokio::spawn(async move {
            let svc =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let sh = sh.clone();
                    async move {
                        let mut body = String::new();
                        let code = if req.uri().path() == "/metrics" {
                            let _ = prometheus_client::encoding::text::encode(
                                &mut body,
                                &sh.metrics.registry,
                            );
                            200
                        } else {
                            body.push_str("not found: the metrics are at /metrics\n");
                            404
                        };
                        let mut resp = hyper::Response::new(Full::new(Bytes::from(body)));
                        *resp.status_mut() =
                            hyper::StatusCode::from_u16(code).unwrap_or(hyper::StatusCode::OK);
                        resp.headers_mut().insert(
                            hyper::header::CONTENT_TYPE,
                            HeaderValue::from_static(
                                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                            ),
                        );
                        Ok::<_, std::convert::Infallible>(resp)
                    }
                });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

/// A short description of the load model for reports.
pub fn describe(w: &Workload) -> String {
    match w {
        Workload::Closed { users } => format!(
            "closed loop: {} users, think time {} s (exponential), ramp-up {} s",
            users.users, users.think_s, users.ramp_up_s
        ),
        Workload::Open { schedule } => format!(
            "open loop: {}",
            serde_json::to_string(schedule).unwrap_or_default()
        ),
        Workload::Replay { times_s, .. } => {
            format!(
                "open loop: replay of {} recorded request times",
                times_s.len()
            )
        }
    }
}

fn template(s: &Scenario, target: &Target) -> Result<Template, LoadError> {
    let bad = |m: String| LoadError::Input(format!("{}: {m}", s.source.display()));
    let uri: hyper::Uri = target
        .path_and_query(&s.path)
        .parse()
        .map_err(|e| bad(format!("path: {e}")))?;
    let mut headers = HeaderMap::new();
    headers.insert(
        hyper::header::HOST,
        HeaderValue::from_str(&target.host).map_err(|e| bad(format!("target host: {e}")))?,
    );
    headers.insert(
        hyper::header::USER_AGENT,
        HeaderValue::from_static(concat!("scaletwin-loadtest/", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(u) = &target.userinfo {
        use base64::Engine;
        let token = base64::engine::general_purpose::STANDARD.encode(u);
        headers.insert(
            hyper::header::AUTHORIZATION,
            HeaderValue::from_str(&format!("Basic {token}"))
                .map_err(|e| bad(format!("target user: {e}")))?,
        );
    }
    for (k, v) in &s.headers {
        headers.insert(
            HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(format!("headers.{k}: {e}")))?,
            HeaderValue::from_str(v).map_err(|e| bad(format!("headers.{k}: {e}")))?,
        );
    }
    Ok(Template {
        method: hyper::Method::from_bytes(s.method.as_bytes())
            .map_err(|e| bad(format!("method: {e}")))?,
        uri,
        headers,
        templated: s.body.as_deref().is_some_and(|b| {
            ["{seq}", "{id}", "{user}", "{t_ms}"]
                .iter()
                .any(|p| b.contains(p))
        }),
        body: s.body.clone(),
        expect_status: s.expect.status.clone(),
        expect_body: s.expect.body_contains.clone(),
        timeout: Duration::from_secs_f64(s.limits.timeout_s),
    })
}

/// Run a scenario to its end (or a limit) and report. Errors before any load is sent
/// (unreachable target, metrics port taken, unreadable trace) are [`LoadError`]s.
pub fn run(s: &Scenario, opts: &RunOptions) -> Result<LoadReport, LoadError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| LoadError::Unreachable(format!("starting the runtime: {e}")))?;
    rt.block_on(run_async(s, opts))
}

async fn run_async(s: &Scenario, opts: &RunOptions) -> Result<LoadReport, LoadError> {
    let target = s.target().map_err(|e| LoadError::Input(e.to_string()))?;
    let workload = s.workload().map_err(|e| LoadError::Input(e.to_string()))?;
    let tpl = Arc::new(template(s, &target)?);
    let dialer = Arc::new(Dialer::new(s, &target)?);
    // Before any load: is anyone there (and, for https, is it who it says)? Opening a
    // connection sends no request.
    match tokio::time::timeout(Duration::from_secs(5), dialer.open()).await {
        Ok(Ok(_)) => {}
        Ok(Err(DialError::Connect(e))) => {
            return Err(LoadError::Unreachable(format!(
                "cannot connect to {} ({}): {e}; no load was sent. Is the service running and the target URL right?",
                target.addr, target.shown
            )));
        }
        Ok(Err(DialError::Tls(e))) => {
            return Err(LoadError::Unreachable(format!(
                "TLS handshake with {} (as {}) failed: {e}; no load was sent. If the server's certificate comes from a private CA (or is self-signed), pass --ca-cert FILE (PEM)",
                target.addr, target.server_name
            )));
        }
        Err(_) => {
            return Err(LoadError::Unreachable(format!(
                "connecting to {} timed out after 5 s; no load was sent",
                target.addr
            )));
        }
    }
    let listener = match opts.metrics_listen {
        Some(a) => Some(tokio::net::TcpListener::bind(a).await.map_err(|e| {
            LoadError::Unreachable(format!(
                "cannot serve metrics on {a}: {e}; choose another address with --metrics-listen (or `off`)"
            ))
        })?),
        None => None,
    };
    let (ramp_up_s, spikes) = match &workload {
        Workload::Closed { users } => (users.ramp_up_s, vec![]),
        Workload::Open { schedule } => {
            let d = match &schedule.pattern {
                Pattern::Spike { duration_s, .. } => *duration_s,
                _ => schedule
                    .spikes
                    .as_ref()
                    .map(|sp| sp.duration_s)
                    .unwrap_or(0.0),
            };
            (
                0.0,
                schedule
                    .spike_starts(s.duration_s)
                    .into_iter()
                    .map(|a| (a, a + d))
                    .collect(),
            )
        }
        Workload::Replay { .. } => (0.0, vec![]),
    };
    let started_unix = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0);
    let start = Instant::now() + Duration::from_millis(20);
    let started_unix = started_unix + 0.02;
    let mut recorder = Recorder::new();
    if opts.record_samples {
        recorder.samples = Some(Vec::new());
    }
    let sh = Arc::new(Shared {
        rec: Mutex::new(recorder),
        metrics: Metrics::new(&s.namespace, &s.name),
        start,
        end: start + Duration::from_secs_f64(s.duration_s),
        stop: AtomicBool::new(false),
        active: AtomicU64::new(0),
        sent: AtomicU64::new(0),
        dropped: AtomicU64::new(0),
        late: AtomicU64::new(0),
        max_lag_us: AtomicU64::new(0),
        pool: AtomicU64::new(0),
        pool_peak: AtomicU64::new(0),
        reason: Mutex::new(None),
        spikes,
        ramp_up_s,
    });
    if let Some(l) = listener {
        if let (Some(f), Ok(a)) = (opts.on_metrics, l.local_addr()) {
            f(a);
        }
        tokio::spawn(serve_metrics(l, sh.clone()));
    }
    let mut tasks = tokio::task::JoinSet::new();
    let mut open_cursor: Option<Arc<Mutex<Cursor>>> = None;
    let open_loop = !matches!(workload, Workload::Closed { .. });
    let (grow_tx, mut grow_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut pool: Option<Pool> = None;
    let connections_limit = connection_limit(s.limits.max_connections);
    match &workload {
        Workload::Closed { users } => {
            let n = users.users as u64;
            let shared = Users {
                dialer: dialer.clone(),
                seed: s.seed,
                think_s: users.think_s,
                max_requests: s.limits.max_requests,
            };
            for u in 0..n {
                let start_s = users.ramp_up_s * u as f64 / n as f64;
                tasks.spawn(user(sh.clone(), tpl.clone(), shared.clone(), u, start_s));
            }
        }
        open => {
            let Some(source) = Source::for_workload(open, s) else {
                unreachable!("closed loops are handled above")
            };
            let cursor = Arc::new(Mutex::new(Cursor::new(
                source,
                s.limits.max_rps.map(|r| 1.0 / r).unwrap_or(0.0),
                s.duration_s,
                s.limits.max_requests,
            )));
            open_cursor = Some(cursor.clone());
            let p = Pool {
                cursor,
                dialer: dialer.clone(),
                seed: s.seed,
                grow: grow_tx.clone(),
            };
            let first = s.limits.connections.min(connections_limit);
            for _ in 0..first {
                tasks.spawn(open_worker(sh.clone(), tpl.clone(), p.clone()));
            }
            sh.pool.store(first as u64, Ordering::Relaxed);
            sh.pool_peak.store(first as u64, Ordering::Relaxed);
            pool = Some(p);
        }
    }
    // Once a second: close the second, publish the rate, watch the error rate, report.
    let ticker = {
        let sh = sh.clone();
        let abort = s.limits.abort_on_error_rate;
        let progress = opts.progress;
        let total = s.duration_s;
        tokio::spawn(async move {
            let mut k = 1u64;
            loop {
                tokio::time::sleep_until(sh.start + Duration::from_secs(k)).await;
                let active = sh.active.load(Ordering::Relaxed);
                let mut rec = sh.rec.lock().unwrap_or_else(|e| e.into_inner());
                rec.roll(k, active);
                if let Some(last) = rec.rows.last() {
                    sh.metrics.rps.set(last.completed as f64);
                }
                let recent = &rec.rows[rec.rows.len().saturating_sub(10)..];
                let window = recent.len().max(1);
                let (done, bad) = recent
                    .iter()
                    .fold((0, 0), |(d, b), r| (d + r.completed, b + r.errors));
                if progress && let Some(r) = rec.rows.last() {
                    eprintln!(
                        "{:>5} s / {:.0} s  sent {:>6}  ok {:>6}  errors {:>5}  p95 {:>8.1} ms  active {}",
                        r.t_s + 1,
                        total,
                        r.sent,
                        r.ok,
                        r.errors,
                        r.p95_ms,
                        active
                    );
                }
                drop(rec);
                if let Some(limit) = abort
                    && done >= 20
                    && bad as f64 / done as f64 > limit
                {
                    sh.stop_with(format!(
                        "aborted: error rate {:.1}% over the last {} s exceeds abort_on_error_rate {:.1}%",
                        bad as f64 / done as f64 * 100.0,
                        window,
                        limit * 100.0
                    ));
                    return;
                }
                if sh.stop.load(Ordering::Relaxed) {
                    return;
                }
                k += 1;
            }
        })
    };
    if opts.stop_on_ctrl_c {
        let sh = sh.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                sh.stop_with("interrupted (Ctrl-C)".into());
            }
        });
    }
    // Every task ends by itself: arrivals stop at the duration, users at the end, and each
    // request within its timeout. Meanwhile the open loop's pool grows on demand.
    drop(grow_tx);
    loop {
        tokio::select! {
            Some(()) = grow_rx.recv() => {
                let n = sh.pool.load(Ordering::Relaxed);
                if let Some(p) = &pool
                    && n < connections_limit as u64
                    && Instant::now() < sh.end
                {
                    sh.pool.store(n + 1, Ordering::Relaxed);
                    sh.pool_peak.fetch_max(n + 1, Ordering::Relaxed);
                    tasks.spawn(open_worker(sh.clone(), tpl.clone(), p.clone()));
                }
            }
            done = tasks.join_next() => if done.is_none() { break },
        }
    }
    drop(pool);
    let finished = Instant::now();
    // The arrivals left when the connections stopped were due and never sent (counted up to
    // max_requests, so a wild rate costs bounded time here).
    if let Some(c) = open_cursor
        && !sh.stop.load(Ordering::Relaxed)
    {
        let mut c = c.lock().unwrap_or_else(|e| e.into_inner());
        while c.next().is_some() {
            sh.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }
    ticker.abort();
    let sent = sh.sent.load(Ordering::Relaxed).min(s.limits.max_requests);
    let elapsed = sh.since(finished).max(1e-9);
    let reason = sh.reason.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut rec = sh.rec.lock().unwrap_or_else(|e| e.into_inner());
    let last = elapsed.ceil() as u64;
    rec.roll(last, 0);
    // Latencies in model time when the load was compressed.
    let k = opts.time_scale.unwrap_or(1.0);
    let pct = |h: &Histogram<u64>| {
        if h.is_empty() {
            return Percentiles::default();
        }
        let q = |p: f64| ms_at(h, p) * k;
        Percentiles {
            mean: h.mean() / 1000.0 * k,
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            max: h.max() as f64 / 1000.0 * k,
        }
    };
    let completed = rec.completed;
    let success_rate = if completed == 0 {
        0.0
    } else {
        rec.ok as f64 / completed as f64
    };
    let corrected = pct(&rec.corrected);
    let stopped = match reason {
        Some(r) => r,
        None if sent >= s.limits.max_requests => {
            format!("max_requests ({}) reached", s.limits.max_requests)
        }
        None => "completed".into(),
    };
    let mut report = LoadReport {
        format_version: LOADTEST_FORMAT_VERSION,
        scenario: s.name.clone(),
        description: s.description.clone(),
        target: target.shown.clone(),
        path: s.path.clone(),
        load: describe(&workload),
        started_unix_s: started_unix,
        planned_duration_s: s.duration_s,
        duration_s: elapsed,
        sent,
        completed,
        ok: rec.ok,
        errors: rec.errors,
        status_codes: rec.codes.clone(),
        dropped: sh.dropped.load(Ordering::Relaxed),
        late: sh.late.load(Ordering::Relaxed),
        max_lag_ms: sh.max_lag_us.load(Ordering::Relaxed) as f64 / 1000.0,
        connections_start: if open_loop {
            s.limits.connections.min(connections_limit) as u64
        } else {
            0
        },
        connections_peak: sh.pool_peak.load(Ordering::Relaxed),
        connections_limit: if open_loop {
            connections_limit as u64
        } else {
            0
        },
        time_scale: k,
        throughput_rps: completed as f64 / elapsed,
        body_bytes: rec.body_bytes,
        throughput_bytes_per_s: rec.body_bytes as f64 / elapsed,
        success_rate,
        latency_ms: super::report::Latency {
            corrected,
            raw: pct(&rec.raw),
        },
        slo: SloResult::judge(&s.slo, success_rate, corrected.p95, completed),
        partial: stopped.starts_with("aborted") || stopped.starts_with("interrupted"),
        stopped,
        series: std::mem::take(&mut rec.rows),
        samples: rec.samples.take().unwrap_or_default(),
    };
    report
        .samples
        .sort_by(|a, b| a.intended_s.total_cmp(&b.intended_s));
    for r in &mut report.series {
        r.p50_ms *= k;
        r.p95_ms *= k;
        r.p99_ms *= k;
    }
    report
        .series
        .retain(|r| r.sent + r.completed > 0 || (r.t_s as f64) < s.duration_s);
    Ok(report)
}
