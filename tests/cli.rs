//! End-to-end tests of the `scaletwin` binary.

use std::path::PathBuf;
use std::process::{Command, Output};

fn scaletwin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_scaletwin"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("binary runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn lint_amas_reports_the_cooldown_and_average_value_pitfalls() {
    for args in [vec!["lint"], vec!["lint", "models/amas/"]] {
        let o = scaletwin(&args);
        let (out, err) = text(&o);
        assert_eq!(
            o.status.code(),
            Some(0),
            "warnings only: {args:?}: {out}{err}"
        );
        let strict: Vec<&str> = args.iter().copied().chain(["--strict"]).collect();
        assert_eq!(
            scaletwin(&strict).status.code(),
            Some(1),
            "--strict fails on warnings"
        );
        let cooldown = out
            .lines()
            .find(|l| l.contains("ST001") && l.contains("orchestrator.yaml"))
            .expect("cooldown finding");
        assert!(
            cooldown.contains("cooldownPeriod 180s has no effect"),
            "{cooldown}"
        );
        let avg = out
            .lines()
            .find(|l| l.contains("ST002"))
            .expect("AverageValue finding");
        assert!(
            avg.contains("orchestrator.yaml") && avg.contains("p95_latency"),
            "{avg}"
        );
        assert!(out.contains("ScaledObject amas-prod/amas-orchestrator"));
        assert!(
            out.contains("3 ScaledObject(s), 0 HPA(s), 3 Deployment(s)"),
            "{out}"
        );
    }
}

#[test]
fn lint_exit_codes_follow_severity() {
    let d = tmp("exit");
    let clean = d.join("clean.yaml");
    std::fs::write(
        &clean,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  maxReplicaCount: 5\n  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n",
    )
    .unwrap();
    let o = scaletwin(&["lint", clean.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{:?}", text(&o));
    // Only a warning: passes by default, fails with --strict.
    let warn = d.join("warn.yaml");
    std::fs::write(
        &warn,
        "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  minReplicaCount: 1\n  maxReplicaCount: 5\n  cooldownPeriod: 60\n  triggers:\n    - type: redis\n      metadata:\n        listName: jobs\n",
    )
    .unwrap();
    assert_eq!(
        scaletwin(&["lint", warn.to_str().unwrap()]).status.code(),
        Some(0)
    );
    assert_eq!(
        scaletwin(&["lint", "--strict", warn.to_str().unwrap()])
            .status
            .code(),
        Some(1)
    );
    // Unreadable input: exit 2 with the file and line named.
    let bad = d.join("bad.yaml");
    std::fs::write(&bad, "apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata:\n  name: q\nspec:\n  scaleTargetRef:\n    name: q\n  cooldownPeriod: -5\n  triggers: []\n").unwrap();
    let o = scaletwin(&["lint", bad.to_str().unwrap()]);
    let (_, err) = text(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        err.contains("bad.yaml:8: spec.cooldownPeriod: must be >= 0 (found `-5`)"),
        "{err}"
    );
    let o = scaletwin(&["lint", d.join("missing.yaml").to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("cannot read"));
}

#[test]
fn lint_json_and_rule_list() {
    let o = scaletwin(&["lint", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON output");
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"ST001") && ids.contains(&"ST002"), "{ids:?}");
    let o = scaletwin(&["lint", "--list"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&o.stdout).lines().count(), 10);
}

#[test]
fn patch_prints_a_diff_and_writes_atomically() {
    let d = tmp("patch");
    let file = d.join("worker.yaml");
    std::fs::copy("models/amas/worker.yaml", &file).unwrap();
    let out = d.join("patched.yaml");
    let o = scaletwin(&[
        "patch",
        file.to_str().unwrap(),
        "--set",
        "spec.triggers[name=worker_jobs].metadata.listLength=10",
        "--set",
        "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds=120",
        "-o",
        out.to_str().unwrap(),
    ]);
    let (stdout, err) = text(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(
        stdout.contains("-        listLength: \"8\"\n+        listLength: \"10\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("+          stabilizationWindowSeconds: 120"),
        "{stdout}"
    );
    let patched = std::fs::read_to_string(&out).unwrap();
    assert!(patched.contains("listLength: \"10\""));
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        include_str!("../models/amas/worker.yaml"),
        "the input is untouched without --in-place"
    );
    // A patch that would make the object invalid is refused and nothing is written.
    let o = scaletwin(&[
        "patch",
        file.to_str().unwrap(),
        "--set",
        "spec.pollingInterval=-1",
        "--in-place",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        text(&o).1.contains("spec.pollingInterval"),
        "{:?}",
        text(&o)
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        include_str!("../models/amas/worker.yaml")
    );
    let o = scaletwin(&["patch", file.to_str().unwrap(), "--set", "nonsense"]);
    assert_eq!(o.status.code(), Some(2));
}
