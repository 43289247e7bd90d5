//! A trivial HTTP/1 server for measuring the load tester: answers every request with
//! `200 ok` on one thread. `cargo run --release --example hello_server -- 127.0.0.1:18181`
//! (stops by itself after `SECONDS`, default 120, so a benchmark cannot leave it behind).

use http_body_util::Full;
use hyper::body::Bytes;

fn main() {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:18181".into());
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(120);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let l = tokio::net::TcpListener::bind(&addr)
            .await
            .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
        eprintln!("hello_server on {addr} for {secs} s");
        let serve = async {
            loop {
                let Ok((s, _)) = l.accept().await else {
                    continue;
                };
                let _ = s.set_nodelay(true);
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(|_req| async {
                        Ok::<_, std::convert::Infallible>(hyper::Response::new(Full::new(
                            Bytes::from_static(b"ok"),
                        )))
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(s), svc)
                        .await;
                });
            }
        };
        let _ = tokio::time::timeout(std::time::Duration::from_secs(secs), serve).await;
    });
}
