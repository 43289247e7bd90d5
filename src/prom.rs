//! A small client of the Prometheus HTTP API (`/api/v1/query`, `/api/v1/query_range`), shared
//! by the trace import, the testbed's prometheus triggers and the `validate` observer.

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use std::collections::BTreeMap;
use std::time::Duration;

/// Percent-encode a query parameter.
pub fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Check a server's base URL (`http://host:port[/prefix]`).
pub fn parse_base(url: &str) -> Result<String, String> {
    let base = url.trim_end_matches('/');
    let uri: hyper::Uri = base
        .parse()
        .map_err(|e| format!("not a URL ({e}); expected e.g. http://127.0.0.1:9090"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some(s) => {
            return Err(format!(
                "scheme {s}: only http:// Prometheus URLs are supported (put a plain-HTTP port-forward or proxy in front)"
            ));
        }
        None => return Err("no scheme; expected e.g. http://127.0.0.1:9090".into()),
    }
    if uri.authority().is_none() {
        return Err("no host; expected e.g. http://127.0.0.1:9090".into());
    }
    Ok(base.to_string())
}

/// One series of an answer: its labels and its samples `(unix seconds, value)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub labels: BTreeMap<String, String>,
    pub samples: Vec<(f64, f64)>,
}

impl Series {
    /// `{a="1", b="2"}` for messages.
    pub fn label_text(&self) -> String {
        let v: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{v}\""))
            .collect();
        format!("{{{}}}", v.join(", "))
    }
}

/// Why a query gave no data.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PromError {
    /// The server answered and refused the query (bad PromQL, too many points, ...): the
    /// query or its range must change.
    #[error("{0}")]
    Refused(String),
    /// No usable answer: unreachable, timed out, not Prometheus.
    #[error("{0}")]
    Unreachable(String),
}

impl From<PromError> for String {
    fn from(e: PromError) -> String {
        e.to_string()
    }
}

/// A Prometheus server.
#[derive(Clone)]
pub struct PromClient {
    base: String,
    client: Client<HttpConnector, Empty<Bytes>>,
    timeout: Duration,
}

fn value(v: &serde_json::Value) -> Option<(f64, f64)> {
    let a = v.as_array()?;
    let t = a.first()?.as_f64()?;
    let s = a.get(1)?.as_str()?;
    let x = match s {
        "NaN" => f64::NAN,
        "+Inf" => f64::INFINITY,
        "-Inf" => f64::NEG_INFINITY,
        _ => s.parse().ok()?,
    };
    Some((t, x))
}

impl PromClient {
    pub fn new(url: &str, timeout: Duration) -> Result<PromClient, String> {
        Ok(PromClient {
            base: parse_base(url)?,
            client: Client::builder(TokioExecutor::new()).build_http(),
            timeout,
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// GET `path?query` and return the whole JSON answer (whatever its status).
    pub async fn get(&self, path_and_query: &str) -> Result<serde_json::Value, String> {
        let uri: hyper::Uri = format!("{}{path_and_query}", self.base)
            .parse()
            .map_err(|e| format!("bad URL: {e}"))?;
        let fut = async {
            let resp = self
                .client
                .get(uri)
                .await
                .map_err(|e| format!("cannot reach Prometheus at {}: {e}", self.base))?;
            let status = resp.status();
            let bytes = resp
                .into_body()
                .collect()
                .await
                .map_err(|e| format!("reading the answer: {e}"))?
                .to_bytes();
            serde_json::from_slice::<serde_json::Value>(&bytes)
                .map_err(|e| format!("HTTP {status}: the answer is not JSON: {e}"))
        };
        tokio::time::timeout(self.timeout, fut).await.map_err(|_| {
            format!(
                "Prometheus at {} gave no answer within {:.0} s",
                self.base,
                self.timeout.as_secs_f64()
            )
        })?
    }

    async fn data(&self, path_and_query: &str, query: &str) -> Result<Vec<Series>, PromError> {
        let v = self
            .get(path_and_query)
            .await
            .map_err(PromError::Unreachable)?;
        if v["status"] != "success" {
            return Err(PromError::Refused(format!(
                "Prometheus refused `{query}`: {} {}",
                v["errorType"].as_str().unwrap_or("error"),
                v["error"].as_str().unwrap_or("(no message)")
            )));
        }
        let data = &v["data"];
        let result = match data["resultType"].as_str() {
            Some("vector") | Some("matrix") => {
                data["result"].as_array().cloned().unwrap_or_default()
            }
            Some("scalar") => {
                return Ok(value(&data["result"])
                    .map(|s| {
                        vec![Series {
                            labels: BTreeMap::new(),
                            samples: vec![s],
                        }]
                    })
                    .unwrap_or_default());
            }
            other => {
                return Err(PromError::Refused(format!(
                    "`{query}` answered with result type {other:?}; expected a vector or a scalar"
                )));
            }
        };
        Ok(result
            .iter()
            .map(|r| {
                let labels = r["metric"]
                    .as_object()
                    .map(|m| {
                        m.iter()
                            .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                            .collect()
                    })
                    .unwrap_or_default();
                let samples = match r["values"].as_array() {
                    Some(vs) => vs.iter().filter_map(value).collect(),
                    None => value(&r["value"]).into_iter().collect(),
                };
                Series { labels, samples }
            })
            .collect())
    }

    /// An instant query now (`time: None`) or at a unix time.
    pub async fn instant(&self, query: &str, time: Option<f64>) -> Result<Vec<Series>, PromError> {
        let mut pq = format!("/api/v1/query?query={}", encode(query));
        if let Some(t) = time {
            pq.push_str(&format!("&time={t:.3}"));
        }
        self.data(&pq, query).await
    }

    /// A range query over `[start, end]` (unix seconds) at `step` seconds.
    pub async fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<Vec<Series>, PromError> {
        let pq = format!(
            "/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
            encode(query)
        );
        self.data(&pq, query).await
    }
}

/// A prometheus trigger's value as KEDA's scaler reads it: an empty answer is 0 when
/// `ignoreNullValues` (KEDA's default) and an error otherwise; more than one series is an
/// error; NaN and ±Inf likewise count as 0 only when null values are ignored.
pub async fn keda_value(
    client: &PromClient,
    query: &str,
    ignore_null_values: bool,
) -> Result<Option<f64>, String> {
    let r = client.instant(query, None).await?;
    match r.as_slice() {
        [] if ignore_null_values => Ok(Some(0.0)),
        [] => Err(format!(
            "prometheus query `{query}` returned nothing (the target may be lost) and ignoreNullValues is false"
        )),
        [one] => {
            let v = one.samples.last().map(|s| s.1).unwrap_or(f64::NAN);
            if v.is_finite() {
                Ok(Some(v))
            } else if ignore_null_values {
                Ok(Some(0.0))
            } else {
                Err(format!("prometheus query `{query}` returned {v}"))
            }
        }
        many => Err(format!(
            "prometheus query `{query}` returned {} series ({} ...); it must return one (aggregate with sum())",
            many.len(),
            many[0].label_text()
        )),
    }
}
