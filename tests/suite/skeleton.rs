//! A model's structure read from manifests alone: the hand-written models' structure comes
//! back from their manifests (entry, queues and their consumers, what every trigger reads),
//! and what the manifests cannot say is listed as assumed.

use scaletwin::engine::model::{AutoscalerKind, Model};
use scaletwin::scenario::ModelSources;
use scaletwin::scenario::skeleton::{Skeleton, SkeletonOptions};
use std::collections::BTreeMap;
use std::path::PathBuf;

fn dir(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// What a model's structure is, whatever order its queues were declared in: its entry, its
/// queues (name, kind), each deployment's queues consumed and queues fed, and every
/// autoscaler's signals as compiled (queues by name).
fn structure(m: &Model) -> Vec<String> {
    let q = |i: &usize| m.queues[*i].name.clone();
    let mut out = vec![format!("entry {}", m.deployments[m.entry].name)];
    for queue in &m.queues {
        out.push(format!("queue {} {:?}", queue.name, queue.kind));
    }
    for d in &m.deployments {
        let mut consumes: Vec<String> = d.consumes.iter().map(q).collect();
        let mut feeds: Vec<String> = d.fan_out.iter().map(|f| q(&f.0)).collect();
        consumes.sort();
        feeds.sort();
        out.push(format!("{} consumes {consumes:?} feeds {feeds:?}", d.name));
    }
    for a in &m.autoscalers {
        let mut signals = match &a.kind {
            AutoscalerKind::Keda { signals, .. } => format!("{signals:?}"),
            AutoscalerKind::Hpa { signals, .. } => format!("{signals:?}"),
        };
        for (i, queue) in m.queues.iter().enumerate() {
            signals = signals.replace(
                &format!("queue: {i} }}"),
                &format!("queue: {} }}", queue.name),
            );
        }
        out.push(format!("{} {signals}", a.name));
    }
    out.sort();
    out
}

fn skeleton(rel: &str, concurrency: &[(&str, u32)]) -> (Skeleton, Model) {
    let o = SkeletonOptions {
        name: "read".into(),
        entry: None,
        concurrency: concurrency
            .iter()
            .map(|(d, k)| (d.to_string(), *k))
            .collect::<BTreeMap<_, _>>(),
    };
    let (sk, sources) = Skeleton::read_dir(&dir(rel), &o).unwrap();
    let m = sources
        .load()
        .unwrap_or_else(|e| panic!("{e}\n{}", sources.service.1));
    (sk, m.model)
}

#[test]
fn the_embedded_models_structure_is_read_back_from_its_manifests() {
    let hand = ModelSources::read_dir(&dir("models/amas"))
        .unwrap()
        .load()
        .unwrap();
    let (sk, read) = skeleton("models/amas", &[]);
    assert_eq!(structure(&read), structure(&hand.model));
    // What the manifests cannot say is listed, per deployment and for the model.
    let assumed: Vec<String> = sk
        .assumed
        .iter()
        .map(|a| format!("{}:{}", a.deployment.clone().unwrap_or_default(), a.field))
        .collect();
    for want in [
        "amas-worker:work.service_time",
        "amas-worker:serving.concurrency",
        "amas-orchestrator:fan_out[amas:tasks].count",
        ":scenario.workload",
        ":scenario.slo",
    ] {
        assert!(assumed.iter().any(|a| a == want), "{want} in {assumed:?}");
    }
}

#[test]
fn a_queue_worker_and_a_trigger_query_make_the_structure_of_a_small_service() {
    let (sk, read) = skeleton("tests/data/twin/truth-mix", &[("api", 8)]);
    let hand = ModelSources::read_dir(&dir("tests/data/twin/truth-mix"))
        .unwrap()
        .load()
        .unwrap();
    assert_eq!(structure(&read), structure(&hand.model));
    // The concurrency given is used; the worker's is assumed.
    assert_eq!(sk.service.deployments["api"].serving.concurrency, 8);
    assert!(
        sk.assumed
            .iter()
            .any(|a| a.deployment.as_deref() == Some("worker") && a.field == "serving.concurrency")
    );
    let text = sk.yaml("read from manifests").unwrap();
    assert!(
        text.starts_with("# read from manifests\n# Assumed, not read from the manifests:\n"),
        "{text}"
    );
}

#[test]
fn a_concurrency_annotation_is_read_and_a_bad_one_is_refused_naming_the_field() {
    let d = crate::common::fresh_dir("skeleton", "annotation");
    let manifest = |value: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: api\n  annotations:\n    scaletwin.dev/concurrency: \"{value}\"\nspec:\n  template:\n    spec:\n      containers: [{{name: api, image: x}}]\n---\napiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {{name: api}}\nspec:\n  scaleTargetRef: {{name: api}}\n  triggers:\n    - type: prometheus\n      name: rps\n      metadata: {{serverAddress: http://p:9090, query: 'sum(rate(http_requests_total[30s]))', threshold: '5'}}\n    - type: metrics-api\n      name: custom\n      metadata: {{url: http://x/m, valueLocation: v, targetValue: '3'}}\n"
        )
    };
    std::fs::write(d.join("api.yaml"), manifest("12")).unwrap();
    let (sk, sources) = Skeleton::read_dir(&d, &SkeletonOptions::default()).unwrap();
    assert_eq!(sk.service.deployments["api"].serving.concurrency, 12);
    assert_eq!(sk.service.entry, "api");
    // A trigger whose meaning cannot be read is bound to nothing that scales, and said.
    assert!(
        sk.assumed
            .iter()
            .any(|a| a.field == "bindings.api.custom" && a.why.contains("metrics-api")),
        "{:?}",
        sk.assumed
    );
    sources.load().unwrap();
    std::fs::write(d.join("api.yaml"), manifest("many")).unwrap();
    let e = Skeleton::read_dir(&d, &SkeletonOptions::default()).unwrap_err();
    assert!(
        e.contains("metadata.annotations[scaletwin.dev/concurrency]") && e.contains("whole number"),
        "{e}"
    );
    // No Deployment at all: said, naming the files.
    std::fs::write(
        d.join("api.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n",
    )
    .unwrap();
    let e = Skeleton::read_dir(&d, &SkeletonOptions::default()).unwrap_err();
    assert!(e.contains("no Deployment") && e.contains("api.yaml"), "{e}");
}
