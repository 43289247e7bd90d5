//! The load tester (`scaletwin loadtest`): scenarios (a target, a request template, a load
//! model with the engine's own workload syntax, SLOs and safety limits), the runner
//! ([`run`]), its reports ([`report`]) and a Grafana dashboard over its metrics
//! ([`grafana`]).
//!
//! The load model is the simulator's: `{loop: closed, users, think_s, ramp_up_s}` or
//! `{loop: open, pattern: ...}` (constant, ramp, step, spike, stress, diurnal), or a recorded
//! trace. Open-loop arrivals are drawn exactly as the engine draws them for the same seed, so
//! a simulation can be run on the very arrivals a test sent.

mod flags;
pub mod grafana;
pub mod report;
pub mod run;

pub use flags::ScenarioFlags;

use crate::engine::Workload;
use crate::trace::spec::TraceSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Version of scenario files and of `report.json`.
pub const LOADTEST_FORMAT_VERSION: u32 = 1;

/// A scenario that cannot be run: the file, the field, what is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct ScenarioError {
    pub file: String,
    pub field: String,
    pub message: String,
}

/// How open-loop arrivals are spaced.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Arrivals {
    /// A Poisson process under the rate schedule (the engine's arrivals for the seed).
    #[default]
    Poisson,
    /// Evenly spaced at the schedule's rate.
    Uniform,
}

/// SLO thresholds of a test.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSlo {
    /// Minimum share of successful requests (0..1).
    #[serde(default)]
    pub success_rate: Option<f64>,
    /// Bound on the p95 latency (ms, coordinated-omission corrected).
    #[serde(default)]
    pub p95_ms: Option<f64>,
}

/// Safety limits: a run stops by itself.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Never send more than this many requests.
    #[serde(default = "default_max_requests")]
    pub max_requests: u64,
    /// Cap on the sending rate (requests per second); arrivals above it are delayed.
    #[serde(default)]
    pub max_rps: Option<f64>,
    /// Stop the run when the error rate over the last 10 s exceeds this (0..1).
    #[serde(default)]
    pub abort_on_error_rate: Option<f64>,
    /// A request not answered within this many seconds is a timeout.
    #[serde(default = "default_timeout")]
    pub timeout_s: f64,
    /// Open loop: connections opened at the start. When an arrival comes due while every
    /// connection is busy, the pool opens one more, up to `max_connections`.
    #[serde(default = "default_connections")]
    pub connections: u32,
    /// Open loop: the most connections (requests in flight) the pool grows to; beyond it,
    /// arrivals wait for a free connection and are counted late (or dropped at the end).
    #[serde(default = "default_max_connections")]
    pub max_connections: u32,
}

fn default_max_requests() -> u64 {
    10_000_000
}
fn default_timeout() -> f64 {
    30.0
}
fn default_connections() -> u32 {
    64
}
/// The open loop's default connection limit (shown in `--help`).
pub const DEFAULT_MAX_CONNECTIONS: u32 = 1024;
fn default_max_connections() -> u32 {
    DEFAULT_MAX_CONNECTIONS
}
/// The largest connection limit accepted.
pub const MAX_CONNECTIONS_LIMIT: u32 = 100_000;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_requests: default_max_requests(),
            max_rps: None,
            abort_on_error_rate: None,
            timeout_s: default_timeout(),
            connections: default_connections(),
            max_connections: default_max_connections(),
        }
    }
}

/// What a successful answer looks like.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Status codes that count as success (default: any 2xx).
    #[serde(default)]
    pub status: Vec<u16>,
    /// A string the body must contain.
    #[serde(default)]
    pub body_contains: Option<String>,
}

fn default_path() -> String {
    "/".into()
}
fn default_method() -> String {
    "GET".into()
}
fn default_seed() -> u64 {
    1
}
fn default_namespace() -> String {
    "scaletwin".into()
}

/// A load-test scenario (`scenarios/*.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub format_version: u32,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Base URL of the service, e.g. `http://127.0.0.1:8080` (`--target` overrides it).
    #[serde(default)]
    pub target: Option<String>,
    /// Path and query of every request.
    #[serde(default = "default_path")]
    pub path: String,
    #[serde(default = "default_method")]
    pub method: String,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Body template: `{seq}` (request number), `{id}` (random 16-hex id), `{user}` (closed
    /// loop user), `{t_ms}` (intended send time, ms from the start) are substituted.
    #[serde(default)]
    pub body: Option<String>,
    /// The load model (the engine's workload syntax).
    #[serde(default)]
    pub load: Option<Workload>,
    /// Or a recorded trace replayed open-loop (`compress` speeds it up).
    #[serde(default)]
    pub trace: Option<TraceSpec>,
    #[serde(default)]
    pub arrivals: Arrivals,
    pub duration_s: f64,
    #[serde(default = "default_seed")]
    pub seed: u64,
    #[serde(default)]
    pub slo: LoadSlo,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub expect: Expect,
    /// Metric name prefix: `<namespace>_load_test_requests_total` etc.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// https targets: a PEM file of CA certificates trusted besides the system's (a private
    /// CA or a self-signed server certificate).
    #[serde(default)]
    pub ca_cert: Option<PathBuf>,
    /// Where the file was read from (for messages).
    #[serde(skip)]
    pub source: PathBuf,
}

/// The scenarios shipped with scaletwin, built in so `--list` works anywhere.
pub const BUILTIN: [(&str, &str); 6] = [
    (
        "research-baseline",
        include_str!("../../scenarios/research-baseline.yaml"),
    ),
    (
        "synthesis-spike",
        include_str!("../../scenarios/synthesis-spike.yaml"),
    ),
    (
        "research-constant",
        include_str!("../../scenarios/research-constant.yaml"),
    ),
    (
        "research-ramp",
        include_str!("../../scenarios/research-ramp.yaml"),
    ),
    (
        "research-step",
        include_str!("../../scenarios/research-step.yaml"),
    ),
    (
        "research-stress",
        include_str!("../../scenarios/research-stress.yaml"),
    ),
];

impl Scenario {
    fn err(&self, field: &str, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: self.source.display().to_string(),
            field: field.into(),
            message: message.into(),
        }
    }

    /// Parse and check a scenario; `file` names it in errors.
    pub fn parse(file: &Path, text: &str) -> Result<Scenario, ScenarioError> {
        let mut s: Scenario = serde_saphyr::from_str(text).map_err(|e| ScenarioError {
            file: file.display().to_string(),
            field: "(schema)".into(),
            message: e.to_string().lines().take(3).collect::<Vec<_>>().join(" "),
        })?;
        s.source = file.to_path_buf();
        s.validate()?;
        Ok(s)
    }

    /// Read a scenario file, or a built-in scenario by name.
    pub fn open(name_or_path: &str) -> Result<Scenario, ScenarioError> {
        let p = Path::new(name_or_path);
        if p.exists() {
            let text = std::fs::read_to_string(p).map_err(|e| ScenarioError {
                file: p.display().to_string(),
                field: "(file)".into(),
                message: format!("cannot read: {e}"),
            })?;
            return Scenario::parse(p, &text);
        }
        if let Some((n, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Scenario::parse(Path::new(&format!("scenarios/{n}.yaml")), text);
        }
        Err(ScenarioError {
            file: name_or_path.into(),
            field: "(file)".into(),
            message: format!(
                "no such file and no built-in scenario of that name; built in: {}",
                BUILTIN.map(|b| b.0).join(", ")
            ),
        })
    }

    /// Check every field that can be wrong.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        if self.format_version != LOADTEST_FORMAT_VERSION {
            return Err(self.err(
                "format_version",
                format!(
                    "{} is not supported; this build reads {LOADTEST_FORMAT_VERSION}",
                    self.format_version
                ),
            ));
        }
        if self.name.trim().is_empty() {
            return Err(self.err("name", "must not be empty"));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return Err(self.err(
                "duration_s",
                format!("{} must be a number of seconds > 0", self.duration_s),
            ));
        }
        match (&self.load, &self.trace) {
            (None, None) => {
                return Err(self.err(
                    "load",
                    "give a load model (e.g. `{loop: closed, users: 10, think_s: 2}` or `{loop: open, pattern: constant, rate: 50}`) or a trace",
                ));
            }
            (Some(_), Some(_)) => return Err(self.err("trace", "give `load` or `trace`, not both")),
            (Some(w), None) => w.validate().map_err(|m| self.err("load", m))?,
            _ => {}
        }
        if let Some(Workload::Closed { users }) = &self.load
            && users.users == 0
        {
            return Err(self.err("load.users", "must be at least 1"));
        }
        if !self.path.starts_with('/') {
            return Err(self.err("path", format!("`{}` must start with `/`", self.path)));
        }
        if hyper::Method::from_bytes(self.method.as_bytes()).is_err() {
            return Err(self.err("method", format!("`{}` is not an HTTP method", self.method)));
        }
        for (k, v) in &self.headers {
            if hyper::header::HeaderName::from_bytes(k.as_bytes()).is_err()
                || hyper::header::HeaderValue::from_str(v).is_err()
            {
                return Err(self.err(&format!("headers.{k}"), "not a valid HTTP header"));
            }
        }
        if let Some(p) = &self.ca_cert
            && !p.is_file()
        {
            return Err(self.err(
                "ca_cert",
                format!(
                    "{}: no such file (a PEM file of CA certificates)",
                    p.display()
                ),
            ));
        }
        if let Some(r) = self.slo.success_rate
            && !(0.0..=1.0).contains(&r)
        {
            return Err(self.err("slo.success_rate", format!("{r} must be within 0..1")));
        }
        if let Some(p) = self.slo.p95_ms
            && !(p.is_finite() && p > 0.0)
        {
            return Err(self.err("slo.p95_ms", format!("{p} must be > 0")));
        }
        let l = &self.limits;
        if l.max_requests == 0 {
            return Err(self.err("limits.max_requests", "must be at least 1"));
        }
        if let Some(r) = l.max_rps
            && !(r.is_finite() && r > 0.0)
        {
            return Err(self.err("limits.max_rps", format!("{r} must be > 0")));
        }
        if let Some(r) = l.abort_on_error_rate
            && !(r > 0.0 && r <= 1.0)
        {
            return Err(self.err(
                "limits.abort_on_error_rate",
                format!("{r} must be within (0, 1]"),
            ));
        }
        if !(l.timeout_s.is_finite() && l.timeout_s > 0.0) {
            return Err(self.err("limits.timeout_s", format!("{} must be > 0", l.timeout_s)));
        }
        if l.connections == 0 {
            return Err(self.err("limits.connections", "must be at least 1"));
        }
        if l.max_connections > MAX_CONNECTIONS_LIMIT {
            return Err(self.err(
                "limits.max_connections",
                format!(
                    "{} is above the largest accepted, {MAX_CONNECTIONS_LIMIT}",
                    l.max_connections
                ),
            ));
        }
        if l.max_connections < l.connections {
            return Err(self.err(
                "limits.max_connections",
                format!(
                    "{} is below limits.connections ({}), the connections opened at the start; raise it or lower connections",
                    l.max_connections, l.connections
                ),
            ));
        }
        if self.namespace.is_empty()
            || !self
                .namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_')
            || self.namespace.starts_with(|c: char| c.is_ascii_digit())
        {
            return Err(self.err(
                "namespace",
                format!(
                    "`{}` is not a Prometheus metric prefix (letters, digits, `_`)",
                    self.namespace
                ),
            ));
        }
        Ok(())
    }

    /// The workload to send: the load model, or the trace read and transformed.
    pub fn workload(&self) -> Result<Workload, ScenarioError> {
        if let Some(w) = &self.load {
            return Ok(w.clone());
        }
        let t = self
            .trace
            .as_ref()
            .ok_or_else(|| self.err("load", "missing"))?;
        let base = self
            .source
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let (trace, interp) = t.load(&base).map_err(|m| self.err("trace", m))?;
        Ok(trace.to_workload(interp))
    }

    /// The target URL, parsed: (host:port to connect to, Host header).
    pub fn target(&self) -> Result<Target, ScenarioError> {
        let url = self.target.as_deref().ok_or_else(|| {
            self.err(
                "target",
                "no target URL: set `target:` or pass --target URL",
            )
        })?;
        Target::parse(url).map_err(|m| self.err("target", m))
    }
}

/// Where requests go.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// `host:port` to connect to.
    pub addr: String,
    /// `https://`: TLS to `server_name`.
    pub tls: bool,
    /// The host name the server's certificate must carry (or its IP address).
    pub server_name: String,
    /// The Host header.
    pub host: String,
    /// A path prefix from the URL (empty or starting with `/`, no trailing `/`).
    pub prefix: String,
    /// The URL's query (without `?`), sent with every request.
    pub query: String,
    /// `user:password` from the URL, sent as HTTP Basic authentication.
    pub userinfo: Option<String>,
    /// The URL as reports and messages show it: the password replaced by `***`.
    pub shown: String,
}

impl Target {
    /// Parse `http[s]://[user:password@]host[:port][/prefix][?query][#fragment]`. The
    /// fragment is never sent (as in a browser); a port outside 1-65535 is an error, never a
    /// fall-back to the scheme's port.
    pub fn parse(url: &str) -> Result<Target, String> {
        let sent = url.split('#').next().unwrap_or(url);
        let shown = redact(url);
        let uri: hyper::Uri = sent
            .parse()
            .map_err(|e| format!("`{shown}` is not a URL: {e}"))?;
        let tls = match uri.scheme_str() {
            Some("http") => false,
            Some("https") => true,
            _ => return Err(format!("`{shown}`: give an http:// or https:// URL")),
        };
        let host = uri
            .host()
            .ok_or_else(|| format!("`{shown}` has no host"))?
            .to_string();
        let authority = uri.authority().map(|a| a.as_str()).unwrap_or(&host);
        let (userinfo, host_port) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_string()), h.to_string()),
            None => (None, authority.to_string()),
        };
        // The port as written (the URI type reads an out-of-range port as none at all).
        let written_port = match host_port.rfind(']') {
            Some(i) => host_port[i + 1..].strip_prefix(':'),
            None => host_port.rsplit_once(':').map(|(_, p)| p),
        };
        let port = match written_port {
            None | Some("") => {
                if tls {
                    443
                } else {
                    80
                }
            }
            Some(p) => match p.parse::<u16>() {
                Ok(n) if n > 0 => n,
                _ => {
                    return Err(format!("`{shown}`: port {p} is not a TCP port (1-65535)"));
                }
            },
        };
        // An IPv6 literal keeps its brackets in the address, not in the certificate name.
        let server_name = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        Ok(Target {
            tls,
            server_name,
            addr: format!("{host}:{port}"),
            host: host_port,
            prefix: uri.path().trim_end_matches('/').to_string(),
            query: uri.query().unwrap_or("").to_string(),
            userinfo,
            shown,
        })
    }

    /// The path and query of a request to `path` (which may carry a query of its own).
    pub fn path_and_query(&self, path: &str) -> String {
        let joined = format!("{}{path}", self.prefix);
        match (self.query.is_empty(), joined.contains('?')) {
            (true, _) => joined,
            (false, true) => format!("{joined}&{}", self.query),
            (false, false) => format!("{joined}?{}", self.query),
        }
    }
}

/// A URL with the password of its user information replaced by `***`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((user, host)) => {
            let user = user.split_once(':').map_or(user, |(u, _)| u);
            let masked = if authority[..authority.len() - host.len() - 1].contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{host}{tail}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_scenario_parses() {
        for (n, text) in BUILTIN {
            let s = Scenario::parse(Path::new(n), text).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, n);
            assert!(s.workload().is_ok());
        }
    }

    #[test]
    fn bad_scenarios_name_the_field() {
        let base = "format_version: 1\nname: t\nduration_s: 10\nload: {loop: open, pattern: constant, rate: 5}\n";
        let bad = |extra: &str| {
            Scenario::parse(Path::new("s.yaml"), &format!("{base}{extra}"))
                .unwrap_err()
                .to_string()
        };
        assert!(bad("limits: {max_rps: -1}\n").starts_with("s.yaml: limits.max_rps: -1"));
        assert!(bad("slo: {success_rate: 1.5}\n").contains("slo.success_rate"));
        assert!(bad("path: api\n").contains("path: `api` must start with `/`"));
        assert!(bad("namespace: 'a-b'\n").contains("namespace"));
        assert!(bad("limits: {timeout_s: 0}\n").contains("limits.timeout_s"));
        assert!(bad("unknown: 1\n").contains("(schema)"));
        let e = Scenario::parse(
            Path::new("s.yaml"),
            "format_version: 1\nname: t\nduration_s: 10\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "load");
        let e = Scenario::parse(
            Path::new("s.yaml"),
            "format_version: 1\nname: t\nduration_s: -5\nload: {loop: closed, users: 2, think_s: 1}\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "duration_s");
    }

    #[test]
    fn targets() {
        let t = Target::parse("http://127.0.0.1:8080/base/").unwrap();
        assert_eq!(t.addr, "127.0.0.1:8080");
        assert_eq!(t.host, "127.0.0.1:8080");
        assert_eq!(t.prefix, "/base");
        assert_eq!(Target::parse("http://svc").unwrap().addr, "svc:80");
        let t = Target::parse("https://svc.example").unwrap();
        assert!(t.tls);
        assert_eq!(
            (t.addr.as_str(), t.server_name.as_str()),
            ("svc.example:443", "svc.example")
        );
        assert_eq!(
            Target::parse("https://[::1]:8443").unwrap().server_name,
            "::1"
        );
        assert!(Target::parse("ftp://x").is_err());
    }

    #[test]
    fn a_target_keeps_its_query_refuses_bad_ports_and_hides_its_password() {
        let e = Target::parse("http://127.0.0.1:99999").unwrap_err();
        assert!(e.contains("port 99999 is not a TCP port"), "{e}");
        assert!(Target::parse("http://127.0.0.1:0/").is_err());
        let t = Target::parse("http://127.0.0.1:8080/base?x=1#frag").unwrap();
        assert_eq!(t.path_and_query("/"), "/base/?x=1");
        assert_eq!(t.path_and_query("/items?y=2"), "/base/items?y=2&x=1");
        let t = Target::parse("https://me:s3cret@svc.example:8443/api").unwrap();
        assert_eq!(t.host, "svc.example:8443");
        assert_eq!(t.userinfo.as_deref(), Some("me:s3cret"));
        assert_eq!(t.shown, "https://me:***@svc.example:8443/api");
        assert_eq!(redact("http://h/x"), "http://h/x");
        assert_eq!(redact("http://u@h/x"), "http://u@h/x");
    }
}
