//! `scaletwin patch`: set fields of a manifest, keeping every other byte.

use super::{input_error, split_assignment};
use anyhow::Context;
use scaletwin::manifest::{self, Patch, PatchValue};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct PatchArgs {
    /// The manifest file.
    pub file: PathBuf,
    /// `FIELD=VALUE`, e.g. `spec.cooldownPeriod=300` or
    /// `spec.triggers[name=agent_queue].metadata.listLength=30`. Repeatable.
    #[arg(long = "set", required = true)]
    pub sets: Vec<String>,
    /// The object to patch, by metadata.name (default: the only ScaledObject/HPA in the file).
    #[arg(long)]
    pub object: Option<String>,
    /// Write the result to this file (atomically); `-` for standard output.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Rewrite FILE itself (atomically).
    #[arg(long, conflicts_with = "output")]
    pub in_place: bool,
}

pub fn run(a: PatchArgs) -> anyhow::Result<ExitCode> {
    let PatchArgs {
        file,
        sets,
        object,
        output,
        in_place,
    } = a;

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
            eprintln!("error: --set {s}: expected FIELD=VALUE, e.g. spec.cooldownPeriod=300");
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
        Some(p) => scaletwin::io::write_atomic(&p, new.as_bytes())
            .with_context(|| format!("writing {}", p.display()))?,
        None => {}
    }
    Ok(ExitCode::SUCCESS)
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
