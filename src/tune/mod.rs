//! Sweeps over autoscaler and service settings: experiment files, search strategies, parallel
//! evaluation with common random numbers and replications, checkpoints, shards, and the
//! recommendation (the cheapest configuration that meets every constraint with confidence).

pub mod analysis;
pub mod auto;
pub mod bound;
pub mod check;
pub mod evaluate;
pub mod inert;
pub mod job;
pub mod judge;
pub mod optimize;
pub mod output;
pub mod range;
pub mod run;
pub mod search;
pub mod spike;

pub use analysis::*;
pub use evaluate::*;
pub use judge::{Bounds, Figures};
pub use run::*;

use crate::engine::Workload;
use crate::scenario::{ModelSources, embedded_amas};
use crate::trace::TraceSpec;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Version of experiment files and of the results scaletwin writes for them.
pub const EXPERIMENT_FORMAT_VERSION: u32 = 1;

/// Why a sweep could not run or finish.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TuneError {
    /// The experiment, its model, a workload, a flag or a results folder is not right: the
    /// file, the field and what to do. The command line exits 2.
    #[error("{file}: {field}: {message}")]
    Input {
        file: String,
        field: String,
        message: String,
    },
    /// Reading or writing the results folder failed (disk full, permissions). The command
    /// line exits 3.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
}

impl TuneError {
    /// A failure to read or write `path`.
    pub fn io(path: &Path, what: impl std::fmt::Display) -> TuneError {
        TuneError::Io {
            path: path.display().to_string(),
            message: what.to_string(),
        }
    }

    /// The exit code the command line ends with: 2 bad input, 3 a failure at run time.
    pub fn exit_code(&self) -> u8 {
        match self {
            TuneError::Input { .. } => 2,
            TuneError::Io { .. } => 3,
        }
    }
}

/// Values of an axis: a list, or a range with an exact decimal step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Axis {
    /// A `--set` path: `model.<path>`, `workload.<path>`, `manifest.<object>.<path>`.
    pub path: String,
    #[serde(default)]
    pub values: Option<Vec<String>>,
    #[serde(default)]
    pub range: Option<Range>,
    /// The value that stands for the model's current setting where no value is exactly it
    /// (an automatic window axis of an autoscaler without `behavior`: the API's default).
    #[serde(skip)]
    pub stands_for_current: Option<String>,
}

/// `from`, `to` (inclusive) and `step`, written as decimals and expanded exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub from: String,
    pub to: String,
    pub step: String,
}

/// The constraints a configuration must meet: the top-level bounds on the entry deployment,
/// `deployments` on the others (by default every deployment with an SLO in the model).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    /// p95 latency bound, ms: over the whole run, and in each window.
    #[serde(default)]
    pub p95_ms: Option<f64>,
    /// Minimum fraction of requests that succeed: over the run, and in each window.
    #[serde(default)]
    pub success_rate: Option<f64>,
    /// Minimum fraction of windows (the model's window_s, 60 s by default) whose p95 and
    /// success rate meet the bounds above (the model's SLO for a bound not given).
    #[serde(default)]
    pub window_attainment: Option<f64>,
    /// Confidence of the interval a configuration's figures must stay within the bounds
    /// with (over its replications).
    #[serde(default = "default_confidence")]
    pub confidence: f64,
    /// p95 of the time from a request's arrival to the completion of the last job it fanned
    /// out, ms, over the run (the engine's figure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_to_end_p95_ms: Option<f64>,
    /// Bounds of the deployments other than the entry, by name; completed from the model by
    /// [`Experiment::judged`].
    #[serde(default)]
    pub deployments: std::collections::BTreeMap<String, Bounds>,
}

fn default_confidence() -> f64 {
    0.95
}

impl Default for Constraints {
    fn default() -> Self {
        Constraints {
            p95_ms: None,
            success_rate: None,
            window_attainment: None,
            confidence: default_confidence(),
            end_to_end_p95_ms: None,
            deployments: Default::default(),
        }
    }
}

/// A workload of an experiment: the model's own scenario (neither `load` nor `trace`), a
/// pattern or closed loop (`load`), or a recorded trace (`trace`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadSpec {
    pub name: String,
    /// Share of the objective and of the combined figures (default 1).
    #[serde(default = "one")]
    pub weight: f64,
    /// The constraints must also hold under this workload on its own.
    #[serde(default)]
    pub must_hold: bool,
    /// Simulated seconds (default: the experiment's, the trace's span, or the scenario's).
    #[serde(default)]
    pub duration_s: Option<f64>,
    #[serde(default)]
    pub load: Option<Workload>,
    #[serde(default)]
    pub trace: Option<TraceSpec>,
}

fn one() -> f64 {
    1.0
}

/// What the objective counts as cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum CostMeasure {
    /// Pod-hours of every simulated deployment.
    #[default]
    PodHours,
    /// Money: the model's prices per requested CPU, memory and pod hour.
    Money,
}

/// The objective: the lowest cost, then the fewest scaling events and reversals, then the
/// lowest p95.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    #[serde(default)]
    pub cost: CostMeasure,
}

/// How configurations are chosen and evaluated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// Every configuration of the grid.
    #[default]
    Grid,
    /// `samples` distinct grid points drawn at random.
    Random,
    /// `samples` points of a Latin hypercube over the axes (every value range of every axis
    /// covered evenly), snapped to the grid.
    LatinHypercube,
    /// Successive halving: every candidate under the fluid approximation, the best `1/eta`
    /// under the engine with one seed, the best `1/eta` of those with every seed.
    Halving,
    /// The optimizer ([`optimize`]): rounds of candidates proposed by Tree-structured Parzen
    /// Estimators and around the best so far, screened by the fluid approximation, the best
    /// of each round decided by the engine with every seed, until `budget` configurations
    /// are decided.
    Tpe,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Search {
    #[serde(default)]
    pub strategy: Strategy,
    /// Configurations to draw (random, latin-hypercube; halving: its candidates, default the
    /// whole grid).
    #[serde(default)]
    pub samples: Option<usize>,
    /// Seed of the draws.
    #[serde(default = "one_u64")]
    pub seed: u64,
    /// Halving keeps the best `1/eta` at each rung.
    #[serde(default = "default_eta")]
    pub eta: usize,
    /// Halving keeps at least this many at each rung.
    #[serde(default = "default_min_survivors")]
    pub min_survivors: usize,
    /// The optimizer: configurations the engine evaluates (each with every seed). A limit,
    /// left out of the checkpoint's fingerprint: a deeper search (`tune --budget`) continues
    /// a shallower one's checkpoint, whose rounds it repeats exactly.
    #[serde(default = "default_budget", skip_serializing)]
    pub budget: usize,
    /// The optimizer: configurations the engine evaluates per round.
    #[serde(default = "default_batch", skip_serializing_if = "is_default_batch")]
    pub batch: usize,
    /// The optimizer: candidates the fluid approximation screens per configuration the
    /// engine evaluates.
    #[serde(default = "default_screen", skip_serializing_if = "is_default_screen")]
    pub screen: usize,
    /// The optimizer: stop starting rounds after this many seconds of wall time (the results
    /// then depend on the machine's speed; `budget` alone is reproducible). A limit, not a
    /// setting of the results: left out of the checkpoint's fingerprint.
    #[serde(default, skip_serializing)]
    pub budget_s: Option<f64>,
}

fn default_budget() -> usize {
    96
}
fn default_batch() -> usize {
    8
}
fn is_default_batch(v: &usize) -> bool {
    *v == default_batch()
}
fn default_screen() -> usize {
    8
}
fn is_default_screen(v: &usize) -> bool {
    *v == default_screen()
}

fn one_u64() -> u64 {
    1
}
fn default_eta() -> usize {
    4
}
fn default_min_survivors() -> usize {
    8
}

impl Default for Search {
    fn default() -> Self {
        Search {
            strategy: Strategy::Grid,
            samples: None,
            seed: 1,
            eta: default_eta(),
            min_survivors: default_min_survivors(),
            budget: default_budget(),
            batch: default_batch(),
            screen: default_screen(),
            budget_s: None,
        }
    }
}

/// An experiment file (`experiments/*.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub format_version: u32,
    pub name: String,
    /// The file the experiment was read from (for error messages).
    #[serde(skip)]
    pub source: String,
    /// What the sweep is for (shown in reports).
    #[serde(default)]
    pub description: Option<String>,
    /// Model folder; absent: the embedded AMAS model.
    #[serde(default)]
    pub model: Option<String>,
    /// Simulate only these deployments.
    #[serde(default)]
    pub deployments: Vec<String>,
    /// Simulated seconds per evaluation (default: the model's scenario).
    #[serde(default)]
    pub duration_s: Option<f64>,
    /// The seeds: a list, or a count N meaning seeds 1 to N.
    #[serde(default = "one_seed", deserialize_with = "seeds_or_count")]
    pub seeds: Vec<u64>,
    /// Workloads (default: the model's scenario).
    #[serde(default)]
    pub workloads: Vec<WorkloadSpec>,
    /// The axes: a list, or `auto` (the automatic search space, [`auto`]).
    #[serde(default, deserialize_with = "axes_or_auto")]
    pub axes: Vec<Axis>,
    /// The automatic search space: its knobs become axes before the sweep runs
    /// ([`Experiment::with_auto_axes`]); `axes: auto` is `auto: {}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto: Option<auto::AutoSpec>,
    #[serde(default)]
    pub constraints: Constraints,
    #[serde(default)]
    pub objective: Objective,
    #[serde(default)]
    pub search: Search,
    /// The recommendation must still meet the constraints with this much more load
    /// (0.2: +20 %); 0 turns the check off.
    #[serde(default = "default_margin")]
    pub load_margin: f64,
    /// Add the spike check ([`spike`]) when no workload must hold (default true).
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub spike_check: bool,
    /// Refuse to evaluate more configurations than this.
    #[serde(default = "default_cap")]
    pub max_configs: usize,
    /// Refuse sweeps of more runs than this (configurations × workloads × seeds). A limit,
    /// not a setting of the results: left out of the checkpoint's fingerprint.
    #[serde(default = "default_eval_cap", skip_serializing)]
    pub max_evaluations: usize,
}

/// The path `axes: auto` is read into until [`Experiment::parse`] turns it into `auto`.
const AUTO_MARKER: &str = "(auto)";

/// `axes: [...]` as written; `axes: auto` as one marker axis.
fn axes_or_auto<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Axis>, D::Error> {
    // Read as a value first: an untagged enum would hide a list's own errors (an unknown
    // field of an axis) behind "no variant matched".
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(w) if w == "auto" => Ok(vec![Axis {
            path: AUTO_MARKER.into(),
            values: None,
            range: None,
            stands_for_current: None,
        }]),
        serde_json::Value::String(w) => Err(serde::de::Error::custom(format!(
            "axes: `{w}`: write a list of axes, or `auto` for the automatic search space"
        ))),
        v => serde_json::from_value(v).map_err(|e| serde::de::Error::custom(format!("axes: {e}"))),
    }
}

fn yes() -> bool {
    true
}
fn is_true(b: &bool) -> bool {
    *b
}

fn default_margin() -> f64 {
    0.2
}

/// Grids are indexed with `usize`; beyond this the axes are surely a mistake.
const MAX_GRID: u128 = 1 << 40;

/// A configuration of a space beyond [`MAX_GRID`] (searched by the optimizer only) is
/// still named by one index: spaces up to this size.
const MAX_SPACE: u128 = usize::MAX as u128;

fn one_seed() -> Vec<u64> {
    vec![1]
}

/// `seeds: [3, 7]` as written, `seeds: 5` as 1 to 5 (refused above `max_evaluations` later,
/// never allocated beyond what a sweep can run).
fn seeds_or_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Seeds {
        Count(u64),
        List(Vec<u64>),
    }
    match Seeds::deserialize(d)? {
        Seeds::List(v) => Ok(v),
        Seeds::Count(0) => Err(serde::de::Error::custom(
            "seeds: 0 runs nothing; give a count of 1 or more, or a list",
        )),
        Seeds::Count(n) if n > 1_000_000 => Err(serde::de::Error::custom(format!(
            "seeds: {n} is more seeds than any sweep can run (at most 1000000)"
        ))),
        Seeds::Count(n) => Ok((1..=n).collect()),
    }
}
fn default_cap() -> usize {
    10_000
}
fn default_eval_cap() -> usize {
    100_000
}

/// One configuration: a value per axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    pub index: usize,
    pub values: Vec<(String, String)>,
}

impl Experiment {
    /// Read and check an experiment file.
    pub fn load(path: &Path) -> Result<Experiment, TuneError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| TuneError::Input {
            file: file.clone(),
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&file, &text)
    }

    /// Parse and check experiment text.
    pub fn parse(file: &str, text: &str) -> Result<Experiment, TuneError> {
        let e = |field: &str, message: String| TuneError::Input {
            file: file.to_string(),
            field: field.into(),
            message,
        };
        let mut x: Experiment = serde_saphyr::from_str(text).map_err(|err| {
            e(
                "(schema)",
                err.to_string()
                    .lines()
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        x.source = file.to_string();
        if x.format_version != EXPERIMENT_FORMAT_VERSION {
            return Err(e(
                "format_version",
                format!(
                    "this build reads {EXPERIMENT_FORMAT_VERSION} (found {})",
                    x.format_version
                ),
            ));
        }
        if x.axes.iter().any(|a| a.path == AUTO_MARKER) {
            if x.auto.is_some() {
                return Err(e(
                    "axes",
                    "`axes: auto` and an `auto:` section say the same twice: keep the `auto:` section and list extra axes under `axes`".into(),
                ));
            }
            x.axes.clear();
            x.auto = Some(auto::AutoSpec::default());
            // An automatic space is searched by the optimizer unless the file says otherwise.
            if x.search == Search::default() {
                x.search.strategy = Strategy::Tpe;
            }
        }
        if x.axes.is_empty() && x.auto.is_none() {
            return Err(e(
                "axes",
                "an experiment needs at least one axis, or `axes: auto`".into(),
            ));
        }
        if x.seeds.is_empty() {
            return Err(e("seeds", "list at least one seed".into()));
        }
        if let Some((i, s)) = x
            .seeds
            .iter()
            .enumerate()
            .find(|(i, s)| x.seeds[..*i].contains(s))
        {
            return Err(e(
                &format!("seeds[{i}]"),
                format!(
                    "seed {s} is listed twice: a repeated seed repeats the same run, and the confidence intervals would count it as new evidence; list distinct seeds"
                ),
            ));
        }
        if let Some((i, a)) = x
            .axes
            .iter()
            .enumerate()
            .find(|(i, a)| x.axes[..*i].iter().any(|b| b.path == a.path))
        {
            return Err(e(
                &format!("axes[{i}].path"),
                format!(
                    "{} is an axis already: one field takes one value per configuration; merge the two axes' values",
                    a.path
                ),
            ));
        }
        if let Some(d) = x.duration_s
            && !(d.is_finite() && d > 0.0)
        {
            return Err(e("duration_s", format!("must be > 0 (found {d})")));
        }
        let c = &x.constraints;
        judge::check_bounds(c.p95_ms, c.success_rate, c.window_attainment)
            .map_err(|(k, m)| e(&format!("constraints.{k}"), m))?;
        if let Some(b) = c.end_to_end_p95_ms
            && !(b.is_finite() && b > 0.0)
        {
            return Err(e(
                "constraints.end_to_end_p95_ms",
                format!("must be > 0 (found {b})"),
            ));
        }
        for (i, a) in x.axes.iter().enumerate() {
            match (&a.values, &a.range) {
                (Some(v), None) if !v.is_empty() => {}
                (Some(_), None) => {
                    return Err(e(&format!("axes[{i}].values"), "empty list".into()));
                }
                (None, Some(r)) => {
                    r.expand().map_err(|m| e(&format!("axes[{i}].range"), m))?;
                }
                _ => {
                    return Err(e(
                        &format!("axes[{i}]"),
                        "give either values or range".into(),
                    ));
                }
            }
        }
        let s = &x.search;
        if s.eta < 2 {
            return Err(e("search.eta", format!("must be >= 2 (found {})", s.eta)));
        }
        match (s.strategy, s.samples) {
            (Strategy::Random | Strategy::LatinHypercube, None) => {
                return Err(e(
                    "search.samples",
                    "random and latin-hypercube searches need a number of samples".into(),
                ));
            }
            (_, Some(0)) => return Err(e("search.samples", "must be > 0".into())),
            (Strategy::Grid, Some(_)) => {
                return Err(e(
                    "search.samples",
                    "a grid search evaluates the whole grid: drop samples or pick random, latin-hypercube or halving".into(),
                ));
            }
            (Strategy::Tpe, Some(_)) => {
                return Err(e(
                    "search.samples",
                    "the optimizer's budget is search.budget (configurations the engine evaluates); drop samples".into(),
                ));
            }
            _ => {}
        }
        optimize::check(&x.search).map_err(|(k, m)| e(&format!("search.{k}"), m))?;
        if x.auto.is_none() {
            x.check_size()?;
        }
        if !(x.load_margin.is_finite() && (0.0..=10.0).contains(&x.load_margin)) {
            return Err(e(
                "load_margin",
                format!(
                    "a fraction of extra load between 0 and 10, e.g. 0.2 for +20 % (found {})",
                    x.load_margin
                ),
            ));
        }
        if !(c.confidence > 0.5 && c.confidence < 1.0) {
            return Err(e(
                "constraints.confidence",
                format!("between 0.5 and 1, e.g. 0.95 (found {})", c.confidence),
            ));
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, w) in x.workloads.iter().enumerate() {
            let f = |k: &str| format!("workloads[{i}].{k}");
            if w.name.trim().is_empty() || !names.insert(w.name.clone()) {
                return Err(e(
                    &f("name"),
                    format!("`{}`: every workload needs its own name", w.name),
                ));
            }
            if !(w.weight.is_finite() && w.weight >= 0.0) {
                return Err(e(
                    &f("weight"),
                    format!("must be >= 0 (found {})", w.weight),
                ));
            }
            if w.load.is_some() && w.trace.is_some() {
                return Err(e(&f("trace"), "give load or trace, not both".into()));
            }
            if let Some(l) = &w.load {
                l.validate().map_err(|m| e(&f("load"), m))?;
            }
            if let Some(d) = w.duration_s
                && !(d.is_finite() && d > 0.0)
            {
                return Err(e(&f("duration_s"), format!("must be > 0 (found {d})")));
            }
        }
        if !x.workloads.is_empty() && x.workloads.iter().all(|w| w.weight == 0.0) {
            return Err(e(
                "workloads",
                "every weight is 0: give at least one workload a weight".into(),
            ));
        }
        Ok(x)
    }

    /// The size checks of an experiment's axes (after its automatic axes are derived): the
    /// space an index can name, max_configs, max_evaluations.
    pub fn check_size(&self) -> Result<(), TuneError> {
        let x = self;
        let e = |field: &str, message: String| TuneError::Input {
            file: x.source.clone(),
            field: field.into(),
            message,
        };
        let full: u128 = x
            .values()
            .iter()
            .map(|v| v.len() as u128)
            .fold(1u128, |a, b| a.saturating_mul(b));
        let cap = if x.search.strategy == Strategy::Tpe {
            MAX_SPACE
        } else {
            MAX_GRID
        };
        if full > cap {
            return Err(e(
                "axes",
                format!(
                    "the space has {full} configurations ({} axes), more than {} can name: narrow the axes{}",
                    x.axes.len(),
                    if x.search.strategy == Strategy::Tpe {
                        "the optimizer"
                    } else {
                        "a grid"
                    },
                    if x.auto.is_some() {
                        " or leave knobs out with auto.drop"
                    } else if x.search.strategy == Strategy::Tpe {
                        ""
                    } else {
                        ", or search it with strategy: tpe"
                    }
                ),
            ));
        }
        let n = x.grid_size();
        let s = &x.search;
        let evaluated = match s.strategy {
            Strategy::Tpe => s.budget.min(n),
            _ => s.samples.map_or(n, |k| k.min(n)),
        };
        if evaluated > x.max_configs {
            return Err(e(
                "axes",
                format!(
                    "the sweep would evaluate {evaluated} configurations, over max_configs {}; narrow the axes, sample fewer or raise max_configs",
                    x.max_configs
                ),
            ));
        }
        let runs =
            (evaluated as u128) * (x.workloads.len().max(1) as u128) * (x.seeds.len() as u128);
        if runs > x.max_evaluations as u128 {
            return Err(e(
                "seeds",
                format!(
                    "the sweep would run {evaluated} configurations x {} workloads x {} seeds = \
                     {runs} evaluations, over max_evaluations {}; list fewer seeds or workloads, \
                     narrow the axes, or raise max_evaluations",
                    x.workloads.len().max(1),
                    x.seeds.len(),
                    x.max_evaluations
                ),
            ));
        }
        Ok(())
    }

    /// The value lists of the axes (ranges expanded).
    pub fn values(&self) -> Vec<Vec<String>> {
        self.axes
            .iter()
            .map(|a| {
                a.values.clone().unwrap_or_else(|| {
                    a.range
                        .as_ref()
                        .and_then(|r| r.expand().ok())
                        .unwrap_or_default()
                })
            })
            .collect()
    }

    /// Number of configurations of the full grid.
    pub fn grid_size(&self) -> usize {
        self.values()
            .iter()
            .map(|v| v.len())
            .fold(1usize, |a, b| a.saturating_mul(b))
    }

    /// The value index of each axis for grid index `index` (last axis fastest).
    pub fn coordinates(&self, index: usize) -> Vec<usize> {
        let sizes: Vec<usize> = self.values().iter().map(|v| v.len()).collect();
        let mut rest = index;
        let mut out = vec![0; sizes.len()];
        for k in (0..sizes.len()).rev() {
            out[k] = rest % sizes[k];
            rest /= sizes[k];
        }
        out
    }

    /// The configuration at grid index `index`.
    pub fn config(&self, index: usize) -> Config {
        let vals = self.values();
        let values = self
            .coordinates(index)
            .iter()
            .enumerate()
            .map(|(k, i)| (self.axes[k].path.clone(), vals[k][*i].clone()))
            .collect();
        Config { index, values }
    }

    /// Every configuration of the grid, in a fixed order (last axis fastest).
    pub fn grid(&self) -> Vec<Config> {
        (0..self.grid_size()).map(|i| self.config(i)).collect()
    }
}

/// The model an experiment names (the embedded AMAS model when none).
pub fn experiment_model(x: &Experiment, experiment_dir: &Path) -> Result<ModelSources, TuneError> {
    match &x.model {
        None => Ok(embedded_amas()),
        Some(m) => {
            let p = experiment_dir.join(m);
            let p = if p.exists() { p } else { PathBuf::from(m) };
            ModelSources::read_dir(&p).map_err(|e| TuneError::Input {
                file: p.display().to_string(),
                field: "model".into(),
                message: e.to_string(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_experiments_are_rejected() {
        let ok = "format_version: 1\nname: t\naxes:\n  - path: model.x\n    values: ['1', '2']\n";
        assert_eq!(Experiment::parse("e.yaml", ok).unwrap().grid().len(), 2);
        for (text, want) in [
            (
                "format_version: 1\nname: t\naxes: []\n",
                "at least one axis",
            ),
            (
                "format_version: 1\nname: t\naxes:\n  - path: a\n    range: {from: '5', to: '1', step: '1'}\n",
                "empty range",
            ),
            (
                "format_version: 1\nname: t\naxes:\n  - path: a\n    range: {from: '0', to: '1', step: '0'}\n",
                "step 0 must be > 0",
            ),
            (
                "format_version: 1\nname: t\nmax_configs: 3\naxes:\n  - path: a\n    values: ['1', '2']\n  - path: b\n    values: ['1', '2']\n",
                "over max_configs 3",
            ),
            (
                "format_version: 1\nname: t\nconstraints: {success_rate: 1.5}\naxes:\n  - path: a\n    values: ['1']\n",
                "between 0 and 1",
            ),
            (
                "format_version: 1\nname: t\naxes:\n  - path: a\n    valuez: ['1']\n",
                "unknown field",
            ),
            (
                "format_version: 1\nname: t\nseeds: 0\naxes:\n  - path: a\n    values: ['1']\n",
                "seeds: 0 runs nothing",
            ),
        ] {
            let e = Experiment::parse("e.yaml", text).unwrap_err().to_string();
            assert!(e.starts_with("e.yaml: ") && e.contains(want), "{want}: {e}");
        }
    }

    #[test]
    fn a_count_of_seeds_means_seeds_1_to_n() {
        let x = |seeds: &str| {
            Experiment::parse(
                "e.yaml",
                &format!("format_version: 1\nname: t\nseeds: {seeds}\naxes:\n  - path: a\n    values: ['1']\n"),
            )
            .unwrap()
            .seeds
        };
        assert_eq!(x("3"), vec![1, 2, 3]);
        assert_eq!(x("[7, 2]"), vec![7, 2]);
    }
}
