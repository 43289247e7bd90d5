//! Settings applied to parsed manifests: a field path set to a scalar in a document's YAML
//! tree, with the same meaning as the text patch of `super::patch` (the same list selectors,
//! the same quoting of the new scalar, missing mappings created, the same refusals), so a
//! sweep reads each file once and edits the tree for every configuration. The text patch
//! remains for what a user reads: the recommendation's manifests.

use super::error::ManifestError;
use super::objects::{PathSeg, split_path};
use super::patch::{no_document, other_shape, patch_error, plain_ok, select_index};
use super::yaml::{Document, Kind, Node, Style};
use std::path::Path;

/// A field path parsed once: the document it edits and the steps to its field.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldPath {
    pub doc: usize,
    pub text: String,
    segs: Vec<PathSeg>,
}

impl FieldPath {
    pub fn new(doc: usize, path: &str) -> Self {
        FieldPath {
            doc,
            text: path.to_string(),
            segs: split_path(path),
        }
    }
}

/// Set the field at `path` to the scalar `value` in `docs`.
pub fn set_scalar(
    file: &Path,
    docs: &mut [Document],
    path: &FieldPath,
    value: &str,
) -> Result<(), ManifestError> {
    let root = docs
        .get_mut(path.doc)
        .and_then(|d| d.root.as_mut())
        .ok_or_else(|| no_document(file, &path.text, path.doc))?;
    set_at(file, root, &path.segs, &path.text, value)
}

/// A scalar as the text patch would write it: the old quoting kept, plain when YAML reads the
/// text back unchanged, double-quoted otherwise.
fn scalar(value: &str, old: Option<Style>, at: &Node) -> Node {
    let style = match old {
        Some(s @ (Style::DoubleQuoted | Style::SingleQuoted)) => s,
        _ if plain_ok(value) => Style::Plain,
        _ => Style::DoubleQuoted,
    };
    Node {
        kind: Kind::Scalar {
            value: value.to_string(),
            style,
        },
        start: at.start,
        end: at.end,
    }
}

/// `rest` as nested block mappings ending in the scalar, as the patch inserts a missing field.
fn nested(
    file: &Path,
    at: &Node,
    key: &str,
    rest: &[PathSeg],
    full: &str,
    value: &str,
) -> Result<(Node, Node), ManifestError> {
    let mut inner = scalar(value, None, at);
    for s in rest.iter().rev() {
        match s {
            PathSeg::Key(name) => {
                inner = Node {
                    kind: Kind::Map {
                        entries: vec![(scalar(name, None, at), inner)],
                        flow: false,
                    },
                    start: at.start,
                    end: at.end,
                }
            }
            PathSeg::Index(_) => {
                return Err(patch_error(
                    file,
                    at.start.line,
                    full,
                    "cannot create a list item by index",
                    "add the list in the manifest first",
                ));
            }
        }
    }
    Ok((scalar(key, None, at), inner))
}

fn set_at(
    file: &Path,
    node: &mut Node,
    segs: &[PathSeg],
    full: &str,
    value: &str,
) -> Result<(), ManifestError> {
    let Some((seg, rest)) = segs.split_first() else {
        return replace(file, node, full, value);
    };
    let line = node.start.line;
    let is_null = node.is_null();
    let type_name = node.type_name();
    match (seg, &mut node.kind) {
        (PathSeg::Key(k), Kind::Map { entries, flow }) => {
            if let Some(i) = entries.iter().rposition(|(kn, _)| kn.as_str() == Some(k)) {
                let (kn, vn) = &mut entries[i];
                if let Some(e) = super::patch::through_alias(file, kn, vn, full) {
                    return Err(e);
                }
                return set_at(file, vn, rest, full, value);
            }
            if *flow {
                return Err(patch_error(
                    file,
                    line,
                    full,
                    format!("cannot add `{k}` to a flow mapping"),
                    "rewrite that mapping in block style, then patch again",
                ));
            }
            let at = node.clone();
            let entry = nested(file, &at, k, rest, full, value)?;
            if let Kind::Map { entries, .. } = &mut node.kind {
                entries.push(entry);
            }
            Ok(())
        }
        (PathSeg::Key(k), Kind::Scalar { .. }) if is_null => {
            let at = node.clone();
            let entry = nested(file, &at, k, rest, full, value)?;
            node.kind = Kind::Map {
                entries: vec![entry],
                flow: false,
            };
            Ok(())
        }
        (PathSeg::Index(_) | PathSeg::Key(_), Kind::Seq { items, .. }) => {
            let i = select_index(items, seg)
                .map_err(|(message, hint)| patch_error(file, line, full, message, hint))?;
            set_at(file, &mut items[i], rest, full, value)
        }
        (seg, _) => Err(patch_error(
            file,
            line,
            full,
            format!("cannot follow {seg:?} into {type_name}"),
            "check the field path against the manifest",
        )),
    }
}

/// The scalar at `path` in `docs` (`None` when the path finds no scalar).
pub fn get_scalar(docs: &[Document], path: &FieldPath) -> Option<String> {
    let root = docs.get(path.doc)?.root.as_ref()?;
    super::patch::find(root, &path.segs)?
        .as_str()
        .map(str::to_string)
}

impl FieldPath {
    /// Whether the path ends in a list item (`...triggers[name=x]`, `...[2]`), not a field.
    pub fn names_item(&self) -> bool {
        self.text.ends_with(']')
    }
}

/// Remove the list item `path` names from `docs`, as [`super::patch::remove_item`] removes
/// its lines from the text.
pub fn remove_item(
    file: &Path,
    docs: &mut [Document],
    path: &FieldPath,
) -> Result<(), ManifestError> {
    let root = docs
        .get_mut(path.doc)
        .and_then(|d| d.root.as_mut())
        .ok_or_else(|| no_document(file, &path.text, path.doc))?;
    let Some((last, parent)) = path.segs.split_last() else {
        return Err(patch_error(
            file,
            0,
            &path.text,
            "an empty path",
            "name a list item",
        ));
    };
    let mut node = root;
    for seg in parent {
        let line = node.start.line;
        node = match (seg, &mut node.kind) {
            (PathSeg::Key(k), Kind::Map { entries, .. }) => match entries
                .iter_mut()
                .rev()
                .find(|(kn, _)| kn.as_str() == Some(k))
            {
                Some((_, v)) => v,
                None => {
                    return Err(patch_error(
                        file,
                        line,
                        &path.text,
                        format!("no `{k}` here"),
                        "check the field path against the manifest",
                    ));
                }
            },
            (_, Kind::Seq { items, .. }) => {
                let i = select_index(items, seg).map_err(|(message, hint)| {
                    patch_error(file, line, &path.text, message, hint)
                })?;
                &mut items[i]
            }
            _ => {
                return Err(patch_error(
                    file,
                    line,
                    &path.text,
                    format!("cannot follow {seg:?} here"),
                    "check the field path against the manifest",
                ));
            }
        };
    }
    let line = node.start.line;
    match &mut node.kind {
        Kind::Seq { items, flow: false } => {
            let i = select_index(items, last)
                .map_err(|(message, hint)| patch_error(file, line, &path.text, message, hint))?;
            items.remove(i);
            Ok(())
        }
        _ => Err(patch_error(
            file,
            line,
            &path.text,
            "not a block list",
            "write the list in block style (one `- ` item per line), then patch again",
        )),
    }
}

fn replace(file: &Path, node: &mut Node, full: &str, value: &str) -> Result<(), ManifestError> {
    match &node.kind {
        Kind::Scalar {
            style: Style::Literal | Style::Folded,
            ..
        } => Err(patch_error(
            file,
            node.start.line,
            full,
            "cannot rewrite a block scalar (| or >)",
            "write the value on one line, then patch again",
        )),
        Kind::Scalar { value: old, style } => {
            if old != value || node.is_null() && node.end.byte == node.start.byte {
                let keep = if node.is_null() && node.end.byte == node.start.byte {
                    None
                } else {
                    Some(*style)
                };
                *node = scalar(value, keep, node);
            }
            Ok(())
        }
        Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. } => {
            // The patch rewrites a flow collection whole, here with the scalar.
            *node = scalar(value, None, node);
            Ok(())
        }
        _ => Err(other_shape(file, node, full)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{Patch, PatchValue, apply_patches, yaml};

    /// Whatever the text patch writes, the tree edit reads the same: compared as the trees
    /// a reader sees (values and styles; positions of inserted fields aside).
    fn same_as_patch(src: &str, path: &str, value: &str) {
        let file = Path::new("t.yaml");
        let patched = apply_patches(
            file,
            src,
            &[Patch {
                doc: 0,
                path: path.into(),
                value: PatchValue::scalar(value),
            }],
        );
        let mut docs = yaml::parse(src).unwrap();
        let edited = set_scalar(file, &mut docs, &FieldPath::new(0, path), value);
        match (patched, edited) {
            (Ok(text), Ok(())) => {
                let want = yaml::parse(&text).unwrap();
                assert_eq!(
                    shape(want[0].root.as_ref().unwrap()),
                    shape(docs[0].root.as_ref().unwrap()),
                    "{path}={value}\n{text}"
                );
            }
            (Err(a), Err(b)) => assert_eq!(a.message, b.message, "{path}={value}"),
            (a, b) => panic!("{path}={value}: patch {a:?}, edit {b:?}"),
        }
    }

    fn shape(n: &Node) -> String {
        match &n.kind {
            Kind::Scalar { value, style } => format!("{value:?}/{style:?}"),
            Kind::Map { entries, .. } => {
                let inner: Vec<String> = entries
                    .iter()
                    .map(|(k, v)| format!("{}: {}", shape(k), shape(v)))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
            Kind::Seq { items, .. } => {
                let inner: Vec<String> = items.iter().map(shape).collect();
                format!("[{}]", inner.join(", "))
            }
        }
    }

    const SO: &str = "apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: web
spec:
  minReplicaCount: 2
  cooldownPeriod:
  advanced:
  fallback: {failureThreshold: 3}
  note: |
    text
  triggers:
    - type: prometheus
      name: rate
      metadata:
        threshold: \"50\"
        query: 'sum(rate(x[1m]))'
    - type: cpu
      metricType: Utilization
      metadata: {value: \"60\"}
";

    #[test]
    fn a_tree_edit_reads_as_the_text_patch_would() {
        for (path, value) in [
            ("spec.minReplicaCount", "5"),
            ("spec.minReplicaCount", "2"),
            ("spec.minReplicaCount", ""),
            ("spec.minReplicaCount", "a: b"),
            ("spec.cooldownPeriod", "60"),
            ("spec.maxReplicaCount", "40"),
            (
                "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
                "120",
            ),
            ("spec.triggers[name=rate].metadata.threshold", "75"),
            ("spec.triggers[0].metadata.query", "it's"),
            ("spec.triggers[1].metadata.value", "70"),
            ("spec.triggers[1].metadata.activationValue", "5"),
            ("spec.triggers[2].metadata.value", "1"),
            ("spec.triggers[name=none].metadata.value", "1"),
            ("spec.triggers[x].metadata.value", "1"),
            ("spec.fallback.replicas", "3"),
            ("spec.note", "x"),
            ("spec.triggers", "x"),
            ("spec.fallback", "x"),
            ("spec.triggers[1].metadata", "x"),
            ("spec.minReplicaCount.deeper", "1"),
            ("spec.newList[0]", "1"),
        ] {
            same_as_patch(SO, path, value);
        }
    }
}
