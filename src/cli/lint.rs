//! `scaletwin lint`: autoscaling pitfalls in manifests.

use super::input_error;
use clap::ValueEnum;
use scaletwin::lint::{self, Severity};
use scaletwin::manifest;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct LintArgs {
    /// Manifest files or folders (read recursively). Empty: the embedded AMAS model.
    pub paths: Vec<PathBuf>,
    /// Warnings fail the lint too (exit 1).
    #[arg(long)]
    pub strict: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// List the rules and exit.
    #[arg(long)]
    pub list: bool,
}

pub fn run(a: LintArgs) -> anyhow::Result<ExitCode> {
    let LintArgs {
        paths,
        strict,
        format,
        list,
    } = a;

    if list {
        for (id, name, what) in lint::RULES {
            println!("{id}  {name:<30} {what}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let set = if paths.is_empty() {
        scaletwin::models::default_manifests()
    } else {
        manifest::load_paths(&paths)
    };
    let set = match set {
        Ok(s) => s,
        Err(e) => return Ok(input_error(&e)),
    };
    let findings = lint::lint(&set);
    match format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        Format::Text => {
            for f in &findings {
                println!("{f}");
            }
            let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
            println!(
                "lint: {} file(s), {} ScaledObject(s), {} HPA(s), {} Deployment(s): {} error(s), {} warning(s), {} info",
                set.files.len(),
                set.scaled_objects.len(),
                set.hpas.len(),
                set.deployments.len(),
                count(Severity::Error),
                count(Severity::Warning),
                count(Severity::Info)
            );
        }
    }
    let threshold = if strict {
        Severity::Warning
    } else {
        Severity::Error
    };
    Ok(if findings.iter().any(|f| f.severity >= threshold) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
