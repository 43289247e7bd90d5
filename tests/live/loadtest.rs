//! The load tester against a server each test starts on loopback (127.0.0.1): exact request
//! counts, open-loop rate accuracy, coordinated-omission correction when the server stalls,
//! SLO and regression exit codes, live metrics, error classes, the error-rate abort, and
//! refusal before any load when nobody listens. Every run is bounded in time and count.

use crate::common;

use http_body_util::Full;
use hyper::body::Bytes;
use scaletwin::loadtest::Scenario;
use scaletwin::loadtest::run::{RunOptions, run};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How the test server answers.
#[derive(Default)]
struct Behaviour {
    /// Every answer waits this long (ms).
    delay_ms: AtomicU64,
    /// Status code (0: 200).
    status: AtomicU64,
    /// Between these times (ms since the server started) nothing is answered until the end
    /// of the window: a stall.
    stall_from_ms: AtomicU64,
    stall_to_ms: AtomicU64,
}

struct Server {
    addr: SocketAddr,
    b: Arc<Behaviour>,
    arrivals: Arc<Mutex<Vec<Duration>>>,
    started: Instant,
}

impl Server {
    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    fn count(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }
}

/// A trivial HTTP server on a free loopback port, on its own thread and runtime; it lives as
/// long as the test process.
fn server() -> Server {
    let b = Arc::new(Behaviour::default());
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let (b2, a2) = (b.clone(), arrivals.clone());
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let started = Instant::now();
            tx.send((l.local_addr().unwrap(), started)).unwrap();
            loop {
                let (s, _) = l.accept().await.unwrap();
                let _ = s.set_nodelay(true);
                let (b, a) = (b2.clone(), a2.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |_req| {
                        let (b, a) = (b.clone(), a.clone());
                        async move {
                            let now = started.elapsed();
                            a.lock().unwrap().push(now);
                            let ms = now.as_millis() as u64;
                            let (f, t) = (
                                b.stall_from_ms.load(Ordering::Relaxed),
                                b.stall_to_ms.load(Ordering::Relaxed),
                            );
                            if ms >= f && ms < t {
                                tokio::time::sleep(Duration::from_millis(t - ms)).await;
                            }
                            let d = b.delay_ms.load(Ordering::Relaxed);
                            if d > 0 {
                                tokio::time::sleep(Duration::from_millis(d)).await;
                            }
                            let code = match b.status.load(Ordering::Relaxed) {
                                0 => 200,
                                c => c as u16,
                            };
                            let mut r = hyper::Response::new(Full::new(Bytes::from_static(b"ok")));
                            *r.status_mut() = hyper::StatusCode::from_u16(code).unwrap();
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                        .await;
                });
            }
        });
    });
    let (addr, started) = rx.recv().unwrap();
    Server {
        addr,
        b,
        arrivals,
        started,
    }
}

fn scenario(target: &str, extra: &str) -> Scenario {
    Scenario::parse(
        Path::new("test.yaml"),
        &format!("format_version: 1\nname: t\ntarget: {target}\nnamespace: amas\n{extra}"),
    )
    .unwrap()
}

fn quiet() -> RunOptions {
    RunOptions::default()
}

#[test]
fn a_closed_loop_sends_exactly_the_requests_allowed() {
    let srv = server();
    let s = scenario(
        &srv.url(),
        "duration_s: 30\nload: {loop: closed, users: 4, think_s: 0}\nlimits: {max_requests: 1000}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    assert_eq!(r.sent, 1000);
    assert_eq!(r.completed, 1000);
    assert_eq!(r.ok, 1000);
    assert_eq!(srv.count(), 1000, "the server saw every request once");
    assert_eq!(r.stopped, "max_requests (1000) reached");
    assert_eq!(r.status_codes.get("200"), Some(&1000));
    assert_eq!(
        r.series.iter().map(|s| s.completed).sum::<u64>(),
        1000,
        "the series accounts for every answer"
    );
}

#[test]
fn an_open_loop_keeps_its_rate_within_one_percent() {
    let srv = server();
    let s = scenario(
        &srv.url(),
        "duration_s: 10\narrivals: uniform\nload: {loop: open, pattern: constant, rate: 200}\n",
    );
    let t0 = srv.started.elapsed();
    let r = run(&s, &quiet()).unwrap();
    let arr = srv.arrivals.lock().unwrap().clone();
    let (first, last) = (arr[0] - t0, *arr.last().unwrap() - t0);
    assert_eq!(r.sent, 2000);
    assert_eq!(arr.len(), 2000);
    // Measured at the server: 2000 requests over the span they arrived in.
    let rate = (arr.len() - 1) as f64 / (last - first).as_secs_f64();
    assert!(
        (rate - 200.0).abs() / 200.0 < 0.01,
        "server-side rate {rate:.2} req/s"
    );
    // Poisson arrivals: the engine's own arrivals for the seed, all of them sent.
    let s = scenario(
        &srv.url(),
        "duration_s: 5\nseed: 7\nload: {loop: open, pattern: constant, rate: 100}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    let sched =
        scaletwin::engine::RateSchedule::new(scaletwin::engine::Pattern::Constant { rate: 100.0 });
    let seg = sched.segment_s();
    let mut n = 0;
    let mut buf = Vec::new();
    for k in 0..(5.0 / seg).ceil() as u64 {
        scaletwin::engine::segment_arrivals(&sched, 7, k, seg, &mut buf);
        n += buf.iter().filter(|t| **t < 5_000_000).count() as u64;
    }
    assert_eq!(r.sent, n, "exactly the engine's arrivals for seed 7");
}

#[test]
fn coordinated_omission_is_corrected_when_the_server_stalls() {
    let srv = server();
    // A one-second stall from 2 s after the test starts.
    let now = srv.started.elapsed().as_millis() as u64;
    srv.b.stall_from_ms.store(now + 2000, Ordering::Relaxed);
    srv.b.stall_to_ms.store(now + 3000, Ordering::Relaxed);
    let s = scenario(
        &srv.url(),
        "duration_s: 5\narrivals: uniform\nload: {loop: open, pattern: constant, rate: 100}\nlimits: {connections: 2, max_connections: 2}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    assert_eq!(r.completed, 500);
    let (c, raw) = (r.latency_ms.corrected, r.latency_ms.raw);
    // About 100 requests were due during the stall: from their intended times they waited
    // up to a second, so a fifth of all latencies are large. Only the two in flight saw
    // the stall from their actual send.
    assert!(c.p95 > 300.0, "corrected p95 {:.1} ms", c.p95);
    assert!(
        raw.p95 < c.p95 / 10.0,
        "raw p95 {:.1} ms vs corrected {:.1} ms",
        raw.p95,
        c.p95
    );
    assert!(
        raw.max > 900.0,
        "the stalled request itself: {:.1} ms",
        raw.max
    );
}

#[test]
fn errors_are_classified_and_a_failing_service_is_abandoned() {
    let srv = server();
    srv.b.status.store(503, Ordering::Relaxed);
    let s = scenario(
        &srv.url(),
        "duration_s: 30\narrivals: uniform\nload: {loop: open, pattern: constant, rate: 50}\nlimits: {abort_on_error_rate: 0.5}\nslo: {success_rate: 0.99}\n",
    );
    let started = Instant::now();
    let r = run(&s, &quiet()).unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "stopped early");
    assert!(
        r.partial && r.stopped.starts_with("aborted: error rate 100.0%"),
        "{}",
        r.stopped
    );
    assert_eq!(r.errors.status, r.completed);
    assert_eq!(r.status_codes.get("503"), Some(&r.completed));
    assert_eq!(r.slo.availability_pass, Some(false));
    // Timeouts.
    let srv = server();
    srv.b.delay_ms.store(2000, Ordering::Relaxed);
    let s = scenario(
        &srv.url(),
        "duration_s: 1\narrivals: uniform\nload: {loop: open, pattern: constant, rate: 10}\nlimits: {timeout_s: 0.2}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    assert_eq!(r.errors.timeout, r.sent);
    assert_eq!(r.status_codes.get("timeout"), Some(&r.sent));
    // Body check.
    let srv = server();
    let s = scenario(
        &srv.url(),
        "duration_s: 1\nload: {loop: closed, users: 1, think_s: 0}\nlimits: {max_requests: 5}\nexpect: {body_contains: 'done'}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    assert_eq!(r.errors.body, 5);
}

#[test]
fn nothing_is_sent_when_nobody_listens() {
    // A port that was free a moment ago.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let s = scenario(
        &format!("http://{addr}"),
        "duration_s: 5\nload: {loop: open, pattern: constant, rate: 10}\n",
    );
    let err = run(&s, &quiet()).unwrap_err();
    // A target nobody answers is a failure at run time (exit 3), not bad input.
    assert!(
        matches!(err, scaletwin::loadtest::run::LoadError::Unreachable(_)),
        "{err:?}"
    );
    let e = err.to_string();
    assert!(
        e.contains(&format!("cannot connect to {addr}")) && e.contains("no load was sent"),
        "{e}"
    );
    let o = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "loadtest",
            "--target",
            &format!("http://{addr}"),
            "--rate",
            "10",
            "--duration",
            "2",
            "--metrics-listen",
            "off",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3));
    let o = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args(["loadtest", "--target", "ftp://127.0.0.1:9", "--rate", "1"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("give an http:// or https:// URL"));
}

fn bin_loadtest(srv: &Server, out: &Path, extra: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "loadtest",
            "--target",
            &srv.url(),
            "--users",
            "4",
            "--think",
            "0.01",
            "--duration",
            "2",
            "--quiet",
            "--metrics-listen",
            "off",
            "-o",
            out.to_str().unwrap(),
        ])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn slo_failures_and_regressions_give_a_non_zero_exit_code() {
    let srv = server();
    srv.b.delay_ms.store(2, Ordering::Relaxed);
    let d = common::fresh_dir("loadtest", "slo");
    let o = bin_loadtest(&srv, &d.join("base"), &["--slo-p95-ms", "500"]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{text}");
    assert!(text.contains("SLO P95 Latency: PASS"), "{text}");
    assert!(d.join("base/report.json").exists() && d.join("base/series.csv").exists());
    // The same service, 20 times slower: the SLO fails, and the baseline names what regressed.
    srv.b.delay_ms.store(40, Ordering::Relaxed);
    let base = d.join("base/report.json");
    let o = bin_loadtest(
        &srv,
        &d.join("slow"),
        &["--slo-p95-ms", "20", "--baseline", base.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text.contains("SLO P95 Latency: FAIL"), "{text}");
    assert!(text.contains("SLO Availability: n/a"), "{text}");
    assert!(
        text.contains("REGRESSION:") && text.contains("p95_ms"),
        "{text}"
    );
    let checks: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("slow/baseline-comparison.json")).unwrap(),
    )
    .unwrap();
    let p95 = checks
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["metric"] == "p95_ms")
        .unwrap();
    assert_eq!(p95["regressed"], true);
    // Back to normal: no regression.
    srv.b.delay_ms.store(2, Ordering::Relaxed);
    let o = bin_loadtest(
        &srv,
        &d.join("again"),
        &["--baseline", base.to_str().unwrap()],
    );
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("no regression"), "{text}");
}

#[test]
fn live_metrics_are_served_during_the_run() {
    let srv = server();
    srv.b.delay_ms.store(1, Ordering::Relaxed);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let d = common::fresh_dir("loadtest", "metrics");
    let mut child = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "loadtest",
            "research-baseline",
            "--target",
            &srv.url(),
            "--duration",
            "4",
            "--quiet",
            "--metrics-listen",
            &format!("127.0.0.1:{port}"),
            "-o",
            d.to_str().unwrap(),
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut body = String::new();
    for _ in 0..40 {
        std::thread::sleep(Duration::from_millis(100));
        use std::io::{Read, Write};
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .unwrap();
            body.clear();
            let _ = s.read_to_string(&mut body);
            if body.contains("amas_load_test_requests_total{") {
                break;
            }
        }
    }
    let status = child.wait().unwrap();
    assert!(status.code().is_some());
    for m in [
        "amas_load_test_requests_total{test=\"research-baseline\",status=\"200\",phase=\"ramp_up\"}",
        "amas_load_test_request_duration_seconds_bucket",
        "amas_load_test_active_users{test=\"research-baseline\"}",
        "amas_load_test_requests_per_second",
    ] {
        assert!(body.contains(m), "{m} missing from:\n{body}");
    }
    // The run's own report: POST with the templated body reached the agent path.
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(r["path"], "/api/v1/agents/research/execute");
    assert!(r["sent"].as_u64().unwrap() > 0);
}

#[test]
fn the_grafana_dashboard_is_written() {
    let d = common::fresh_dir("loadtest", "grafana");
    let p = d.join("dash.json");
    let o = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "loadtest",
            "research-baseline",
            "--grafana-dashboard",
            p.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    assert!(v["panels"].as_array().unwrap().len() >= 8);
    assert!(v.to_string().contains("amas_load_test_requests_total"));
    assert_eq!(v["__inputs"][0]["name"], "DS_PROMETHEUS");
}

/// An https server on loopback with the test CA's server certificate; counts the HTTP
/// requests it answers.
fn tls_server() -> (SocketAddr, Arc<AtomicU64>) {
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("server.pem"))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_file(dir.join("server.key")).unwrap();
    let mut cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(cfg));
    let count = Arc::new(AtomicU64::new(0));
    let (tx, rx) = std::sync::mpsc::channel();
    let c2 = count.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            loop {
                let Ok((stream, _)) = l.accept().await else {
                    continue;
                };
                let (acceptor, c3) = (acceptor.clone(), c2.clone());
                tokio::spawn(async move {
                    // A client that does not trust us ends the handshake: nothing to serve.
                    let Ok(tls) = acceptor.accept(stream).await else {
                        return;
                    };
                    let svc = hyper::service::service_fn(move |_req| {
                        c3.fetch_add(1, Ordering::SeqCst);
                        async {
                            Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                                Bytes::from_static(b"ok"),
                            )))
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
    });
    (rx.recv().unwrap(), count)
}

#[test]
fn https_targets_are_verified_before_any_load_and_then_loaded() {
    let (addr, count) = tls_server();
    let load =
        "duration_s: 10\nload: {loop: closed, users: 4, think_s: 0}\nlimits: {max_requests: 200}\n";
    // The server's CA is not trusted: refused at the handshake, nothing sent.
    let s = scenario(&format!("https://{addr}"), load);
    let e = run(&s, &quiet()).unwrap_err().to_string();
    assert!(
        e.contains("TLS handshake") && e.contains("--ca-cert") && e.contains("no load was sent"),
        "{e}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 0);
    // Trusting the test CA: every request answered over TLS, by IP and by name.
    let ca = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls/ca.pem");
    for host in [addr.to_string(), format!("localhost:{}", addr.port())] {
        let s = scenario(
            &format!("https://{host}"),
            &format!("{load}ca_cert: {}\n", ca.display()),
        );
        let r = run(&s, &quiet()).unwrap_or_else(|e| panic!("{host}: {e}"));
        assert_eq!((r.sent, r.ok), (200, 200), "{host}: {}", r.summary());
    }
    assert_eq!(count.load(Ordering::SeqCst), 400);
    // A CA file that is not PEM is named.
    let bad = common::fresh_dir("loadtest", "tls").join("bad.pem");
    std::fs::write(&bad, "not a certificate\n").unwrap();
    let s = scenario(
        &format!("https://{addr}"),
        &format!("{load}ca_cert: {}\n", bad.display()),
    );
    let e = run(&s, &quiet()).unwrap_err().to_string();
    assert!(e.contains("bad.pem") && e.contains("no certificate"), "{e}");
}

/// A loopback server speaking raw bytes: each request's head (request line and headers) is
/// kept, and `reply` gives the bytes to answer with and whether to keep the connection. It lives as
/// long as the test process.
/// The bytes a raw server answers a request with, and whether it keeps the connection.
type Reply = fn() -> (Vec<u8>, bool);

fn raw_server(reply: Reply) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    use std::io::{Read, Write};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let h2 = heads.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let heads = h2.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                loop {
                    let Ok(n) = s.read(&mut chunk) else { return };
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..i]).to_string();
                        buf.drain(..i + 4);
                        heads.lock().unwrap().push(head);
                        let (bytes, keep_alive) = reply();
                        if s.write_all(&bytes).is_err() || !keep_alive {
                            return;
                        }
                    }
                }
            });
        }
    });
    (addr, heads)
}

fn bin(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args(args)
        .output()
        .unwrap()
}

/// `loadtest` of `url` by one user without think time, for at most `max` requests, into `out`.
fn one_user(url: &str, max: &str, out: &Path) -> std::process::Output {
    bin(&[
        "loadtest",
        "--target",
        url,
        "--users",
        "1",
        "--think",
        "0",
        "--max-requests",
        max,
        "--duration",
        "5",
        "--metrics-listen",
        "off",
        "--quiet",
        "-o",
        out.to_str().unwrap(),
    ])
}

#[test]
fn a_target_url_is_honoured_to_the_letter_and_its_password_never_reported() {
    // A port out of range is refused (it loaded port 80 and reported :99999).
    let o = bin(&[
        "loadtest",
        "--target",
        "http://127.0.0.1:99999",
        "--rate",
        "5",
        "--duration",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("port 99999 is not a TCP port (1-65535)"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let (addr, heads) = raw_server(|| {
        (
            b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_vec(),
            true,
        )
    });
    let out = std::env::temp_dir().join(format!("scaletwin-lt-url-{}", std::process::id()));
    let url = format!("http://me:s3cret@{addr}/base?x=1#frag");
    let o = one_user(&url, "3", &out);
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(o.status.code(), Some(0), "{all}");
    let heads = heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 3, "{heads:?}");
    for h in &heads {
        assert!(h.starts_with("GET /base/?x=1 HTTP/1.1\r\n"), "{h}");
        // me:s3cret in Basic authentication; the Host header carries no user information.
        assert!(
            h.to_ascii_lowercase()
                .contains("authorization: basic bwu6cznjcmv0"),
            "{h}"
        );
        assert!(
            h.to_ascii_lowercase().contains(&format!("host: {addr}")),
            "{h}"
        );
    }
    assert!(!all.contains("s3cret"), "{all}");
    for f in ["report.json", "summary.txt"] {
        let t = std::fs::read_to_string(out.join(f)).unwrap();
        assert!(!t.contains("s3cret") && t.contains("me:***@"), "{f}: {t}");
    }
}

#[test]
fn answers_that_are_not_http_are_protocol_errors_and_a_run_of_failures_exits_1() {
    let modes: [Reply; 3] = [
        || (b"hello there\r\n\r\n".to_vec(), false),
        // HTTP/0.9: a body with no status line.
        || (b"<html>ok</html>".to_vec(), false),
        || {
            let mut r = b"HTTP/1.1 200 OK\r\nx-big: ".to_vec();
            r.extend(std::iter::repeat_n(b'a', 1 << 20));
            r.extend_from_slice(b"\r\ncontent-length: 0\r\n\r\n");
            (r, false)
        },
    ];
    for reply in modes {
        let (addr, _) = raw_server(reply);
        let out = std::env::temp_dir().join(format!("scaletwin-lt-proto-{}", addr.port()));
        let o = one_user(&format!("http://{addr}"), "4", &out);
        let t = String::from_utf8_lossy(&o.stdout).to_string();
        // Failed without any SLO given: exit 1.
        assert_eq!(
            o.status.code(),
            Some(1),
            "{t}{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            t.contains("failed 4 (connect 0, timeout 0, status 0, body 0, protocol 4)"),
            "{t}"
        );
    }
}

#[test]
fn bodies_are_counted_as_they_stream_not_kept() {
    // 4 MiB bodies whose expected text ends them: found across chunk boundaries, counted.
    let (addr, _) = raw_server(|| {
        let mut body = vec![b'x'; 4 << 20];
        let n = body.len();
        body[n - 6..].copy_from_slice(b"needle");
        let mut r = format!("HTTP/1.1 200 OK\r\ncontent-length: {n}\r\n\r\n").into_bytes();
        r.extend(body);
        (r, true)
    });
    let s = scenario(
        &format!("http://{addr}"),
        "duration_s: 10\nload: {loop: closed, users: 1, think_s: 0}\nlimits: {max_requests: 5}\nexpect: {body_contains: needle}\n",
    );
    let r = run(&s, &quiet()).unwrap();
    assert_eq!((r.ok, r.errors.total()), (5, 0), "{}", r.summary());
    assert_eq!(r.body_bytes, 5 * (4 << 20));
    assert!(r.throughput_bytes_per_s > 0.0);
}

#[test]
fn an_open_loop_ends_on_time_whatever_the_rate_and_counts_what_it_could_not_send() {
    let srv = server();
    let s = scenario(
        &srv.url(),
        "duration_s: 1\nload: {loop: open, pattern: constant, rate: 1e9}\nlimits: {connections: 4, max_connections: 4, max_requests: 200000}\n",
    );
    let started = Instant::now();
    let r = run(&s, &quiet()).unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(
        r.dropped > 0 && r.sent + r.dropped <= 200_000,
        "{}",
        r.summary()
    );
    assert!(r.summary().contains("never sent"));
}

#[test]
fn an_open_loop_grows_its_connections_to_keep_the_rate_up_to_its_limit() {
    // 100 requests/s against answers that take 200 ms: about 20 in flight. Starting from 2
    // connections the pool grows and the service sees the rate asked for; held at 2, the
    // same load reaches it at 10/s and the rest is reported late or dropped.
    let srv = server();
    srv.b.delay_ms.store(200, Ordering::Relaxed);
    let load =
        "duration_s: 3\narrivals: uniform\nload: {loop: open, pattern: constant, rate: 100}\n";
    let grown = run(
        &scenario(&srv.url(), &format!("{load}limits: {{connections: 2}}\n")),
        &quiet(),
    )
    .unwrap();
    assert_eq!(grown.sent, 300, "{}", grown.summary());
    assert_eq!(grown.dropped, 0, "{}", grown.summary());
    assert_eq!(grown.connections_start, 2);
    assert!(
        (18..=80).contains(&grown.connections_peak),
        "{}",
        grown.summary()
    );
    assert_eq!(grown.connections_limit, 1024);
    assert!(
        grown.latency_ms.corrected.p95 < 600.0,
        "kept up: p95 {:.0} ms\n{}",
        grown.latency_ms.corrected.p95,
        grown.summary()
    );
    assert!(grown.summary().contains("at most"), "{}", grown.summary());

    let held = run(
        &scenario(
            &srv.url(),
            &format!("{load}limits: {{connections: 2, max_connections: 2}}\n"),
        ),
        &quiet(),
    )
    .unwrap();
    assert_eq!(held.connections_peak, 2);
    assert!(held.sent <= 40, "{}", held.summary());
    assert!(held.late >= 20 && held.dropped >= 200, "{}", held.summary());
    let text = held.summary();
    assert!(
        text.contains("late")
            && text.contains("reached its limit")
            && text.contains("max_connections"),
        "{text}"
    );
}

#[test]
fn a_pool_limit_below_its_start_is_refused_naming_both() {
    let err = Scenario::parse(
        Path::new("t.yaml"),
        "format_version: 1\nname: t\ntarget: http://127.0.0.1:1\nduration_s: 5\nload: {loop: open, pattern: constant, rate: 1}\nlimits: {connections: 8, max_connections: 4}\n",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("t.yaml")
            && err.contains("limits.max_connections")
            && err.contains("4")
            && err.contains("8"),
        "{err}"
    );
}

#[test]
fn loadtest_with_a_time_scale_sends_faster_and_reports_model_time() {
    // The model asks for 20 requests/s for 20 s; at time scale 10 they go out at 200/s over
    // 2 s, and a 30 ms answer is 300 ms of model time.
    let srv = server();
    srv.b.delay_ms.store(30, Ordering::Relaxed);
    let dir = common::fresh_dir("lt", "timescale");
    let out = Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args([
            "loadtest",
            "--target",
            &srv.url(),
            "--rate",
            "20",
            "--duration",
            "20s",
        ])
        .args([
            "--time-scale",
            "10",
            "--quiet",
            "--metrics-listen",
            "off",
            "--slo-p95-ms",
            "250",
        ])
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let r = scaletwin::loadtest::report::LoadReport::read(&dir.join("report.json")).unwrap();
    assert_eq!(r.time_scale, 10.0);
    assert!(
        r.duration_s < 4.0,
        "sent over ~2 s of wall time: {}",
        r.duration_s
    );
    assert!((300..=500).contains(&r.sent), "{text}");
    let p50 = r.latency_ms.corrected.p50;
    assert!(
        (290.0..450.0).contains(&p50),
        "model-time p50 {p50}\n{text}"
    );
    // The SLO is judged in model time: 300 ms > 250 ms fails (exit 1).
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("time scale 10"), "{text}");
}
