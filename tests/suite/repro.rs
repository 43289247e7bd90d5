//! Regression tests for the defects found by fuzzing and by a first-time user: each input
//! (copied into tests/data/repro) ends in a right answer or a clear error.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/repro")
}

/// Run the binary in tests/data/repro within the bounds every input must end in: 60 s and
/// 1 GB of address space (the defects include runs that never end and files that ask for
/// tens of gigabytes).
fn scaletwin(args: &[&str]) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg("ulimit -v 1000000 && exec timeout 60 \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_scaletwin"))
        .args(args)
        .current_dir(data())
        .output()
        .expect("run scaletwin")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("scaletwin-repro-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn a_minimum_above_the_maximum_is_refused_naming_the_manifest_line() {
    let o = scaletwin(&[
        "simulate",
        "--model",
        "model_min_gt_max",
        "--duration",
        "600",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("model_min_gt_max/api.yaml:34: spec.minReplicaCount")
            && t.contains("minReplicaCount (50) is above maxReplicaCount (20)"),
        "{t}"
    );
    assert!(!t.contains("panicked"), "{t}");
    // The same through --set.
    let o = scaletwin(&[
        "simulate",
        "--model",
        "demo",
        "--duration",
        "600",
        "--set",
        "manifest.api.spec.minReplicaCount=50",
    ]);
    let t = text(&o);
    assert_eq!(o.status.code(), Some(2), "{t}");
    assert!(
        t.contains("minReplicaCount (50) is above maxReplicaCount"),
        "{t}"
    );
}

#[test]
fn a_sweep_that_samples_a_minimum_above_the_maximum_fails_those_configurations_only() {
    let out = out_dir("min-gt-max");
    let o = scaletwin(&[
        "tune",
        "tune_min_gt_max_random.yaml",
        "-o",
        out.to_str().unwrap(),
        "--threads",
        "1",
    ]);
    let t = text(&o);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{t}");
    assert!(t.contains("is above maxReplicaCount"), "{t}");
    // The analysis, with its failed configurations, reads back and the report is written.
    let a: scaletwin::tune::Analysis =
        serde_json::from_str(&std::fs::read_to_string(out.join("analysis.json")).unwrap()).unwrap();
    assert!(
        a.rows
            .iter()
            .any(|r| r.error.is_some() && r.violation.is_infinite()),
        "no failed configuration among {} rows",
        a.rows.len()
    );
    assert!(out.join("report.html").exists(), "{t}");
}

#[test]
fn a_testbed_time_scale_it_cannot_honour_is_refused_before_it_starts() {
    for scale in ["1e-20", "0", "-1", "1e9", "NaN"] {
        let flag = format!("--time-scale={scale}");
        let o = scaletwin(&[
            "testbed",
            "--model",
            "demo",
            &flag,
            "--duration",
            "5s",
            "--listen",
            "127.0.0.1:0",
        ]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "--time-scale {scale}: {t}");
        assert!(t.contains("--time-scale"), "{t}");
    }
}

#[test]
fn deep_nesting_and_alias_bombs_end_in_a_clear_error() {
    for (file, says) in [
        (
            "manifest_deep_seq_stackoverflow.yaml",
            "nest more than 256 levels",
        ),
        ("billion_laughs.yaml", "aliases here copy more than"),
    ] {
        let o = scaletwin(&["lint", file]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(t.contains(&format!("{file}:")) && t.contains(says), "{t}");
    }
}

#[test]
fn two_requests_years_apart_are_summarised_without_a_bin_per_second() {
    for (file, span) in [
        ("trace_req_widegap_oom.csv", "4000000000 s"),
        ("trace_req_1900_2023_oom.csv", "3881520000 s"),
    ] {
        let o = scaletwin(&["trace", "info", file]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(0), "{file}: {t}");
        for line in [
            span,
            "requests       2",
            "peak 1 s       1.00 req/s",
            "peak 1 min     0.02 req/s",
            "busiest hour   from +0 s: 1 requests",
        ] {
            assert!(t.contains(line), "{file}: no `{line}` in\n{t}");
        }
    }
}

#[test]
fn a_repeated_axis_or_seed_is_refused_before_the_first_evaluation() {
    for (file, field, says) in [
        ("tune_dup_axis.yaml", "axes[2].path", "is an axis already"),
        ("tune_seeds_dup.yaml", "seeds[1]", "seed 1 is listed twice"),
    ] {
        let out = out_dir(file);
        let o = scaletwin(&["tune", file, "-o", out.to_str().unwrap()]);
        let t = text(&o);
        assert_eq!(o.status.code(), Some(2), "{file}: {t}");
        assert!(
            t.contains(&format!("{file}: {field}: ")) && t.contains(says),
            "{t}"
        );
        assert!(
            !out.join("checkpoint.jsonl").exists(),
            "{file}: evaluations ran"
        );
    }
}

#[test]
fn a_file_ending_in_a_document_separator_is_valid() {
    for (file, objects) in [
        (
            "manifest_trailing_docsep_min.yaml",
            "0 ScaledObject(s), 0 HPA(s), 0 Deployment(s)",
        ),
        (
            "manifest_trailing_docsep_kedify.yaml",
            "4 ScaledObject(s), 0 HPA(s), 4 Deployment(s)",
        ),
    ] {
        let o = scaletwin(&["lint", file]);
        let t = text(&o);
        assert!(matches!(o.status.code(), Some(0 | 1)), "{file}: {t}");
        assert!(
            t.contains(objects) && t.contains("0 error(s)"),
            "{file}: {t}"
        );
    }
    // Comment-only and null documents between objects are skipped too.
    let mut set = scaletwin::manifest::ManifestSet::default();
    scaletwin::manifest::load_str(
        Path::new("x.yaml"),
        "---\n# only a comment\n---\n~\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n",
        &mut set,
    )
    .unwrap();
    assert_eq!(set.skipped.len(), 1, "{set:?}");
}
