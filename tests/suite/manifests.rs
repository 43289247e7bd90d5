//! Reading real manifests, rejecting bad ones clearly, and patching them byte-for-byte.

use scaletwin::manifest::{
    self, ErrorKind, ManifestSet, Patch, PatchValue, apply_patches, load_str, unified_diff,
};
use scaletwin::policy::hpa::{MetricSpec, MetricTarget, PolicyType, SelectPolicy};
use scaletwin::policy::keda::{Scaler, StreamMode};
use scaletwin::time::SimDuration;
use std::path::{Path, PathBuf};

fn amas() -> ManifestSet {
    manifest::load_paths(&[PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("models/amas")])
        .expect("AMAS model reads")
}

#[test]
fn amas_model_reads_with_every_setting() {
    let set = amas();
    assert_eq!(set.files.len(), 4, "three manifests and service.yaml");
    assert_eq!(set.deployments.len(), 3);
    assert_eq!(set.scaled_objects.len(), 3);
    let skipped: Vec<_> = set.skipped.iter().map(|s| s.kind.as_str()).collect();
    assert!(
        skipped.contains(&"Service") && skipped.contains(&"ConfigMap"),
        "{skipped:?}"
    );

    let orch = set
        .scaled_objects
        .iter()
        .find(|s| s.spec.name == "amas-orchestrator")
        .unwrap();
    let s = &orch.spec;
    assert_eq!(s.namespace, "amas-prod");
    assert_eq!((s.min_replica_count, s.max_replica_count), (2, 50));
    assert_eq!(s.polling_interval, SimDuration::from_secs(15));
    assert_eq!(s.cooldown_period, SimDuration::from_secs(180));
    assert_eq!(s.triggers.len(), 5);
    let b = s.behavior.as_ref().unwrap();
    let up = b.resolved_scale_up();
    assert_eq!(up.stabilization_window, SimDuration::from_secs(60));
    assert_eq!(up.select_policy, SelectPolicy::Max);
    assert_eq!(
        up.policies
            .iter()
            .map(|p| (p.kind, p.value, p.period_seconds))
            .collect::<Vec<_>>(),
        vec![(PolicyType::Percent, 100, 60), (PolicyType::Pods, 5, 60)]
    );
    let down = b.scale_down.as_ref().unwrap();
    assert_eq!(down.stabilization_window_seconds, Some(300));
    assert_eq!(down.select_policy, Some(SelectPolicy::Min));
    let hpa = s.to_hpa();
    assert_eq!(hpa.min_replicas, 2);
    assert_eq!(hpa.metrics.len(), 5);
    assert!(hpa.metrics.contains(&MetricSpec::External {
        metric: "s0-prometheus".into(),
        target: MetricTarget::AverageValue(15_000)
    }));
    assert!(hpa.metrics.contains(&MetricSpec::External {
        metric: "s1-redis-amas-agent-queue".into(),
        target: MetricTarget::AverageValue(25_000)
    }));
    assert!(hpa.metrics.contains(&MetricSpec::Resource {
        resource: "cpu".into(),
        target: MetricTarget::Utilization(70)
    }));
    assert!(hpa.metrics.contains(&MetricSpec::Resource {
        resource: "memory".into(),
        target: MetricTarget::Utilization(80)
    }));

    let worker = set
        .scaled_objects
        .iter()
        .find(|s| s.spec.name == "amas-worker")
        .unwrap();
    assert!(
        matches!(worker.spec.triggers[1].scaler, Scaler::RedisStreams { mode: StreamMode::PendingEntries, target, .. } if target == 5.0)
    );
    assert_eq!(
        (
            worker.spec.min_replica_count,
            worker.spec.max_replica_count,
            worker.spec.polling_interval.as_secs()
        ),
        (1, 20, 10)
    );
    let research = set
        .scaled_objects
        .iter()
        .find(|s| s.spec.name == "amas-research-agent")
        .unwrap();
    assert_eq!(research.spec.triggers[1].target(), 1000.0);

    let d = set.deployment("amas-prod", "amas-orchestrator").unwrap();
    assert_eq!(d.cpu_request_milli(), Some(500));
    assert_eq!(
        d.containers[0].memory_request_milli,
        Some(512 * 1024 * 1024 * 1000)
    );
    assert_eq!(
        d.readiness()
            .map(|r| (r.initial_delay_seconds, r.period_seconds)),
        Some((10, 5))
    );
    assert_eq!(d.termination_grace_period_seconds, 30);
    assert_eq!(d.replicas, Some(2));
}

#[test]
fn embedded_default_is_the_amas_folder() {
    let embedded = scaletwin::models::default_manifests().unwrap();
    let disk = amas();
    assert_eq!(
        embedded
            .scaled_objects
            .iter()
            .map(|s| &s.spec)
            .collect::<Vec<_>>(),
        disk.scaled_objects
            .iter()
            .map(|s| &s.spec)
            .collect::<Vec<_>>()
    );
}

fn so_with(spec_body: &str) -> String {
    format!(
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: w\n  namespace: ns\nspec:\n{spec_body}"
    )
}

const TRIGGERS: &str = "  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n        listLength: \"8\"\n";

fn read_err(text: &str) -> manifest::ManifestError {
    let mut set = ManifestSet::default();
    load_str(Path::new("bad.yaml"), text, &mut set).expect_err("must be rejected")
}

#[test]
fn bad_input_is_rejected_with_file_line_field_and_fix() {
    let target = "  scaleTargetRef:\n    name: w\n";
    // (text, kind, line, field fragment, message fragment)
    let cases: Vec<(String, ErrorKind, usize, &str, &str)> = vec![
        ("a: [1, 2\nb: 3\n".into(), ErrorKind::Syntax, 0, "", "YAML syntax error"),
        (
            "apiVersion: keda.k8s.io/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: w\nspec:\n  scaleTargetRef:\n    deploymentName: w\n".into(),
            ErrorKind::ApiVersion,
            1,
            "apiVersion",
            "not supported",
        ),
        (so_with(&format!("{target}  pollingInterval: fast\n{TRIGGERS}")), ErrorKind::Schema, 9, "spec.pollingInterval", "whole number"),
        (so_with(&format!("{target}  cooldownPeriod: -30\n{TRIGGERS}")), ErrorKind::Schema, 9, "spec.cooldownPeriod", "must be >= 0"),
        (so_with(&format!("{target}  maxReplicaCount: 99999999999\n{TRIGGERS}")), ErrorKind::Schema, 9, "spec.maxReplicaCount", "must be"),
        (so_with(&format!("{target}  pollingInterval: 0\n{TRIGGERS}")), ErrorKind::Schema, 9, "spec.pollingInterval", "must be >= 1"),
        (so_with(TRIGGERS), ErrorKind::Schema, 7, "spec.scaleTargetRef", "required"),
        (so_with(&format!("{target}  cooldownPeriods: 30\n{TRIGGERS}")), ErrorKind::Schema, 9, "spec.cooldownPeriods", "unknown field"),
        (so_with(&format!("{target}  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n        listLength: lots\n")), ErrorKind::Schema, 13, "spec.triggers[0].metadata.listLength", "expected a number"),
        (so_with(&format!("{target}  triggers:\n    type: redis\n")), ErrorKind::Schema, 10, "spec.triggers", "expected a list"),
        (so_with(&format!("{target}  triggers:\n    - type: cpu\n      metadata:\n        value: \"70\"\n")), ErrorKind::Schema, 10, "spec.triggers[0].metricType", "required"),
        (
            so_with(&format!("{target}  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleDown:\n          stabilizationWindowSeconds: 7200\n{TRIGGERS}")),
            ErrorKind::Schema,
            13,
            "behavior.scaleDown.stabilizationWindowSeconds",
            "between 0 and 3600",
        ),
        (
            so_with(&format!("{target}  advanced:\n    horizontalPodAutoscalerConfig:\n      behavior:\n        scaleUp:\n          policies:\n            - type: Pods\n              value: 4\n              periodSeconds: 0\n{TRIGGERS}")),
            ErrorKind::Schema,
            16,
            "policies[0].periodSeconds",
            "between 1 and 1800",
        ),
        (
            so_with(&format!("{target}  advanced:\n    scalingModifiers:\n      formula: \"a + b\"\n      target: \"2\"\n  triggers:\n    - type: redis\n      name: a\n      metadata:\n        listName: jobs\n")),
            ErrorKind::Schema,
            11,
            "scalingModifiers.formula",
            "`b`",
        ),
        (
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  template:\n    spec:\n      containers:\n        - name: c\n          resources:\n            requests:\n              cpu: 5Xi\n".into(),
            ErrorKind::Schema,
            12,
            "resources.requests.cpu",
            "unknown suffix",
        ),
        (
            "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: h\nspec:\n  scaleTargetRef:\n    name: d\n".into(),
            ErrorKind::Schema,
            6,
            "spec.maxReplicas",
            "required",
        ),
        ("- just\n- a list\n".into(), ErrorKind::Schema, 1, "(document)", "expected a mapping"),
        ("kind: Deployment\nmetadata:\n  name: x\n".into(), ErrorKind::Schema, 1, "apiVersion", "required"),
    ];
    for (text, kind, line, field, msg) in cases {
        let e = read_err(&text);
        let shown = e.to_string();
        assert_eq!(e.kind, kind, "{shown}\n--- input ---\n{text}");
        if line > 0 {
            assert_eq!(e.line, line, "{shown}\n--- input ---\n{text}");
        } else {
            assert!(e.line > 0, "{shown}");
        }
        assert!(shown.starts_with("bad.yaml:"), "{shown}");
        assert!(shown.contains(field), "field `{field}` not in: {shown}");
        assert!(shown.contains(msg), "`{msg}` not in: {shown}");
        assert!(e.hint.is_some() || kind == ErrorKind::Schema, "{shown}");
    }
    // The unknown-field error suggests the right spelling; the KEDA v1 error says how to migrate.
    assert!(
        read_err(&so_with(&format!(
            "{target}  cooldownPeriods: 30\n{TRIGGERS}"
        )))
        .to_string()
        .contains("did you mean `cooldownPeriod`")
    );
    let v1 =
        read_err("apiVersion: keda.k8s.io/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: w\n")
            .to_string();
    assert!(v1.contains("keda.sh/v1alpha1"), "{v1}");
}

#[test]
fn unmodeled_trigger_is_a_warning_not_an_error() {
    let text = so_with(
        "  scaleTargetRef:\n    name: w\n  triggers:\n    - type: kafka\n      metadata:\n        topic: t\n        lagThreshold: \"50\"\n        activationLagThreshold: \"3\"\n",
    );
    let mut set = ManifestSet::default();
    load_str(Path::new("k.yaml"), &text, &mut set).unwrap();
    assert_eq!(set.warnings.len(), 1);
    assert!(
        set.warnings[0].to_string().contains("kafka"),
        "{}",
        set.warnings[0]
    );
    let t = &set.scaled_objects[0].spec.triggers[0];
    assert!(
        matches!(&t.scaler, Scaler::Generic { type_name, target, activation } if type_name == "kafka" && *target == 50.0 && *activation == 3.0)
    );
    let findings = scaletwin::lint::lint(&set);
    assert!(findings.iter().any(|f| f.id == "ST009"));
}

#[test]
fn mangled_manifests_never_panic() {
    let text = include_str!("../../models/amas/orchestrator.yaml");
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut rejected = 0;
    for k in (0..chars.len()).step_by(5) {
        let (at, c) = chars[k];
        let mut mangled = String::with_capacity(text.len());
        mangled.push_str(&text[..at]);
        mangled.push_str(&text[at + c.len_utf8()..]);
        let mut set = ManifestSet::default();
        if load_str(Path::new("m.yaml"), &mangled, &mut set).is_err() {
            rejected += 1;
        }
        // Replacing a character with a quote or a colon must not panic either.
        for r in ['"', ':', '-', '{'] {
            let mut m2 = String::with_capacity(text.len());
            m2.push_str(&text[..at]);
            m2.push(r);
            m2.push_str(&text[at + c.len_utf8()..]);
            let _ = load_str(Path::new("m.yaml"), &m2, &mut ManifestSet::default());
        }
    }
    assert!(
        rejected > 10,
        "only {rejected} mangled variants were rejected"
    );
}

fn worker_text() -> &'static str {
    include_str!("../../models/amas/worker.yaml")
}

fn worker_so_doc() -> usize {
    let mut set = ManifestSet::default();
    load_str(Path::new("w.yaml"), worker_text(), &mut set).unwrap();
    set.scaled_objects[0].source.doc
}

fn changed_lines(a: &str, b: &str) -> (Vec<String>, Vec<String>) {
    let d = unified_diff("a", "b", a, b);
    let minus = d
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .map(|l| l[1..].to_string())
        .collect();
    let plus = d
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .map(|l| l[1..].to_string())
        .collect();
    (minus, plus)
}

#[test]
fn patching_nothing_gives_identical_bytes() {
    let t = worker_text();
    assert_eq!(apply_patches(Path::new("w.yaml"), t, &[]).unwrap(), t);
    // Setting a value to what it already is changes nothing either.
    let p = Patch {
        doc: worker_so_doc(),
        path: "spec.cooldownPeriod".into(),
        value: PatchValue::scalar(120),
    };
    assert_eq!(apply_patches(Path::new("w.yaml"), t, &[p]).unwrap(), t);
}

#[test]
fn patching_one_threshold_changes_one_line_and_keeps_its_quotes() {
    let t = worker_text();
    let p = Patch {
        doc: worker_so_doc(),
        path: "spec.triggers[name=worker_jobs].metadata.listLength".into(),
        value: PatchValue::scalar(12),
    };
    let new = apply_patches(Path::new("w.yaml"), t, &[p]).unwrap();
    let (minus, plus) = changed_lines(t, &new);
    assert_eq!(minus, vec!["        listLength: \"8\"".to_string()]);
    assert_eq!(plus, vec!["        listLength: \"12\"".to_string()]);
    assert_eq!(new.lines().count(), t.lines().count());
    let mut set = ManifestSet::default();
    load_str(Path::new("w.yaml"), &new, &mut set).unwrap();
    assert_eq!(set.scaled_objects[0].spec.triggers[0].target(), 12.0);
    // By index, a plain value stays plain.
    let p = Patch {
        doc: worker_so_doc(),
        path: "spec.maxReplicaCount".into(),
        value: PatchValue::scalar(30),
    };
    let new = apply_patches(Path::new("w.yaml"), t, &[p]).unwrap();
    assert_eq!(
        changed_lines(t, &new),
        (
            vec!["  maxReplicaCount: 20".into()],
            vec!["  maxReplicaCount: 30".into()]
        )
    );
}

#[test]
fn adding_a_missing_behavior_block_inserts_it_indented() {
    let t = worker_text();
    let doc = worker_so_doc();
    let patches = vec![
        Patch {
            doc,
            path: "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds".into(),
            value: PatchValue::scalar(120),
        },
        Patch {
            doc,
            path: "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies".into(),
            value: PatchValue::Seq(vec![PatchValue::Map(vec![
                ("type".into(), PatchValue::scalar("Pods")),
                ("value".into(), PatchValue::scalar(2)),
                ("periodSeconds".into(), PatchValue::scalar(60)),
            ])]),
        },
    ];
    let new = apply_patches(Path::new("w.yaml"), t, &patches).unwrap();
    let (minus, plus) = changed_lines(t, &new);
    assert!(minus.is_empty(), "only additions: {minus:?}");
    assert_eq!(
        plus,
        vec![
            "  advanced:",
            "    horizontalPodAutoscalerConfig:",
            "      behavior:",
            "        scaleDown:",
            "          stabilizationWindowSeconds: 120",
            "          policies:",
            "            - type: Pods",
            "              value: 2",
            "              periodSeconds: 60",
        ]
    );
    let mut set = ManifestSet::default();
    load_str(Path::new("w.yaml"), &new, &mut set).unwrap();
    let b = set.scaled_objects[0].spec.behavior.clone().unwrap();
    let down = b.scale_down.unwrap();
    assert_eq!(down.stabilization_window_seconds, Some(120));
    assert_eq!(down.policies.unwrap()[0].value, 2);
    // Every original line survives, in order.
    let mut it = new.lines();
    for line in t.lines() {
        assert!(it.any(|l| l == line), "lost line {line:?}");
    }
}

#[test]
fn patching_existing_nested_values_and_bad_paths() {
    let t = include_str!("../../models/amas/orchestrator.yaml");
    let mut set = ManifestSet::default();
    load_str(Path::new("o.yaml"), t, &mut set).unwrap();
    let doc = set.scaled_objects[0].source.doc;
    let p = Patch {
        doc,
        path: "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.policies[1].value"
            .into(),
        value: PatchValue::scalar(4),
    };
    let new = apply_patches(Path::new("o.yaml"), t, &[p]).unwrap();
    let (minus, plus) = changed_lines(t, &new);
    assert_eq!((minus.len(), plus.len()), (1, 1));
    assert_eq!(plus[0].trim(), "value: 4");
    for bad in [
        "spec.triggers[9].metadata.threshold",
        "spec.triggers[name=nope].metadata.threshold",
        "spec.minReplicaCount.deeper",
    ] {
        let p = Patch {
            doc,
            path: bad.into(),
            value: PatchValue::scalar(1),
        };
        let e = apply_patches(Path::new("o.yaml"), t, &[p]).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Patch, "{e}");
        assert!(e.to_string().contains(bad), "{e}");
    }
    let flow = "a: {b: 1}\n";
    let e = apply_patches(
        Path::new("f.yaml"),
        flow,
        &[Patch {
            doc: 0,
            path: "a.c".into(),
            value: PatchValue::scalar(2),
        }],
    )
    .unwrap_err();
    assert!(e.to_string().contains("flow mapping"), "{e}");
    let crlf = "spec:\r\n  x: 1\r\n";
    let out = apply_patches(
        Path::new("c.yaml"),
        crlf,
        &[Patch {
            doc: 0,
            path: "spec.y".into(),
            value: PatchValue::scalar(2),
        }],
    )
    .unwrap();
    assert_eq!(out, "spec:\r\n  x: 1\r\n  y: 2\r\n");
}
