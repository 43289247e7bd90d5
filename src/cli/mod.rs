//! The subcommands, one module each: their arguments, then parse -> scenario -> library
//! call -> exit code. Helpers two or more of them share are here.

pub mod lint;
pub mod loadtest;
pub mod patch;
pub mod simulate;
pub mod testbed;
pub mod trace;
pub mod tune;
pub mod twin;
pub mod validate;

use scaletwin::manifest::ManifestError;
use std::process::ExitCode;

/// When simulated and observed (or recorded) agree: `validate` and `backtest`.
#[derive(clap::Args)]
pub struct AgreementArgs {
    /// Agreement needs at least this share of HPA sync ticks with simulated and reference
    /// replicas within one pod.
    #[arg(long, default_value_t = 0.9)]
    pub min_tick_agreement: f64,
    /// Allowed relative p95 error (0.25: ±25 %), per window (and for validate's whole run).
    #[arg(long, default_value_t = 0.25)]
    pub p95_tolerance: f64,
    /// Share of SLO windows whose p95 must be within the tolerance.
    #[arg(long, default_value_t = 0.75)]
    pub min_window_agreement: f64,
}

impl AgreementArgs {
    pub fn thresholds(&self) -> scaletwin::validate::Thresholds {
        scaletwin::validate::Thresholds {
            ticks_within_one: self.min_tick_agreement,
            p95_tolerance: self.p95_tolerance,
            windows_within: self.min_window_agreement,
            ..Default::default()
        }
    }
}

pub fn usage(msg: String) -> anyhow::Result<ExitCode> {
    eprintln!("error: {msg}");
    Ok(ExitCode::from(2))
}

/// A library error that knows its exit code (2 bad input, 3 a failure at run time): print
/// it and end with that code.
pub fn failed(e: &dyn std::fmt::Display, code: u8) -> anyhow::Result<ExitCode> {
    eprintln!("error: {e}");
    Ok(ExitCode::from(code))
}

pub fn input_error(e: &ManifestError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// Split `FIELD=VALUE` at the first `=` outside `[...]` (selectors like `[name=x]` hold one).
pub fn split_assignment(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0i32;
    for (i, c) in s.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            '=' if depth == 0 => return Some((&s[..i], &s[i + 1..])),
            _ => {}
        }
    }
    None
}

/// A model folder (default: the embedded AMAS model), its manifests optionally replaced by
/// another folder's, with `--set` overrides applied; errors are usage errors.
pub fn open_model(
    model: Option<&std::path::Path>,
    manifests: Option<&std::path::Path>,
    sets: &[String],
) -> Result<scaletwin::scenario::LoadedModel, String> {
    use scaletwin::scenario;
    let mut sources = match model {
        Some(dir) => scenario::ModelSources::read_dir(dir).map_err(|e| e.to_string())?,
        None => scenario::embedded_amas(),
    };
    if let Some(dir) = manifests {
        sources = sources.with_manifests(dir).map_err(|e| e.to_string())?;
    }
    let mut pairs = Vec::new();
    for s in sets {
        match split_assignment(s) {
            Some((k, v)) => pairs.push((k.trim().to_string(), v.trim().to_string())),
            None => {
                return Err(format!(
                    "--set {s}: expected PATH=VALUE, e.g. model.deployments.amas-worker.serving.concurrency=8"
                ));
            }
        }
    }
    scenario::ParsedModel::parse(&sources)
        .and_then(|m| m.compile_values(&pairs))
        .map_err(|e| e.to_string())
}
