//! The structure a calibration fills in: a base model folder (its deployments, queues,
//! bindings and SLOs kept), or, without one, the structure read from the manifests alone
//! (`scenario::skeleton`), with what they cannot say listed as assumed. And the folder a
//! calibration writes.

use super::TwinError;
use super::estimate::{Calibration, NotIdentified};
use crate::scenario::skeleton::{Assumed, Skeleton, SkeletonOptions};
use crate::scenario::{LoadedModel, ModelSources, ServiceFile};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where the structure comes from, and what a person knows that the data may not show.
#[derive(Clone, Debug, Default)]
pub struct StructureOptions {
    /// A model folder whose structure is kept.
    pub model: Option<PathBuf>,
    /// Manifests laid over the model's; without a model, the manifests the structure is read
    /// from.
    pub manifests: Option<PathBuf>,
    /// Requests one pod serves at once, by deployment (`""`: every deployment): kept where the
    /// data cannot identify it.
    pub concurrency: BTreeMap<String, u32>,
}

/// Read `[DEPLOYMENT=]N` (the `--concurrency` flag).
pub fn parse_concurrency(s: &str) -> Result<(String, u32), String> {
    let (dep, n) = s.rsplit_once('=').unwrap_or(("", s));
    match n.trim().parse::<u32>() {
        Ok(k) if k >= 1 => Ok((dep.trim().to_string(), k)),
        _ => Err(format!(
            "--concurrency {s}: write N or DEPLOYMENT=N with N a whole number >= 1 (requests one pod serves at once)"
        )),
    }
}

/// A calibration's starting point.
pub struct Base {
    pub sources: ModelSources,
    pub loaded: LoadedModel,
    pub svc: ServiceFile,
    /// What the structure was read from, for the written model's header and calibration.json.
    pub origin: String,
    /// Values the manifests did not give (empty with a base model).
    pub assumed: Vec<Assumed>,
}

impl Base {
    /// Read the structure: the model (with the manifests laid over it), or the manifests alone
    /// (`name` names the model; `entry`, when known from the data, the deployment that
    /// receives the requests).
    pub fn read(
        o: &StructureOptions,
        name: &str,
        entry: Option<String>,
    ) -> Result<Base, TwinError> {
        let input = |e: crate::scenario::ModelError| TwinError::Input(e.to_string());
        let (mut sources, origin, assumed) = match (&o.model, &o.manifests) {
            (Some(model), manifests) => {
                let mut s = ModelSources::read_dir(model).map_err(input)?;
                if let Some(dir) = manifests {
                    s = s.with_manifests(dir).map_err(input)?;
                }
                (s, format!("the model {}", model.display()), Vec::new())
            }
            (None, Some(dir)) => {
                let o = SkeletonOptions {
                    name: name.to_string(),
                    entry,
                    concurrency: o.concurrency.clone(),
                };
                let (sk, s) = Skeleton::read_dir(dir, &o).map_err(TwinError::Input)?;
                (s, format!("the manifests in {}", dir.display()), sk.assumed)
            }
            (None, None) => {
                return Err(TwinError::Input(
                    "calibrate needs the service's structure: --model DIR (a model folder), or --manifests DIR (its Deployments with their ScaledObjects/HPAs), or a bundle recorded with --manifests".into(),
                ));
            }
        };
        // The person's concurrency figures, with a base model: over its values.
        if o.model.is_some() && !o.concurrency.is_empty() {
            let svc: ServiceFile = serde_saphyr::from_str(&sources.service.1)
                .map_err(|e| TwinError::Input(format!("{}: {e}", sources.service.0.display())))?;
            let mut sets = Vec::new();
            for (dep, k) in &o.concurrency {
                let deps: Vec<&String> = if dep.is_empty() {
                    svc.deployments.keys().collect()
                } else if svc.deployments.contains_key(dep) {
                    vec![dep]
                } else {
                    return Err(TwinError::Input(format!(
                        "--concurrency {dep}={k}: {dep} is not a deployment of the model ({})",
                        svc.deployments
                            .keys()
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                };
                for d in deps {
                    sets.push((
                        format!("model.deployments.{d}.serving.concurrency"),
                        k.to_string(),
                    ));
                }
            }
            sources.apply_overrides(&sets).map_err(input)?;
        }
        let loaded = sources.load().map_err(input)?;
        let svc: ServiceFile = serde_saphyr::from_str(&sources.service.1)
            .map_err(|e| TwinError::Input(format!("{}: {e}", sources.service.0.display())))?;
        Ok(Base {
            sources,
            loaded,
            svc,
            origin,
            assumed,
        })
    }

    /// Each assumed value the calibration did not replace, as not identified.
    pub fn report_assumed(&self, out: &mut Calibration) {
        for a in &self.assumed {
            let dep = a.deployment.clone().unwrap_or_default();
            // A model-wide value is measured when any deployment's estimate names it.
            let same = |d: &str, p: &str| (a.deployment.is_none() || d == dep) && p == a.field;
            let measured = out
                .estimates
                .iter()
                .any(|e| same(&e.deployment, &e.parameter))
                || out
                    .not_identified
                    .iter()
                    .any(|n| same(&n.deployment, &n.parameter));
            if !measured {
                out.not_identified.push(NotIdentified {
                    deployment: dep,
                    parameter: a.field.clone(),
                    kept: a.value.clone(),
                    reason: format!("assumed ({})", a.why),
                });
            }
        }
    }

    /// Write the calibrated model folder `out` (service.yaml, the files it names, the
    /// manifests, calibration.json) and check that it loads.
    pub fn write(
        &self,
        out: &Path,
        data: &str,
        files: &[(String, String)],
        cal: &Calibration,
    ) -> Result<(), TwinError> {
        let werr = |p: &Path, e: std::io::Error| {
            TwinError::Runtime(format!("writing {}: {e}", p.display()))
        };
        std::fs::create_dir_all(out).map_err(|e| werr(out, e))?;
        let yaml = serde_saphyr::to_string(&self.svc)
            .map_err(|e| TwinError::Runtime(format!("writing service.yaml: {e}")))?;
        let mut text = format!(
            "# Calibrated by `scaletwin calibrate` from {data} on the structure of {}.\n# Each estimate, its interval and fit: calibration.json.\n",
            self.origin
        );
        for n in cal
            .not_identified
            .iter()
            .filter(|n| n.reason.starts_with("assumed"))
        {
            let at = if n.deployment.is_empty() {
                String::new()
            } else {
                format!("{}: ", n.deployment)
            };
            text.push_str(&format!(
                "# {at}{} = {} is {}\n",
                n.parameter, n.kept, n.reason
            ));
        }
        text.push_str(&yaml);
        let p = out.join("service.yaml");
        crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| werr(&p, e))?;
        for (name, text) in files {
            let p = out.join(name);
            crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| werr(&p, e))?;
        }
        for (path, text) in &self.sources.manifests {
            let name = path.file_name().unwrap_or_default();
            let p = out.join(name);
            crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| werr(&p, e))?;
        }
        let p = out.join("calibration.json");
        let json = serde_json::to_string_pretty(cal).unwrap_or_default() + "\n";
        crate::io::write_atomic(&p, json.as_bytes()).map_err(|e| werr(&p, e))?;
        // The folder must load as a model.
        ModelSources::read_dir(out)
            .and_then(|s| s.load())
            .map_err(|e| TwinError::Runtime(format!("the calibrated model does not load: {e}")))?;
        Ok(())
    }
}
