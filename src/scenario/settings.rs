//! Settings: a `--set` or sweep-axis path read once against a model's parsed inputs, then
//! applied to the typed service model (`ServiceFile`) or to a manifest's YAML tree, and
//! compiled. A sweep parses its files once and compiles each configuration from the parsed
//! inputs; the text patch is kept for the one thing users read, the recommendation's files.

use super::*;
use crate::manifest::edit::{FieldPath, get_scalar, remove_item, set_scalar};
use crate::manifest::yaml::Document;
use crate::manifest::{PathSeg, split_path};
use serde_json::Value;

/// A model's inputs parsed once: the service model typed, each manifest file as YAML trees.
#[derive(Clone, Debug)]
pub struct ParsedModel {
    dir: PathBuf,
    service_path: PathBuf,
    service: ServiceFile,
    manifests: Vec<(PathBuf, Vec<Document>)>,
    /// Per file, the objects a `manifest.<object>` path can name: (kind, name, document).
    objects: Vec<Vec<(&'static str, String, usize)>>,
}

impl Setting {
    /// The same setting as a text patch: `None` for service.yaml, or the manifest's index
    /// in the model's sources.
    pub fn patch(&self, value: &str) -> (Option<usize>, Patch) {
        let (file, doc, path) = match &self.target {
            Target::Service(p, _) => (None, 0, p.clone()),
            Target::Manifest { file, field } => (Some(*file), field.doc, field.text.clone()),
        };
        (
            file,
            Patch {
                doc,
                path,
                value: PatchValue::scalar(value),
            },
        )
    }
}

/// The value of a path to a list item that keeps the item.
pub const ITEM_ON: &str = "on";
/// The value of a path to a list item that removes it (a trigger switched off).
pub const ITEM_OFF: &str = "off";

impl Setting {
    /// Whether the path names a list item (`on`/`off`) rather than a field.
    pub fn names_item(&self) -> bool {
        matches!(&self.target, Target::Manifest { field, .. } if field.names_item())
    }
}

/// `(object, trigger)` of a `manifest.<object>.spec.triggers[name=<trigger>]` path.
pub(super) fn switched_trigger(path: &str) -> Option<(&str, &str)> {
    let rest = path.strip_prefix("manifest.")?;
    let (object, field) = rest.split_once('.')?;
    let object = object.rsplit('/').next()?;
    let name = field
        .strip_prefix("spec.triggers[name=")?
        .strip_suffix(']')?;
    Some((object, name))
}

/// Per manifest file, its edited trees (`None`: as parsed).
type EditedFiles = Vec<Option<Vec<Document>>>;

/// A path read once: which input it edits and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Setting {
    /// The path as the user wrote it.
    pub path: String,
    target: Target,
}

#[derive(Clone, Debug, PartialEq)]
enum Target {
    /// A field of service.yaml: its path in the file, and read into steps.
    Service(String, Vec<PathSeg>),
    /// A field of one document of one manifest file.
    Manifest { file: usize, field: FieldPath },
}

fn set_error(path: &str, msg: impl Into<String>) -> ModelError {
    ModelError {
        file: "--set".into(),
        field: path.into(),
        message: msg.into(),
    }
}

impl ParsedModel {
    /// Parse a model's sources (the errors are those of `ModelSources::load`).
    pub fn parse(src: &ModelSources) -> Result<Self, ModelError> {
        let (spath, stext) = &src.service;
        let service: ServiceFile = serde_saphyr::from_str(stext)
            .map_err(|e| merr(spath, "(schema)", first_lines(&e.to_string())))?;
        let mut manifests = Vec::new();
        let mut objects = Vec::new();
        for (p, t) in &src.manifests {
            let docs = manifest::parse_docs(p, t).map_err(|e| manifest_error(p, e))?;
            let mut set = ManifestSet::default();
            manifest::read_docs(p, &docs, &mut set).map_err(|e| manifest_error(p, e))?;
            let mut named: Vec<(&'static str, String, usize)> = Vec::new();
            for s in &set.scaled_objects {
                named.push(("scaledobject", s.spec.name.clone(), s.source.doc));
            }
            for h in &set.hpas {
                named.push(("horizontalpodautoscaler", h.name.clone(), h.source.doc));
            }
            for d in &set.deployments {
                named.push(("deployment", d.name.clone(), d.source.doc));
            }
            objects.push(named);
            manifests.push((p.clone(), docs));
        }
        Ok(ParsedModel {
            dir: src.dir.clone(),
            service_path: spath.clone(),
            service,
            manifests,
            objects,
        })
    }

    /// Read a path: `model.<path>` (or `workload.<path>`, `slo.<path>`) names a field of
    /// service.yaml; `manifest.<object>.<path>` (or `manifest.<kind>/<object>.<path>`) a
    /// field of the object's manifest.
    pub fn setting(&self, path: &str) -> Result<Setting, ModelError> {
        let (root, rest) = path
            .split_once('.')
            .ok_or_else(|| set_error(path, "a path has at least two parts"))?;
        let target = match root {
            "model" | "workload" | "slo" | "duration_s" => {
                let p = match root {
                    "model" => rest.to_string(),
                    "workload" => format!("scenario.workload.{rest}"),
                    _ => format!("scenario.{root}.{rest}"),
                };
                Target::Service(p.clone(), split_path(&p))
            }
            "manifest" => {
                let (object, field) = rest
                    .split_once('.')
                    .ok_or_else(|| set_error(path, "write manifest.<object name>.<field path>"))?;
                let (object, kind) = match object.split_once('/') {
                    Some((k, n)) => {
                        let k = k.to_ascii_lowercase();
                        let kind = match k.as_str() {
                            "scaledobject" | "so" => "scaledobject",
                            "deployment" | "deploy" => "deployment",
                            "horizontalpodautoscaler" | "hpa" => "horizontalpodautoscaler",
                            _ => {
                                return Err(set_error(
                                    path,
                                    format!(
                                        "unknown kind `{k}`: write scaledobject/, deployment/ \
                                         or hpa/ before the object's name"
                                    ),
                                ));
                            }
                        };
                        (n, Some(kind))
                    }
                    None => (object, None),
                };
                let found: Vec<(usize, &'static str, usize)> = self
                    .objects
                    .iter()
                    .enumerate()
                    .flat_map(|(file, named)| {
                        named
                            .iter()
                            .filter(|(k, n, _)| n == object && kind.is_none_or(|want| want == *k))
                            .map(move |(k, _, doc)| (file, *k, *doc))
                    })
                    .collect();
                // Same-named objects of several kinds (a Deployment and its ScaledObject, the
                // usual case): a `spec.<field>` only one of the kinds has tells which is meant.
                let fits: Vec<(usize, &'static str, usize)> = match field.strip_prefix("spec.") {
                    Some(f) if found.len() > 1 => {
                        let top = f.split(['.', '[']).next().unwrap_or(f);
                        found
                            .iter()
                            .copied()
                            .filter(|(_, k, _)| {
                                crate::manifest::objects::spec_keys(k).contains(&top)
                            })
                            .collect()
                    }
                    _ => found.clone(),
                };
                let found = if fits.is_empty() { found } else { fits };
                let (file, doc) = match found.as_slice() {
                    [] => {
                        return Err(set_error(
                            path,
                            format!("no object named {object} in the model's manifests"),
                        ));
                    }
                    [(file, _, doc)] => (*file, *doc),
                    several => {
                        // The same name on objects of several kinds (a Deployment and its
                        // ScaledObject): which one is meant must be said.
                        let paths: Vec<String> = several
                            .iter()
                            .map(|(file, k, _)| {
                                let short = if *k == "horizontalpodautoscaler" {
                                    "hpa"
                                } else {
                                    k
                                };
                                format!(
                                    "manifest.{short}/{object}.{field} ({})",
                                    self.manifests[*file].0.display()
                                )
                            })
                            .collect();
                        return Err(set_error(
                            path,
                            format!(
                                "{} objects are named {object}; name the one you mean: {}",
                                several.len(),
                                paths.join(", ")
                            ),
                        ));
                    }
                };
                Target::Manifest {
                    file,
                    field: FieldPath::new(doc, field),
                }
            }
            other => {
                let hint = crate::manifest::error::did_you_mean(
                    other,
                    &["model", "manifest", "workload", "slo"],
                )
                .map(|s| format!(" (did you mean `{s}`?)"))
                .unwrap_or_default();
                return Err(set_error(
                    path,
                    format!(
                        "unknown root `{other}`{hint}: paths start with model., workload., slo. or manifest.<object>."
                    ),
                ));
            }
        };
        Ok(Setting {
            path: path.to_string(),
            target,
        })
    }

    /// Read `(path, value)` pairs into settings with their values.
    pub fn settings(
        &self,
        values: &[(String, String)],
    ) -> Result<Vec<(Setting, String)>, ModelError> {
        values
            .iter()
            .map(|(p, v)| Ok((self.setting(p)?, v.clone())))
            .collect()
    }

    /// The inputs with `edits` applied: the service model and each file's trees.
    fn edited(&self, edits: &[(&Setting, &str)]) -> Result<(ServiceFile, EditedFiles), ModelError> {
        let mut service_value: Option<Value> = None;
        let mut docs: Vec<Option<Vec<Document>>> = vec![None; self.manifests.len()];
        // A list item switched off goes after every field is set (a field of that item set
        // by another setting must find it), last items first (an index keeps its meaning).
        let mut removals: Vec<(usize, &FieldPath, &str)> = Vec::new();
        for (s, value) in edits {
            if let Target::Manifest { file, field } = &s.target
                && field.names_item()
            {
                match *value {
                    ITEM_ON => {}
                    ITEM_OFF => removals.push((*file, field, &s.path)),
                    other => {
                        return Err(merr(
                            &self.manifests[*file].0,
                            &s.path,
                            format!(
                                "`{other}`: a path to a list item takes `{ITEM_ON}` (kept) or `{ITEM_OFF}` (removed)"
                            ),
                        ));
                    }
                }
                continue;
            }
            match &s.target {
                Target::Service(_, segs) => {
                    let v = match &mut service_value {
                        Some(v) => v,
                        None => service_value.insert(
                            serde_json::to_value(&self.service)
                                .map_err(|e| merr(&self.service_path, &s.path, e.to_string()))?,
                        ),
                    };
                    set_value(v, segs, value).map_err(|m| merr(&self.service_path, &s.path, m))?;
                }
                Target::Manifest { file, field } => {
                    let (p, base) = &self.manifests[*file];
                    let d = docs[*file].get_or_insert_with(|| base.clone());
                    set_scalar(p, d, field, value).map_err(|e| merr(p, &s.path, e.to_string()))?;
                }
            }
        }
        removals.sort_by(|a, b| b.1.text.cmp(&a.1.text));
        for (file, field, path) in removals {
            let (p, base) = &self.manifests[file];
            let d = docs[file].get_or_insert_with(|| base.clone());
            remove_item(p, d, field).map_err(|e| merr(p, path, e.to_string()))?;
            // A named trigger switched off takes its binding with it.
            if let Some((object, trigger)) = switched_trigger(path) {
                let v = match &mut service_value {
                    Some(v) => v,
                    None => service_value.insert(
                        serde_json::to_value(&self.service)
                            .map_err(|e| merr(&self.service_path, path, e.to_string()))?,
                    ),
                };
                if let Some(b) = v
                    .get_mut("bindings")
                    .and_then(|b| b.get_mut(object))
                    .and_then(|b| b.as_object_mut())
                {
                    b.remove(trigger);
                }
            }
        }
        let service = match service_value {
            Some(v) => serde_json::from_value(v)
                .map_err(|e| merr(&self.service_path, "(schema)", e.to_string()))?,
            None => self.service.clone(),
        };
        Ok((service, docs))
    }

    /// Whether `edits` leave the model as it is (each value already the model's own).
    pub fn unchanged_by(&self, edits: &[(&Setting, &str)]) -> bool {
        match self.edited(edits) {
            Ok((service, docs)) => {
                service == self.service
                    && docs
                        .iter()
                        .zip(&self.manifests)
                        .all(|(d, (_, base))| d.as_ref().is_none_or(|d| d == base))
            }
            Err(_) => false,
        }
    }

    /// Compile the model with `edits` applied.
    pub fn compile(&self, edits: &[(&Setting, &str)]) -> Result<LoadedModel, ModelError> {
        let (service, set) = self.read(edits)?;
        build(&self.dir, &self.service_path, service, set)
    }

    /// The inputs with `edits` applied, each object read as its kind (a value its field
    /// cannot hold is an error here), before the model is compiled from them (where fields
    /// are checked against each other).
    pub fn read(
        &self,
        edits: &[(&Setting, &str)],
    ) -> Result<(ServiceFile, ManifestSet), ModelError> {
        let (service, docs) = self.edited(edits)?;
        let mut set = ManifestSet::default();
        for ((p, base), edited) in self.manifests.iter().zip(&docs) {
            let d = edited.as_ref().unwrap_or(base);
            manifest::read_docs(p, d, &mut set).map_err(|e| manifest_error(p, e))?;
            set.files.push(p.clone());
        }
        Ok((service, set))
    }

    /// The scalar a `manifest.` path names in the files as parsed (`None`: no such scalar).
    pub fn scalar(&self, path: &str) -> Option<String> {
        match self.setting(path).ok()?.target {
            Target::Manifest { file, field } => get_scalar(&self.manifests[file].1, &field),
            Target::Service(..) => None,
        }
    }

    /// Compile the model with `(path, value)` pairs applied.
    pub fn compile_values(&self, values: &[(String, String)]) -> Result<LoadedModel, ModelError> {
        let s = self.settings(values)?;
        let edits: Vec<(&Setting, &str)> = s.iter().map(|(s, v)| (s, v.as_str())).collect();
        self.compile(&edits)
    }
}

/// A manifest's error as a model error: the file and line, the field, and the message with
/// the value found and the hint.
fn manifest_error(p: &Path, e: manifest::ManifestError) -> ModelError {
    let mut message = e.message.clone();
    if let Some(v) = &e.value {
        message.push_str(&format!(" (found `{v}`)"));
    }
    if let Some(h) = &e.hint {
        message.push_str(&format!("; {h}"));
    }
    ModelError {
        file: if e.line > 0 {
            format!("{}:{}", p.display(), e.line)
        } else {
            p.display().to_string()
        },
        field: e.field.clone().unwrap_or_else(|| "(manifest)".into()),
        message,
    }
}

/// A scalar's text as service.yaml would read it where the field's type is not a string
/// (text the patch would have to quote stays text).
fn resolve(text: &str) -> Value {
    if !crate::manifest::patch::plain_ok(text) {
        return Value::String(text.to_string());
    }
    match text {
        "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(u) = text.parse::<u64>() {
        return Value::from(u);
    }
    let looks_numeric = text
        .trim_start_matches(['+', '-'])
        .starts_with(|c: char| c.is_ascii_digit() || c == '.');
    match text.parse::<f64>() {
        Ok(f) if looks_numeric && f.is_finite() => Value::from(f),
        _ => Value::String(text.to_string()),
    }
}

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Set the field at `segs` in the service model's value: the new scalar typed as the field
/// it replaces (text where the model has text), missing mappings created.
fn set_value(v: &mut Value, segs: &[PathSeg], text: &str) -> Result<(), String> {
    let Some((seg, rest)) = segs.split_first() else {
        *v = match v {
            Value::String(_) => Value::String(text.to_string()),
            Value::Object(_) | Value::Array(_) => {
                return Err(format!(
                    "cannot replace a {} with a value of another shape; set its leaf fields instead",
                    if v.is_object() { "mapping" } else { "list" }
                ));
            }
            _ => resolve(text),
        };
        return Ok(());
    };
    match (seg, v) {
        (PathSeg::Key(k), Value::Object(map)) => {
            let child = map.entry(k.clone()).or_insert(Value::Null);
            set_value(child, rest, text)
        }
        (PathSeg::Key(k), v @ Value::Null) => {
            let mut map = serde_json::Map::new();
            map.insert(k.clone(), Value::Null);
            *v = Value::Object(map);
            set_value(v, segs, text)
        }
        (PathSeg::Index(i), Value::Array(items)) => {
            let n = items.len();
            let item = items
                .get_mut(*i)
                .ok_or_else(|| format!("the list has {n} item(s), no index {i}"))?;
            set_value(item, rest, text)
        }
        (PathSeg::Key(sel), Value::Array(items)) => {
            let (k, want) = sel
                .split_once('=')
                .ok_or_else(|| format!("`{sel}` is not a list index or a [key=value] selector"))?;
            let item = items
                .iter_mut()
                .find(|it| it.get(k).and_then(scalar_text).as_deref() == Some(want))
                .ok_or_else(|| format!("no list item has {k}: {want}"))?;
            set_value(item, rest, text)
        }
        (seg, v) => Err(format!(
            "cannot follow {seg:?} into {}",
            match v {
                Value::Array(_) => "a list",
                Value::Object(_) => "a mapping",
                _ => "a scalar",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A setting compiled from the parsed files gives the model that patching the text and
    /// reading it again gives, and the same refusal where that refuses.
    fn same_as_text(base: &ModelSources, parsed: &ParsedModel, path: &str, value: &str) {
        let pair = [(path.to_string(), value.to_string())];
        let by_text = {
            let mut s = base.clone();
            s.apply_overrides(&pair).and_then(|_| s.load())
        };
        let by_setting = parsed.compile_values(&pair);
        match (by_text, by_setting) {
            (Ok(a), Ok(b)) => {
                assert_eq!(
                    format!("{:?}", a.model),
                    format!("{:?}", b.model),
                    "{path}={value}"
                );
                assert_eq!(a.scenario, b.scenario, "{path}={value}");
            }
            (Err(_), Err(_)) => {}
            (a, b) => panic!(
                "{path}={value}: by text {:?}, by setting {:?}",
                a.map(|_| ()),
                b.map(|_| ())
            ),
        }
    }

    #[test]
    fn settings_compile_to_the_model_the_text_patch_gives() {
        let base = embedded_amas();
        let parsed = ParsedModel::parse(&base).unwrap();
        let so = "manifest.amas-orchestrator.spec";
        let cases: &[(&str, &[&str])] = &[
            (
                "manifest.amas-orchestrator.spec.triggers[name=request_rate].metadata.threshold",
                &["10", "15", "30", "2.5", "-1", "x", ""],
            ),
            (
                "manifest.amas-orchestrator.spec.minReplicaCount",
                &["1", "3", "0", "x", "1.5"],
            ),
            (
                "manifest.amas-orchestrator.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
                &["60", "600", "-5"],
            ),
            (
                "manifest.amas-orchestrator.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.selectPolicy",
                &["Min", "Disabled", "Sideways"],
            ),
            (
                "manifest.amas-worker.spec.triggers[name=worker_jobs].metadata.listLength",
                &["4", "16"],
            ),
            ("manifest.amas-worker.spec.cooldownPeriod", &["60", "300"]),
            ("manifest.amas-worker.spec.pollingInterval", &["5"]),
            ("manifest.amas-worker.spec.fallback.replicas", &["3"]),
            (
                "manifest.scaledobject/amas-worker.spec.maxReplicaCount",
                &["40"],
            ),
            ("manifest.deployment/amas-worker.spec.replicas", &["4"]),
            ("manifest.amas-nobody.spec.replicas", &["4"]),
            (
                "model.deployments.amas-orchestrator.work.cpu_seconds_per_request",
                &["0.03", "1", "x"],
            ),
            (
                "model.deployments.amas-orchestrator.work.service_time.mean",
                &["0.3", "0.7"],
            ),
            (
                "model.deployments.amas-orchestrator.serving.concurrency",
                &["4", "2.5", "-1"],
            ),
            (
                "model.deployments.amas-orchestrator.serving.routing",
                &["round-robin", "nope"],
            ),
            (
                "model.deployments.amas-orchestrator.serving.timeout_s",
                &["", "10"],
            ),
            (
                "model.deployments.amas-worker.lifecycle.grace_period_s",
                &["5"],
            ),
            ("model.deployments.amas-worker.replicas", &["3"]),
            ("model.deployments.amas-worker.nonsense", &["3"]),
            ("model.controller.tolerance", &["0.05"]),
            ("model.queues[name=amas:agent-queue].max_length", &["10"]),
            ("model.queues[0].max_length", &["10"]),
            ("slo.p95_ms", &["900"]),
            ("workload.mean", &["50"]),
            ("nowhere.x", &["1"]),
            ("model", &["1"]),
        ];
        for (path, values) in cases {
            for v in *values {
                same_as_text(&base, &parsed, path, v);
            }
        }
        assert!(parsed.unchanged_by(&[(
            &parsed.setting(&format!("{so}.minReplicaCount")).unwrap(),
            "2"
        )]));
        assert!(!parsed.unchanged_by(&[(
            &parsed.setting(&format!("{so}.minReplicaCount")).unwrap(),
            "3"
        )]));
    }
}
