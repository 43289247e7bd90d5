//! Service models embedded in the binary, so the main commands run with no arguments.

use crate::manifest::{ManifestError, ManifestSet, load_str};
use std::path::PathBuf;

/// The AMAS model's manifests: `(path, text)`.
pub const AMAS: [(&str, &str); 3] = [
    (
        "models/amas/orchestrator.yaml",
        include_str!("../models/amas/orchestrator.yaml"),
    ),
    (
        "models/amas/research-agent.yaml",
        include_str!("../models/amas/research-agent.yaml"),
    ),
    (
        "models/amas/worker.yaml",
        include_str!("../models/amas/worker.yaml"),
    ),
];

/// The embedded default model (AMAS), read as if from `models/amas/`.
pub fn default_manifests() -> Result<ManifestSet, ManifestError> {
    let mut set = ManifestSet::default();
    for (path, text) in AMAS {
        let p = PathBuf::from(path);
        load_str(&p, text, &mut set)?;
        set.files.push(p);
    }
    Ok(set)
}
