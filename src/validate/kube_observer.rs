//! The Kubernetes observer: the Deployment (and optionally the HPA) read and watched through
//! the API server with a kubeconfig, read-only (get, list, watch). Replicas are the
//! Deployment's `spec.replicas` as the HPA writes it; the HPA's `status.desiredReplicas`
//! is checked for access when an HPA is named.

use super::ValidateError;
use super::observe::{Observe, Observed, Watching};
use futures_util::StreamExt;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::autoscaling::v2::HorizontalPodAutoscaler;
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::runtime::watcher;
use kube::{Api, Client, Config};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, mpsc};
use tokio::sync::oneshot;

/// Where and what to watch.
#[derive(Clone, Debug, Default)]
pub struct KubeObserver {
    /// The kubeconfig file (default: `$KUBECONFIG`, else `~/.kube/config`).
    pub kubeconfig: Option<PathBuf>,
    pub context: Option<String>,
    /// Default: the context's namespace, else `default`.
    pub namespace: Option<String>,
    /// An HPA whose access is checked before the load (KEDA's is `keda-hpa-<name>`).
    pub hpa: Option<String>,
}

/// A watch in progress on its own thread.
pub struct KubeWatch {
    samples: Arc<Mutex<Vec<(f64, f64)>>>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<Result<(), String>>>,
    source: String,
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// A read error explained: who lacks what, or what is missing.
fn explain(e: kube::Error, what: &str, ns: &str, server: &str) -> String {
    match &e {
        kube::Error::Api(s) if s.is_forbidden() || s.code == 403 => format!(
            "the kubeconfig's user may not read {what} in namespace {ns} on {server} (403 Forbidden: {}); validate needs get, list and watch on deployments (and get on horizontalpodautoscalers)",
            s.message
        ),
        kube::Error::Api(s) if s.code == 401 => format!(
            "the API server {server} rejected the kubeconfig's credentials (401 Unauthorized: {}); log in again or choose another --context",
            s.message
        ),
        kube::Error::Api(s) if s.is_not_found() || s.code == 404 => format!(
            "{what} not found in namespace {ns} on {server}; check --namespace and the deployment name"
        ),
        _ => format!("reading {what} in namespace {ns} from {server}: {e}"),
    }
}

async fn connect(o: &KubeObserver) -> Result<(Client, String, String), String> {
    let path = o
        .kubeconfig
        .clone()
        .or_else(|| std::env::var_os("KUBECONFIG").map(PathBuf::from))
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".kube/config")))
        .ok_or("no kubeconfig: pass --kubeconfig")?;
    let kc = Kubeconfig::read_from(&path)
        .map_err(|e| format!("{}: cannot read the kubeconfig: {e}", path.display()))?;
    let opts = KubeConfigOptions {
        context: o.context.clone(),
        ..Default::default()
    };
    let config = Config::from_custom_kubeconfig(kc, &opts)
        .await
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let server = config.cluster_url.to_string();
    let ns = o
        .namespace
        .clone()
        .unwrap_or_else(|| config.default_namespace.clone());
    let client = Client::try_from(config)
        .map_err(|e| format!("{}: cannot build a client: {e}", path.display()))?;
    Ok((client, ns, server))
}

fn replicas(d: &Deployment) -> Option<f64> {
    d.spec.replicas.map(|r| r as f64)
}

impl KubeObserver {
    /// Check access (before any load) and start watching the deployment.
    pub fn start(&self, dep: &str) -> Result<KubeWatch, ValidateError> {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (ready_tx, ready_rx) = mpsc::channel::<Result<String, String>>();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let o = self.clone();
        let dep = dep.to_string();
        let s2 = samples.clone();
        let thread = std::thread::spawn(move || -> Result<(), String> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async move {
                let (client, ns, server) = match connect(&o).await {
                    Ok(c) => c,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e.clone()));
                        return Err(e);
                    }
                };
                let api: Api<Deployment> = Api::namespaced(client.clone(), &ns);
                let first = match api.get(&dep).await {
                    Ok(d) => d,
                    Err(e) => {
                        let m = explain(e, &format!("deployment {dep}"), &ns, &server);
                        let _ = ready_tx.send(Err(m.clone()));
                        return Err(m);
                    }
                };
                if let Some(h) = &o.hpa {
                    let hapi: Api<HorizontalPodAutoscaler> = Api::namespaced(client.clone(), &ns);
                    if let Err(e) = hapi.get(h).await {
                        let m = explain(e, &format!("horizontalpodautoscaler {h}"), &ns, &server);
                        let _ = ready_tx.send(Err(m.clone()));
                        return Err(m);
                    }
                }
                if let Some(r) = replicas(&first) {
                    s2.lock().unwrap_or_else(|e| e.into_inner()).push((unix_now(), r));
                }
                let cfg = watcher::Config::default().fields(&format!("metadata.name={dep}"));
                let mut stream = Box::pin(watcher(api, cfg));
                let _ = ready_tx.send(Ok(format!("kubernetes {server} {ns}/{dep}")));
                let mut stop_rx = stop_rx;
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => return Ok(()),
                        ev = stream.next() => match ev {
                            Some(Ok(watcher::Event::Apply(d) | watcher::Event::InitApply(d))) => {
                                if let Some(r) = replicas(&d) {
                                    s2.lock().unwrap_or_else(|e| e.into_inner()).push((unix_now(), r));
                                }
                            }
                            Some(Ok(_)) => {}
                            // The watcher retries by itself; a pause avoids spinning.
                            Some(Err(_)) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                            None => return Ok(()),
                        }
                    }
                }
            })
        });
        match ready_rx.recv() {
            Ok(Ok(source)) => Ok(KubeWatch {
                samples,
                stop: Some(stop_tx),
                thread: Some(thread),
                source,
            }),
            Ok(Err(e)) => Err(ValidateError::Observer(format!("{e}; no load was sent"))),
            Err(_) => {
                let e = match thread.join() {
                    Ok(Err(e)) => e,
                    _ => "the Kubernetes observer stopped unexpectedly".into(),
                };
                Err(ValidateError::Observer(format!("{e}; no load was sent")))
            }
        }
    }
}

impl KubeWatch {
    /// Stop watching; the samples on the model clock.
    pub fn finish(mut self, start_unix: f64, time_scale: f64) -> Result<Observed, ValidateError> {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        let raw = self
            .samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // The value before the load holds from its start.
        let mut replicas: Vec<(f64, f64)> = Vec::new();
        for (t, r) in raw {
            let m = ((t - start_unix) * time_scale).max(0.0);
            replicas.push((m, r));
        }
        replicas.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Observed {
            source: self.source.clone(),
            replicas,
        })
    }
}

impl Observe for KubeObserver {
    fn watch(&self, dep: &str) -> Result<Box<dyn Watching>, ValidateError> {
        Ok(Box::new(self.start(dep)?))
    }
}

impl Watching for KubeWatch {
    fn finish(
        self: Box<Self>,
        start_unix: f64,
        _duration_s: f64,
        time_scale: f64,
    ) -> Result<Observed, ValidateError> {
        KubeWatch::finish(*self, start_unix, time_scale)
    }
}
