//! `scaletwin testbed`: a live HTTP service on loopback built from a model folder, so the
//! validation loop can run on one machine without a cluster.
//!
//! Pods are real workers: each has the model's concurrency limit and queue, requests wait for
//! a slot for real and are served by sleeping for a service time drawn from the model. A
//! router spreads the entry deployment's requests over ready pods with the model's routing;
//! completed requests fan jobs out into in-memory broker queues that consumer pods pull from.
//! Replicas are changed by the policy code itself (KEDA's operator poll and the HPA's sync,
//! the same functions the simulator calls) on the wall clock, with start-up, readiness,
//! endpoint-removal and grace-period delays as real delays.
//!
//! A time scale `k` runs the model `k` times faster: every model duration (service and
//! start-up times, sync and poll periods, windows, cooldowns) lasts `1/k` of it on the wall
//! clock. The service then behaves like a real one that is `k` times faster: its exported
//! latencies are wall-clock seconds and its counters count requests, and an observer maps
//! them back by multiplying time by `k` (`validate --time-scale`). The autoscalers read the
//! model-time signals the testbed computes from its own scrapes, exactly as the simulator
//! does; at a time scale of 1 the prometheus triggers can instead query a real Prometheus
//! server as KEDA's scaler does (`--prometheus URL`).

mod metrics;
mod world;

use crate::scenario::LoadedModel;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;
use world::{Admit, World};

/// A testbed that could not start or stopped on an error.
#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    /// A flag is wrong (time scale, Prometheus address): the command line exits 2.
    #[error("{0}")]
    Input(String),
    /// The machine refused (the address is taken, the runtime could not start): the
    /// command line exits 3.
    #[error("{0}")]
    Runtime(String),
}

impl TestbedError {
    /// The exit code the command line ends with: 2 bad input, 3 a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            TestbedError::Input(_) => 2,
            TestbedError::Runtime(_) => 3,
        }
    }
}

/// How to run the testbed.
#[derive(Clone, Debug)]
pub struct Options {
    /// Where to serve the entry deployment and `/metrics` (loopback by default).
    pub listen: SocketAddr,
    /// Model seconds per wall-clock second.
    pub time_scale: f64,
    /// A Prometheus server the prometheus triggers query (time scale 1 only).
    pub prometheus: Option<String>,
    /// The `namespace` label of the kube-state-metrics series.
    pub namespace: String,
    /// Stop after this many wall-clock seconds (`None`: until Ctrl-C).
    pub duration_s: Option<f64>,
    pub seed: u64,
    /// Start the model clock (and the autoscalers) at the first request instead of at start-up.
    pub clock_from_first_request: bool,
    /// Print every scaling decision that changed something.
    pub log_decisions: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            time_scale: 1.0,
            prometheus: None,
            namespace: "default".into(),
            duration_s: None,
            seed: 1,
            clock_from_first_request: false,
            log_decisions: false,
        }
    }
}

/// What a testbed run did.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Summary {
    pub model_seconds: f64,
    pub requests: u64,
    pub ok: u64,
    pub rejected: u64,
    pub scaling_events: u64,
    /// Per deployment: its replicas at the end, the most it had, and its scale-ups,
    /// scale-downs and reversals.
    pub deployments: Vec<(String, crate::cluster::Replicas)>,
    /// Every KEDA poll and HPA sync, on the model clock, as the simulator records them (the
    /// latest 100,000).
    pub decisions: Vec<crate::engine::DecisionRecord>,
}

/// The slowest and the fastest model time the testbed runs, in model seconds per wall-clock
/// second.
pub const MIN_TIME_SCALE: f64 = 0.001;
pub const MAX_TIME_SCALE: f64 = 1000.0;

/// Refuse settings the testbed cannot honour, before anything starts.
pub fn check(model: &LoadedModel, o: &Options) -> Result<(), TestbedError> {
    if !(o.time_scale.is_finite() && (MIN_TIME_SCALE..=MAX_TIME_SCALE).contains(&o.time_scale)) {
        return Err(TestbedError::Input(format!(
            "--time-scale {}: must be a number from {MIN_TIME_SCALE} to {MAX_TIME_SCALE} (model seconds per wall-clock second; below {MIN_TIME_SCALE} one 15-s sync would take over 4 hours)",
            o.time_scale
        )));
    }
    if let Some(p) = &o.prometheus {
        if (o.time_scale - 1.0).abs() > 1e-9 {
            return Err(TestbedError::Input(format!(
                "--prometheus {p} with --time-scale {}: a real Prometheus measures rates per wall-clock second, so prometheus triggers can query it only at --time-scale 1; drop one of the two",
                o.time_scale
            )));
        }
        crate::prom::parse_base(p)
            .map_err(|e| TestbedError::Input(format!("--prometheus {p}: {e}")))?;
    }
    if !o.listen.ip().is_loopback() {
        eprintln!(
            "testbed: listening on {} (not a loopback address): anyone who can reach it can load it",
            o.listen
        );
    }
    let _ = model;
    Ok(())
}

/// Run the testbed until its duration ends or Ctrl-C; `on_ready` gets the bound address.
pub fn serve(
    model: &LoadedModel,
    opts: &Options,
    on_ready: &dyn Fn(SocketAddr),
) -> Result<Summary, TestbedError> {
    check(model, opts)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TestbedError::Runtime(format!("starting the runtime: {e}")))?;
    rt.block_on(serve_async(model, opts, on_ready))
}

struct Shared {
    world: Mutex<World>,
    metrics: metrics::Exported,
    clock_started: Notify,
    opts: Options,
    prometheus: Option<crate::prom::PromClient>,
}

impl Shared {
    fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world.lock().unwrap_or_else(|e| e.into_inner())
    }
}

async fn serve_async(
    model: &LoadedModel,
    opts: &Options,
    on_ready: &dyn Fn(SocketAddr),
) -> Result<Summary, TestbedError> {
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| {
            TestbedError::Runtime(format!(
                "cannot listen on {}: {e}; choose another address with --listen",
                opts.listen
            ))
        })?;
    let addr = listener
        .local_addr()
        .map_err(|e| TestbedError::Runtime(e.to_string()))?;
    let world = World::new(model.model.clone(), opts.seed, opts.time_scale);
    let metrics = metrics::Exported::new(&world, &opts.namespace);
    let prometheus = match &opts.prometheus {
        Some(u) => Some(
            crate::prom::PromClient::new(u, Duration::from_secs(5))
                .map_err(|e| TestbedError::Input(format!("--prometheus {u}: {e}")))?,
        ),
        None => None,
    };
    let sh = Arc::new(Shared {
        world: Mutex::new(world),
        metrics,
        clock_started: Notify::new(),
        opts: opts.clone(),
        prometheus,
    });
    if !opts.clock_from_first_request {
        sh.world().start_clock();
    }
    on_ready(addr);
    let control = tokio::spawn(control_loop(sh.clone()));
    let accept = tokio::spawn(accept_loop(listener, sh.clone()));
    let stop = async {
        match opts.duration_s {
            Some(d) => tokio::time::sleep(Duration::from_secs_f64(d.max(0.0))).await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    };
    tokio::select! {
        _ = stop => {}
        _ = tokio::signal::ctrl_c() => {}
        r = control => {
            if let Ok(Err(e)) = r {
                return Err(e);
            }
        }
    }
    accept.abort();
    let w = sh.world();
    Ok(w.summary())
}

async fn accept_loop(listener: tokio::net::TcpListener, sh: Arc<Shared>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = stream.set_nodelay(true);
        let sh = sh.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| {
                let sh = sh.clone();
                async move { Ok::<_, std::convert::Infallible>(handle(sh, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn respond(code: u16, ctype: &str, body: String) -> hyper::Response<Full<Bytes>> {
    hyper::Response::builder()
        .status(code)
        .header("content-type", ctype)
        .body(Full::new(Bytes::from(body)))
        .unwrap_or_else(|_| hyper::Response::new(Full::new(Bytes::new())))
}

async fn handle(
    sh: Arc<Shared>,
    req: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<Full<Bytes>> {
    match req.uri().path() {
        "/metrics" => {
            let text = {
                let w = sh.world();
                sh.metrics.refresh(&w);
                sh.metrics.encode()
            };
            return respond(
                200,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                text,
            );
        }
        "/healthz" => return respond(200, "text/plain", "ok\n".into()),
        "/status" => {
            let s = sh.world().status_json();
            return respond(200, "application/json", s);
        }
        _ => {}
    }
    // Read (and drop) the body, as a real service would.
    let _ = req.into_body().collect().await;
    if sh.opts.clock_from_first_request {
        let started = sh.world().start_clock();
        if started {
            sh.clock_started.notify_waiters();
            sh.clock_started.notify_one();
        }
    }
    let t0 = tokio::time::Instant::now();
    let admit = sh.world().admit();
    let (pod, slot) = match admit {
        Admit::Rejected(code, why, answered) => {
            sh.world().count_rejected(answered);
            sh.metrics.request(code, t0.elapsed().as_secs_f64());
            return respond(
                code,
                "application/json",
                format!("{{\"error\":\"{why}\"}}\n"),
            );
        }
        Admit::Start(pod) => (pod, None),
        Admit::Wait(pod, rx) => (pod, Some(rx)),
    };
    let timeout = sh.world().entry_timeout();
    let mut pod = pod;
    if let Some(rx) = slot {
        let waited = match timeout {
            Some(t) => match tokio::time::timeout(t.saturating_sub(t0.elapsed()), rx).await {
                Ok(r) => r.ok(),
                Err(_) => None,
            },
            None => rx.await.ok(),
        };
        match waited {
            Some(p) => pod = p,
            None => {
                let code = if timeout.is_some_and(|t| t0.elapsed() >= t) {
                    504
                } else {
                    502
                };
                sh.world().count_rejected(code == 504);
                sh.metrics.request(code, t0.elapsed().as_secs_f64());
                return respond(
                    code,
                    "application/json",
                    "{\"error\":\"gave up waiting (timeout or pod terminated)\"}\n".into(),
                );
            }
        }
    }
    let service = sh.world().service_time(pod);
    tokio::time::sleep(service).await;
    let name = {
        let mut w = sh.world();
        let name = w.pod_name(pod);
        let jobs = w.complete(pod, t0.elapsed().as_secs_f64());
        drop(w);
        spawn_jobs(&sh, jobs);
        name
    };
    sh.metrics.request(200, t0.elapsed().as_secs_f64());
    respond(
        200,
        "application/json",
        format!(
            "{{\"ok\":true,\"pod\":\"{name}\",\"service_ms\":{:.3}}}\n",
            service.as_secs_f64() * 1e3
        ),
    )
}

/// Serve the jobs the world handed out (consumer pods pulled them): sleep, complete, and
/// serve whatever that hands out in turn.
fn spawn_jobs(sh: &Arc<Shared>, jobs: Vec<world::JobStart>) {
    for j in jobs {
        let sh = sh.clone();
        tokio::spawn(async move {
            tokio::time::sleep(j.service).await;
            let secs = j.service.as_secs_f64();
            let (more, done_by) = {
                let mut w = sh.world();
                let dep = w.job_deployment(&j);
                (w.complete_job(j), dep)
            };
            if let Some(dep) = done_by {
                sh.metrics.job(&dep, secs);
            }
            spawn_jobs(&sh, more);
        });
    }
}

/// The autoscalers, the scrapes and metrics-server on the model clock; pod start-ups and
/// deletions as their delays end.
async fn control_loop(sh: Arc<Shared>) -> Result<(), TestbedError> {
    if sh.opts.clock_from_first_request {
        loop {
            let notified = sh.clock_started.notified();
            if sh.world().clock_started() {
                break;
            }
            notified.await;
        }
    }
    loop {
        let (t, wall) = sh.world().next_control();
        tokio::time::sleep_until(wall).await;
        // Values of prometheus triggers from the real server, fetched before the world is
        // locked (the poll then reads them).
        let fetched = match &sh.prometheus {
            Some(client) => {
                let queries = sh.world().prometheus_queries_due(t);
                let mut v = Vec::new();
                for (key, query, ignore_null) in queries {
                    v.push((
                        key,
                        crate::prom::keda_value(client, &query, ignore_null).await,
                    ));
                }
                v
            }
            None => Vec::new(),
        };
        let (jobs, log) = sh.world().run_control(t, fetched);
        spawn_jobs(&sh, jobs);
        if sh.opts.log_decisions {
            for l in log {
                eprintln!("{l}");
            }
        }
    }
}
