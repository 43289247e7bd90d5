//! Structural findings from a run: a trigger on a queue its deployment does not consume, a
//! deployment held at its maximum, the share of syncs each trigger decided.

use scaletwin::lint::run::{RunLimits, lint_run};
use scaletwin::scenario::ModelSources;

use crate::common;

const WORKER_SCALER: &str = "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: worker}\nspec:\n  scaleTargetRef: {name: worker}\n  minReplicaCount: 1\n  maxReplicaCount: 2\n  triggers:\n    - type: redis\n      name: jobs\n      metadata: {address: redis:6379, listName: jobs, listLength: '5'}\n";

#[test]
fn a_trigger_on_a_queue_another_deployment_consumes_and_a_capped_consumer_are_named() {
    let d = common::fresh_dir("findings", "pipeline");
    common::write_pipeline_model(&d, 7200, 10_000.0, Some(common::FRONT_SCALER));
    std::fs::write(d.join("worker-scaler.yaml"), WORKER_SCALER).unwrap();
    let loaded = ModelSources::read_dir(&d).unwrap().load().unwrap();
    let cfg = scaletwin::engine::RunConfig {
        record_decisions: true,
        ..loaded.scenario.run_config(1)
    };
    let o = scaletwin::engine::run(&loaded.model, &loaded.scenario.workload, cfg);
    let r = lint_run(
        &loaded.model,
        &loaded.manifests,
        &o,
        &o.decisions,
        &RunLimits::default(),
    );
    let ids: Vec<(&str, &str)> = r
        .findings
        .iter()
        .map(|f| (f.id, f.objects[0].name.as_str()))
        .collect();
    // front scales on `jobs`, which only the worker drains.
    let rn1 = r.findings.iter().find(|f| f.id == "RN001").expect("RN001");
    assert_eq!(rn1.objects[0].name, "front", "{ids:?}");
    assert!(
        rn1.summary.contains("queue jobs (trigger backlog)") && rn1.summary.contains("worker does"),
        "{}",
        rn1.summary
    );
    assert!(rn1.objects[0].file.ends_with("front-scaler.yaml"));
    // The worker needs 2.5 busy servers on average and may have 2: capped all run.
    let rn2 = r
        .findings
        .iter()
        .find(|f| f.id == "RN002" && f.objects[0].name == "worker")
        .unwrap_or_else(|| panic!("RN002 for worker: {ids:?}"));
    assert!(
        rn2.summary.contains("maximum of 2 replicas"),
        "{}",
        rn2.summary
    );
    // The worker's own trigger reads the queue it consumes: no RN001 for it.
    assert!(
        !r.findings
            .iter()
            .any(|f| f.id == "RN001" && f.objects[0].name == "worker")
    );
    // The shares of each autoscaler's syncs add up to one.
    for a in ["front", "worker"] {
        let sum: f64 = r
            .deciding
            .iter()
            .filter(|d| d.autoscaler == a)
            .map(|d| d.share)
            .sum();
        assert!((sum - 1.0).abs() < 1e-9, "{a}: {sum} {:?}", r.deciding);
    }
    // With the model's consumer changed to front, the finding goes.
    let text = std::fs::read_to_string(d.join("service.yaml")).unwrap();
    std::fs::write(
        d.join("service.yaml"),
        text.replace(
            "  worker:\n    consumes: [jobs]",
            "  worker:\n    consumes: []",
        )
        .replace("  front:\n", "  front:\n    consumes: [jobs]\n"),
    )
    .unwrap();
    {
        let l = ModelSources::read_dir(&d).unwrap().load().unwrap();
        let r = lint_run(
            &l.model,
            &l.manifests,
            &o,
            &o.decisions,
            &RunLimits::default(),
        );
        assert!(
            !r.findings
                .iter()
                .any(|f| f.id == "RN001" && f.objects[0].name == "front")
        );
    }
}

#[test]
fn lint_with_run_reads_a_simulate_folder_and_refuses_a_run_of_another_model() {
    let d = common::fresh_dir("findings", "cli");
    let model = d.join("model");
    common::write_pipeline_model(&model, 3600, 10_000.0, Some(common::FRONT_SCALER));
    let run = d.join("run");
    let bin = env!("CARGO_BIN_EXE_scaletwin");
    let st = std::process::Command::new(bin)
        .args(["simulate", "--model"])
        .arg(&model)
        .arg("-o")
        .arg(&run)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let out = std::process::Command::new(bin)
        .arg("lint")
        .arg(&model)
        .arg("--with-run")
        .arg(&run)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("warning[RN001 trigger-on-unconsumed-queue] front scales on queue jobs"),
        "{text}"
    );
    assert!(
        text.contains("share of HPA syncs each trigger decided"),
        "{text}"
    );
    // The embedded model's run is not this one's.
    let out = std::process::Command::new(bin)
        .arg("lint")
        .arg("--with-run")
        .arg(&run)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("a run of model pipeline, not of amas"), "{e}");
}
