#![allow(clippy::result_large_err)]
//! The `scaletwin` command line: parse arguments, call the library, map the result to an
//! exit code (0 success, 1 findings/failed checks, 2 unreadable input or bad usage).

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use scaletwin::lint::{self, Severity};
use scaletwin::manifest::{self, ManifestError, Patch, PatchValue};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scaletwin",
    version,
    about = "Simulate and tune Kubernetes autoscaling (HPA v2 + KEDA) before production does it for you"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Find autoscaling pitfalls in manifests (default: the embedded AMAS model).
    Lint {
        /// Manifest files or folders (read recursively). Empty: the embedded AMAS model.
        paths: Vec<PathBuf>,
        /// Warnings fail the lint too (exit 1).
        #[arg(long)]
        strict: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// List the rules and exit.
        #[arg(long)]
        list: bool,
    },
    /// Set fields of a manifest, keeping everything else byte for byte, and show the diff.
    Patch {
        /// The manifest file.
        file: PathBuf,
        /// `FIELD=VALUE`, e.g. `spec.cooldownPeriod=300` or
        /// `spec.triggers[name=agent_queue].metadata.listLength=30`. Repeatable.
        #[arg(long = "set", required = true)]
        sets: Vec<String>,
        /// The object to patch, by metadata.name (default: the only ScaledObject/HPA in the file).
        #[arg(long)]
        object: Option<String>,
        /// Write the result to this file (atomically); `-` for standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Rewrite FILE itself (atomically).
        #[arg(long, conflicts_with = "output")]
        in_place: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Lint {
            paths,
            strict,
            format,
            list,
        } => {
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
        Command::Patch {
            file,
            sets,
            object,
            output,
            in_place,
        } => {
            let text = match std::fs::read_to_string(&file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("error: {}: cannot read: {e}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let mut set = manifest::ManifestSet::default();
            if let Err(e) = manifest::load_str(&file, &text, &mut set) {
                return Ok(input_error(&e));
            }
            let doc = match pick_document(&set, object.as_deref()) {
                Ok(d) => d,
                Err(msg) => {
                    eprintln!("error: {}: {msg}", file.display());
                    return Ok(ExitCode::from(2));
                }
            };
            let mut patches = Vec::new();
            for s in &sets {
                let Some((path, value)) = split_assignment(s) else {
                    eprintln!(
                        "error: --set {s}: expected FIELD=VALUE, e.g. spec.cooldownPeriod=300"
                    );
                    return Ok(ExitCode::from(2));
                };
                patches.push(Patch {
                    doc,
                    path: path.trim().to_string(),
                    value: PatchValue::scalar(value.trim()),
                });
            }
            let new = match manifest::apply_patches(&file, &text, &patches) {
                Ok(n) => n,
                Err(e) => return Ok(input_error(&e)),
            };
            // The result must still read as valid manifests.
            let mut check = manifest::ManifestSet::default();
            if let Err(e) = manifest::load_str(&file, &new, &mut check) {
                eprintln!("error: the patched file would be invalid: {e}");
                return Ok(ExitCode::from(2));
            }
            let name = file.display().to_string();
            print!("{}", manifest::unified_diff(&name, &name, &text, &new));
            let target = if in_place { Some(file.clone()) } else { output };
            match target {
                Some(p) if p.as_os_str() == "-" => print!("{new}"),
                Some(p) => {
                    write_atomic(&p, &new).with_context(|| format!("writing {}", p.display()))?
                }
                None => {}
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Split `FIELD=VALUE` at the first `=` outside `[...]` (selectors like `[name=x]` hold one).
fn split_assignment(s: &str) -> Option<(&str, &str)> {
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

fn input_error(e: &ManifestError) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::from(2)
}

/// The document index of the object to patch.
fn pick_document(set: &manifest::ManifestSet, object: Option<&str>) -> Result<usize, String> {
    let mut candidates: Vec<(String, usize)> = set
        .scaled_objects
        .iter()
        .map(|s| (s.spec.name.clone(), s.source.doc))
        .collect();
    candidates.extend(set.hpas.iter().map(|h| (h.name.clone(), h.source.doc)));
    candidates.extend(
        set.deployments
            .iter()
            .map(|d| (d.name.clone(), d.source.doc)),
    );
    match object {
        Some(name) => {
            // Prefer the autoscaler of that name over its Deployment.
            candidates
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, d)| *d)
                .ok_or_else(|| format!("no object named {name} (objects: {})", names(&candidates)))
        }
        None => {
            let autoscalers: Vec<_> = candidates
                .iter()
                .take(set.scaled_objects.len() + set.hpas.len())
                .collect();
            match autoscalers.as_slice() {
                [one] => Ok(one.1),
                [] => {
                    Err("the file has no ScaledObject or HPA; name the object with --object".into())
                }
                _ => Err(format!(
                    "the file has several autoscalers; choose one with --object ({})",
                    names(&candidates)
                )),
            }
        }
    }
}

fn names(c: &[(String, usize)]) -> String {
    c.iter()
        .map(|(n, _)| n.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Write a file through a temporary file in the same folder and a rename.
fn write_atomic(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}
