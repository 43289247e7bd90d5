//! Kubernetes manifests in and out: read Deployments, HPAs and KEDA ScaledObjects from real
//! YAML (multi-document files, comments, kinds we do not model skipped), and write changed
//! settings back while keeping every other byte the user wrote.

pub mod edit;
pub mod error;
pub mod objects;
pub mod patch;
pub mod quantity;
pub mod read;
pub mod yaml;

pub use error::{ErrorKind, ManifestError, ManifestWarning};
pub use objects::{
    CONCURRENCY_ANNOTATION, ContainerSpec, Deployment, FieldLines, HorizontalPodAutoscaler,
    ManifestSet, PathSeg, ReadinessProbe, ScaledObject, SkippedObject, Source, load_paths,
    load_str, parse_docs, read_docs, split_path,
};
pub use patch::{Patch, PatchValue, apply_patches, unified_diff};
