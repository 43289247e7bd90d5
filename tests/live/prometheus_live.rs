//! Live import from a real Prometheus server (Debian's `prometheus`, found on PATH) scraping
//! an exporter this test serves on loopback, whose counter follows a known rate schedule.

use crate::common;

use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use scaletwin::trace::TraceData;
use scaletwin::trace::prometheus::{RangeQuery, import};
use std::net::TcpListener as StdListener;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The counter: 0 before the schedule starts, then 10 req/s for 15 s, then 30 req/s.
fn counter(t: f64) -> f64 {
    if t < 0.0 {
        0.0
    } else if t < 15.0 {
        10.0 * t
    } else {
        150.0 + 30.0 * (t - 15.0)
    }
}

fn rate(t: f64) -> f64 {
    if t < 15.0 { 10.0 } else { 30.0 }
}

fn now_unix() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// Serve `/metrics` on loopback from a thread; the schedule starts `delay` from now. Returns
/// the port and the schedule's start time.
fn start_exporter(delay: f64, stop_after: Duration) -> (u16, f64) {
    let listener = StdListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let t0 = now_unix() + delay;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let deadline = tokio::time::Instant::now() + stop_after;
            loop {
                let accepted = tokio::time::timeout_at(deadline, listener.accept()).await;
                let Ok(Ok((stream, _))) = accepted else {
                    return;
                };
                tokio::spawn(async move {
                    let svc = service_fn(move |_req: Request<hyper::body::Incoming>| async move {
                        let v = counter(now_unix() - t0).floor();
                        let body = format!(
                            "# TYPE test_requests_total counter\ntest_requests_total {v}\n"
                        );
                        Ok::<_, std::convert::Infallible>(Response::new(Full::new(Bytes::from(
                            body,
                        ))))
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    (port, t0)
}

#[test]
fn live_import_recovers_the_exported_rate() {
    if !common::have_prometheus() {
        eprintln!("skipping: `prometheus` is not on PATH");
        return;
    }
    // The schedule starts once Prometheus has had time to start and scrape a few times.
    let (exporter, t0) = start_exporter(8.0, Duration::from_secs(90));
    let dir = std::env::temp_dir().join(format!("scaletwin-prom-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (port, _guard) = common::start_prometheus(&dir, &format!("127.0.0.1:{exporter}"), "1s");
    let url = format!("http://127.0.0.1:{port}");
    // Wait for the run to cover both rates (about 32 s of the schedule).
    let started = Instant::now();
    while now_unix() - t0 < 32.0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the test ran too long"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let q = RangeQuery {
        url: url.clone(),
        query: "sum(rate(test_requests_total[4s]))".into(),
        start: (t0 + 3.0).floor(),
        end: (t0 + 31.0).floor(),
        step: 1.0,
        timeout_s: 10.0,
    };
    let t = import(&q).unwrap_or_else(|e| {
        panic!(
            "{e}\n{}",
            std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default()
        )
    });
    let TraceData::Binned { bin_s, counts } = &t.data else {
        panic!("binned")
    };
    assert_eq!(*bin_s, 1.0);
    // Away from the step by more than the rate() window (4 s) plus a scrape interval, the
    // recovered rate is the exported one within what integer counter samples at 1 s allow.
    let mut checked = 0;
    let (mut low, mut high) = (Vec::new(), Vec::new());
    for (i, c) in counts.iter().enumerate() {
        let Some(c) = c else { continue };
        let tau = t.start_unix_s + i as f64 * bin_s - t0;
        let r = c / bin_s;
        if (tau > 5.5 && tau < 13.5) || tau > 21.0 {
            let want = rate(tau);
            assert!(
                (r - want).abs() <= 0.2 * want,
                "at +{tau:.1} s: recovered {r:.2} req/s, exported {want}"
            );
            if want == 10.0 {
                low.push(r)
            } else {
                high.push(r)
            }
            checked += 1;
        }
    }
    assert!(
        checked >= 12 && !low.is_empty() && !high.is_empty(),
        "too few samples ({checked}): {counts:?}"
    );
    let mean = |v: &Vec<f64>| v.iter().sum::<f64>() / v.len() as f64;
    assert!(
        (mean(&low) - 10.0).abs() < 0.5 && (mean(&high) - 30.0).abs() < 1.5,
        "means {} and {}",
        mean(&low),
        mean(&high)
    );
    // Errors: a bad query is Prometheus' error, named; an unreachable server says so.
    let bad = import(&RangeQuery {
        query: "sum(rate(".into(),
        ..q.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(bad.contains("status `error`"), "{bad}");
    let several = import(&RangeQuery {
        query: "up or vector(1)".into(),
        ..q.clone()
    })
    .unwrap_err()
    .to_string();
    assert!(several.contains("exactly one series"), "{several}");
    let down = import(&RangeQuery {
        url: format!("http://127.0.0.1:{}", common::free_port()),
        ..q
    })
    .unwrap_err()
    .to_string();
    assert!(down.contains("cannot reach Prometheus"), "{down}");
}
