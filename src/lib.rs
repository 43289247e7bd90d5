//! scaletwin: a simulation and policy-tuning engine for Kubernetes autoscaling.
//!
//! The crate is organised along the flow a tuning run follows:
//!
//! * [`time`]: integer simulation time ([`time::SimTime`], [`time::SimDuration`]);
//! * [`policy`]: the pure scaling math. [`policy::hpa`] is the HorizontalPodAutoscaler
//!   (replica calculator, normalization, one whole reconcile returning a
//!   [`policy::hpa::SyncDecision`] that says why), [`policy::keda`] the KEDA operator
//!   (ScaledObject -> HPA, the poll loop, fallback, scaling modifiers);
//! * [`manifest`]: Kubernetes YAML in (errors name file, line and field) and out (patches that
//!   keep every other byte);
//! * [`lint`]: tuning pitfalls found in real manifests;
//! * [`models`]: the embedded default model (AMAS).
//!
//! # Example: what will the HPA that KEDA creates do?
//!
//! ```
//! use scaletwin::manifest::{ManifestSet, load_str};
//! use scaletwin::policy::hpa::{self, ControllerConfig, HpaState, MetricsApi, ScaleInfo};
//! use scaletwin::time::SimTime;
//! use std::path::Path;
//!
//! let yaml = r#"
//! apiVersion: keda.sh/v1alpha1
//! kind: ScaledObject
//! metadata: {name: worker, namespace: jobs}
//! spec:
//!   scaleTargetRef: {name: worker}
//!   maxReplicaCount: 20
//!   triggers:
//!     - type: redis
//!       metadata: {listName: jobs, listLength: "5"}
//! "#;
//! let mut set = ManifestSet::default();
//! load_str(Path::new("worker.yaml"), yaml, &mut set).unwrap();
//! let hpa_spec = set.scaled_objects[0].spec.to_hpa();
//!
//! // The external metrics API answers LLEN = 23 for the generated metric.
//! struct Redis;
//! impl MetricsApi for Redis {
//!     fn pods(&mut self) -> Vec<hpa::PodInfo> { Vec::new() }
//!     fn resource_metrics(&mut self, _: &str) -> Result<Vec<hpa::ResourceSample>, String> { Err("n/a".into()) }
//!     fn pods_metric(&mut self, _: &str) -> Result<Vec<hpa::PodMetricSample>, String> { Err("n/a".into()) }
//!     fn object_metric(&mut self, _: &str, _: &hpa::ObjectRef) -> Result<i64, String> { Err("n/a".into()) }
//!     fn external_metric(&mut self, _: &str) -> Result<Vec<i64>, String> { Ok(vec![23_000]) }
//! }
//!
//! let mut state = HpaState::default();
//! let mut write = |_: i32| Ok(());
//! let d = hpa::reconcile(&hpa_spec, &mut state, ScaleInfo { spec_replicas: 3, status_replicas: 3 },
//!                        &mut Redis, &ControllerConfig::default(), SimTime::from_secs(0), &mut write);
//! assert_eq!(d.desired, 5); // ceil(23 / 5)
//! println!("{}", d.explain());
//! ```

// Manifest errors carry file, line, field, value and hint by value; they are rare and built
// once, so their size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod cluster;
pub mod engine;
pub mod io;
pub mod lint;
pub mod loadtest;
pub mod manifest;
pub mod models;
pub mod policy;
pub mod prom;
pub mod report;
pub mod scenario;
pub mod testbed;
pub mod time;
pub mod trace;
pub mod tune;
pub mod twin;
pub mod validate;
