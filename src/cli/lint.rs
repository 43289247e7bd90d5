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
    /// Also the structural findings of a run (a `simulate` output folder with outcome.json
    /// and decisions.jsonl) of the model given as the only path (or the embedded model).
    #[arg(long, value_name = "RUN")]
    pub with_run: Option<PathBuf>,
    /// With --with-run: the share of the run at maxReplicas that counts as capacity-bound.
    #[arg(long, default_value_t = 0.02, requires = "with_run")]
    pub max_share: f64,
    /// With --with-run: the reversals per hour that count as oscillation.
    #[arg(long, default_value_t = 2.0, requires = "with_run")]
    pub reversals_per_hour: f64,
}

/// The structural findings of `run`, a run of the model in `paths` (one model folder) or of
/// the embedded model; errors name the file and what to do.
fn run_findings(
    paths: &[PathBuf],
    run: &std::path::Path,
    limits: &lint::run::RunLimits,
) -> Result<lint::run::RunFindings, String> {
    use scaletwin::scenario::ModelSources;
    let sources = match paths {
        [] => scaletwin::scenario::embedded_amas(),
        [d] if d.join("service.yaml").is_file() => {
            ModelSources::read_dir(d).map_err(|e| e.to_string())?
        }
        _ => {
            return Err(
                "--with-run reads the model the run simulated: give its model folder (with service.yaml) as the only path, or no path for the embedded model".into(),
            );
        }
    };
    let loaded = sources.load().map_err(|e| e.to_string())?;
    scaletwin::report::run_findings(&loaded.model, &loaded.manifests, run, limits)
        .map_err(|e| e.to_string())
}

pub fn run(a: LintArgs) -> anyhow::Result<ExitCode> {
    let LintArgs {
        paths,
        strict,
        format,
        list,
        with_run,
        max_share,
        reversals_per_hour,
    } = a;

    if list {
        for (id, name, what) in lint::RULES.iter().chain(&lint::run::RUN_RULES) {
            println!("{id}  {name:<30} {what}");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let run = match &with_run {
        None => None,
        Some(r) => {
            if !(max_share.is_finite() && (0.0..=1.0).contains(&max_share)) {
                eprintln!("error: --max-share {max_share}: a share between 0 and 1, e.g. 0.02");
                return Ok(ExitCode::from(2));
            }
            if !(reversals_per_hour.is_finite() && reversals_per_hour > 0.0) {
                eprintln!("error: --reversals-per-hour {reversals_per_hour}: must be > 0");
                return Ok(ExitCode::from(2));
            }
            let limits = lint::run::RunLimits {
                max_share,
                reversals_per_hour,
            };
            match run_findings(&paths, r, &limits) {
                Ok(f) => Some(f),
                Err(e) => {
                    eprintln!("error: {e}");
                    return Ok(ExitCode::from(2));
                }
            }
        }
    };
    let set = if paths.is_empty() {
        scaletwin::models::default_manifests()
    } else {
        manifest::load_paths(&paths)
    };
    let set = match set {
        Ok(s) => s,
        Err(e) => return Ok(input_error(&e)),
    };
    let mut findings = lint::lint(&set);
    let deciding = run.as_ref().map(|r| r.deciding.clone()).unwrap_or_default();
    findings.extend(run.map(|r| r.findings).unwrap_or_default());
    match format {
        Format::Json if with_run.is_some() => println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({"findings": findings, "deciding": deciding})
            )?
        ),
        Format::Json => println!("{}", serde_json::to_string_pretty(&findings)?),
        Format::Text => {
            for f in &findings {
                println!("{f}");
            }
            if !deciding.is_empty() {
                println!("share of HPA syncs each trigger decided in the run:");
                for d in &deciding {
                    println!(
                        "  {:<24} {:<20} {:>5.1}%  ({} syncs)",
                        d.deployment,
                        d.trigger,
                        d.share * 100.0,
                        d.syncs
                    );
                }
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
