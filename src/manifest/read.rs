//! Typed reading of Kubernetes objects from the spanned YAML tree, with errors that name the
//! file, line, field and value.

use super::error::{ErrorKind, ManifestError, ManifestWarning, did_you_mean};
use super::quantity;
use super::yaml::{Kind, Node};
use std::path::Path;

/// Reading context: the file and the warnings gathered so far.
pub struct Ctx<'a> {
    pub file: &'a Path,
    pub warnings: &'a mut Vec<ManifestWarning>,
}

pub type R<T> = Result<T, ManifestError>;

impl Ctx<'_> {
    pub fn error(
        &self,
        node: &Node,
        field: &str,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> ManifestError {
        let value = match &node.kind {
            Kind::Scalar { value, .. } => Some(value.clone()),
            _ => None,
        };
        ManifestError {
            kind: ErrorKind::Schema,
            file: self.file.to_path_buf(),
            line: node.start.line,
            field: Some(field.to_string()),
            value,
            message: message.into(),
            hint,
        }
    }

    pub fn missing(&self, parent: &Node, field: &str, hint: &str) -> ManifestError {
        ManifestError {
            kind: ErrorKind::Schema,
            file: self.file.to_path_buf(),
            line: parent.start.line,
            field: Some(field.to_string()),
            value: None,
            message: "required field is missing".into(),
            hint: Some(hint.to_string()),
        }
    }

    pub fn warn(&mut self, line: usize, message: impl Into<String>) {
        self.warnings.push(ManifestWarning {
            file: self.file.to_path_buf(),
            line,
            message: message.into(),
        });
    }

    /// `node` must be a mapping.
    pub fn map<'n>(&self, node: &'n Node, field: &str) -> R<&'n Node> {
        match node.kind {
            Kind::Map { .. } => Ok(node),
            _ => Err(self.error(
                node,
                field,
                format!("expected a mapping, found {}", node.type_name()),
                None,
            )),
        }
    }

    /// `node` must be a list.
    pub fn seq<'n>(&self, node: &'n Node, field: &str) -> R<&'n [Node]> {
        match &node.kind {
            Kind::Seq { items, .. } => Ok(items),
            _ => Err(self.error(
                node,
                field,
                format!("expected a list, found {}", node.type_name()),
                None,
            )),
        }
    }

    /// Reject keys of a mapping that are not in `known`.
    pub fn known_keys(&self, node: &Node, field: &str, known: &[&str]) -> R<()> {
        if let Kind::Map { entries, .. } = &node.kind {
            for (k, _) in entries {
                let key = k.as_str().unwrap_or("");
                if !known.contains(&key) {
                    let hint = match did_you_mean(key, known) {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => format!("known fields here: {}", known.join(", ")),
                    };
                    let path = if field.is_empty() {
                        key.to_string()
                    } else {
                        format!("{field}.{key}")
                    };
                    return Err(self.error(k, &path, "unknown field", Some(hint)));
                }
            }
        }
        Ok(())
    }

    /// A string scalar.
    pub fn string(&self, node: &Node, field: &str) -> R<String> {
        match node.as_str() {
            Some(s) => Ok(s.to_string()),
            None => Err(self.error(
                node,
                field,
                format!("expected a string, found {}", node.type_name()),
                None,
            )),
        }
    }

    /// An integer in `[lo, hi]`.
    pub fn int(&self, node: &Node, field: &str, lo: i64, hi: i64, hint: &str) -> R<i64> {
        let s = self.string(node, field)?;
        let v: i64 = s.trim().parse().map_err(|_| {
            self.error(
                node,
                field,
                "expected a whole number",
                Some(hint.to_string()),
            )
        })?;
        if v < lo || v > hi {
            let range = if hi >= i32::MAX as i64 {
                format!(">= {lo}")
            } else {
                format!("between {lo} and {hi}")
            };
            return Err(self.error(
                node,
                field,
                format!("must be {range}"),
                Some(hint.to_string()),
            ));
        }
        Ok(v)
    }

    /// A boolean (`true`/`false`, as YAML or as a string in KEDA metadata).
    pub fn boolean(&self, node: &Node, field: &str) -> R<bool> {
        match self
            .string(node, field)?
            .trim()
            .to_ascii_lowercase()
            .as_str()
        {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(self.error(node, field, "expected true or false", None)),
        }
    }

    /// A finite decimal number (KEDA thresholds are strings holding floats).
    pub fn float(&self, node: &Node, field: &str, hint: &str) -> R<f64> {
        let s = self.string(node, field)?;
        match s.trim().parse::<f64>() {
            Ok(v) if v.is_finite() => Ok(v),
            _ => Err(self.error(node, field, "expected a number", Some(hint.to_string()))),
        }
    }

    /// A Kubernetes quantity, as milli-units.
    pub fn quantity(&self, node: &Node, field: &str) -> R<i64> {
        let s = self.string(node, field)?;
        quantity::parse_milli(&s).map_err(|e| {
            self.error(
                node,
                field,
                e.reason,
                Some("write a quantity such as 250m, 1.5, 512Mi or 1Gi".into()),
            )
        })
    }
}

/// The value of `key` unless absent or null.
pub fn opt<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    node.get(key).filter(|n| !n.is_null())
}

/// `parent.key` as a dotted path.
pub fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_string()
    } else {
        format!("{parent}.{key}")
    }
}
