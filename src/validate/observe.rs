//! Observers: where `validate` reads the replica count the live autoscaler produced. An
//! observer is anything that implements [`Observe`]; this file holds the trait, what it
//! returns, and the Prometheus observer (the Kubernetes one is in `kube_observer`).

use super::ValidateError;
use crate::prom::{PromClient, Series};
use std::time::Duration;

/// A source of the live replica count.
pub trait Observe {
    /// Check that the observer sees deployment `dep` (before any load is sent) and start
    /// watching it.
    fn watch(&self, dep: &str) -> Result<Box<dyn Watching>, ValidateError>;
}

/// An observation in progress.
pub trait Watching: Send {
    /// Stop and return the observations of the run that started at `start_unix` and lasted
    /// `duration_s` on the wall clock, mapped to the model clock (`× time_scale`).
    fn finish(
        self: Box<Self>,
        start_unix: f64,
        duration_s: f64,
        time_scale: f64,
    ) -> Result<Observed, ValidateError>;
}

/// The replica count a Prometheus server holds for the deployment.
#[derive(Clone, Debug)]
pub struct PromObserver {
    pub url: String,
    /// The replica series; `{deployment}` and `{namespace}` are filled in. Default:
    /// kube-state-metrics' `kube_deployment_spec_replicas` for the deployment (and namespace).
    pub replicas_query: Option<String>,
    pub namespace: Option<String>,
}

impl PromObserver {
    /// The query for deployment `dep`.
    pub fn query(&self, dep: &str) -> String {
        let ns = self.namespace.clone().unwrap_or_default();
        match &self.replicas_query {
            Some(q) => q.replace("{deployment}", dep).replace("{namespace}", &ns),
            None if ns.is_empty() => {
                format!("kube_deployment_spec_replicas{{deployment=\"{dep}\"}}")
            }
            None => {
                format!("kube_deployment_spec_replicas{{namespace=\"{ns}\",deployment=\"{dep}\"}}")
            }
        }
    }
}

/// What was observed, on the model clock.
#[derive(Clone, Debug, Default)]
pub struct Observed {
    /// `prometheus <url> <query>` or `kubernetes <server> <namespace>/<deployment>`.
    pub source: String,
    /// `(model seconds from the start of the load, replicas)`, in time order.
    pub replicas: Vec<(f64, f64)>,
}

impl Observed {
    pub fn csv(&self) -> String {
        let mut s = String::from("t_s,replicas\n");
        for (t, r) in &self.replicas {
            s += &format!("{t:.3},{r}\n");
        }
        s
    }
}

/// A Prometheus observation: read back after the load.
pub struct PromWatch {
    client: PromClient,
    query: String,
    rt: tokio::runtime::Runtime,
}

/// The one series a replica query must return.
fn one_series(mut r: Vec<Series>, query: &str, url: &str, when: &str) -> Result<Series, String> {
    match r.len() {
        1 => Ok(r.remove(0)),
        0 => Err(format!(
            "Prometheus at {url}: `{query}` returned nothing {when}: is Prometheus scraping the service (kube-state-metrics, or the testbed's /metrics), and are the deployment and namespace labels right? Set --replicas-query to the series that holds the deployment's replicas"
        )),
        n => Err(format!(
            "Prometheus at {url}: `{query}` returned {n} series ({}, {}{}) {when}; it must return one: add label matchers (--namespace, or --replicas-query)",
            r[0].label_text(),
            r[1].label_text(),
            if n > 2 { ", ..." } else { "" }
        )),
    }
}

impl Observe for PromObserver {
    fn watch(&self, dep: &str) -> Result<Box<dyn Watching>, ValidateError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ValidateError::Observer(format!("starting the runtime: {e}")))?;
        let client = PromClient::new(&self.url, Duration::from_secs(10))
            .map_err(|e| ValidateError::Input(format!("--prometheus {}: {e}", self.url)))?;
        let query = self.query(dep);
        let r = rt
            .block_on(client.instant(&query, None))
            .map_err(|e| ValidateError::Observer(format!("{e}; no load was sent")))?;
        one_series(r, &query, client.base(), "before the load")
            .map_err(|e| ValidateError::Input(format!("{e}; no load was sent")))?;
        Ok(Box::new(PromWatch { client, query, rt }))
    }
}

impl Watching for PromWatch {
    fn finish(
        self: Box<Self>,
        start_unix: f64,
        duration_s: f64,
        time_scale: f64,
    ) -> Result<Observed, ValidateError> {
        let PromWatch { client, query, rt } = *self;
        let end = start_unix + duration_s;
        // A fine step: the series is a step function of scrapes.
        let step = (duration_s / 2000.0).clamp(0.05, 5.0);
        let r = rt
            .block_on(client.range(&query, start_unix, end, step))
            .map_err(|e| {
                ValidateError::Observer(format!("reading the replicas after the load: {e}"))
            })?;
        let s = one_series(r, &query, client.base(), "during the load")
            .map_err(ValidateError::Observer)?;
        let replicas = s
            .samples
            .iter()
            .filter(|(_, v)| v.is_finite())
            .map(|(t, v)| ((t - start_unix) * time_scale, *v))
            .collect();
        Ok(Observed {
            source: format!("prometheus {} {query}", client.base()),
            replicas,
        })
    }
}
