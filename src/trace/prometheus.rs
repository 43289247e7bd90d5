//! Live import from a Prometheus server: one `query_range` call, answered as a binned trace.
//! This is how a team records its own production trace, e.g.
//! `scaletwin trace import --prometheus http://prometheus:9090 --query 'sum(rate(http_requests_total[1m]))' --start … --end … --step 15`.

use super::read::{self, ReadOptions};
use super::{Trace, TraceError};

/// A range query.
#[derive(Clone, Debug)]
pub struct RangeQuery {
    /// Base URL of the server, e.g. `http://127.0.0.1:9090`.
    pub url: String,
    pub query: String,
    /// UTC epoch seconds.
    pub start: f64,
    pub end: f64,
    /// Resolution step, seconds.
    pub step: f64,
    /// Give up after this many seconds.
    pub timeout_s: f64,
}

/// Parse a time argument: UTC epoch seconds or a datetime (`2026-11-28T10:00:00Z`).
pub fn parse_time(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => super::time::parse_datetime(s, 0),
    }
}

/// Run the query and turn the answer (one series of rates per second) into a binned trace.
pub fn import(q: &RangeQuery) -> Result<Trace, TraceError> {
    let err = |m: String| TraceError::input(&q.url, None, m);
    if !(q.step.is_finite() && q.step > 0.0) {
        return Err(err(format!("step {} must be > 0", q.step)));
    }
    if q.end <= q.start {
        return Err(err(format!(
            "end ({}) must be after start ({})",
            q.end, q.start
        )));
    }
    let client = crate::prom::PromClient::new(
        &q.url,
        std::time::Duration::from_secs_f64(q.timeout_s.max(0.1)),
    )
    .map_err(&err)?;
    let base = client.base().to_string();
    let pq = format!(
        "/api/v1/query_range?query={}&start={}&end={}&step={}",
        crate::prom::encode(&q.query),
        q.start,
        q.end,
        q.step
    );
    let runtime = |message: String| TraceError::Unreachable {
        url: q.url.clone(),
        message,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| runtime(e.to_string()))?;
    let v = rt.block_on(client.get(&pq)).map_err(runtime)?;
    let mut t = read::from_prometheus_json(
        &v,
        &q.url,
        &ReadOptions {
            bin_s: Some(q.step),
            ..ReadOptions::default()
        },
    )?;
    t.source = format!("{base} {}", q.query);
    Ok(t)
}
