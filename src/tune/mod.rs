//! Sweeps over autoscaler and service settings (first part of the tune issue): experiment
//! files, exact grids, parallel evaluation with common random numbers, a checkpoint that a
//! resumed run continues from, and the cheapest configuration that meets the constraints.

use crate::engine::service::{ModelSources, embedded_amas};
use crate::engine::{self, RunConfig};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Version of experiment files and of the results scaletwin writes for them.
pub const EXPERIMENT_FORMAT_VERSION: u32 = 1;

/// An error in an experiment: the file, the field and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {field}: {message}")]
pub struct TuneError {
    pub file: String,
    pub field: String,
    pub message: String,
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
}

/// `from`, `to` (inclusive) and `step`, written as decimals and expanded exactly.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub from: String,
    pub to: String,
    pub step: String,
}

/// The constraints a configuration must meet (on the entry deployment, mean over seeds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Constraints {
    #[serde(default)]
    pub p95_ms: Option<f64>,
    #[serde(default)]
    pub success_rate: Option<f64>,
    #[serde(default)]
    pub window_attainment: Option<f64>,
}

/// An experiment file (`experiments/*.yaml`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    pub format_version: u32,
    pub name: String,
    /// Model folder; absent: the embedded AMAS model.
    #[serde(default)]
    pub model: Option<String>,
    /// Simulate only these deployments.
    #[serde(default)]
    pub deployments: Vec<String>,
    /// Simulated seconds per evaluation (default: the model's scenario).
    #[serde(default)]
    pub duration_s: Option<f64>,
    #[serde(default = "one_seed")]
    pub seeds: Vec<u64>,
    pub axes: Vec<Axis>,
    #[serde(default)]
    pub constraints: Constraints,
    /// Refuse grids larger than this.
    #[serde(default = "default_cap")]
    pub max_configs: usize,
}

fn one_seed() -> Vec<u64> {
    vec![1]
}
fn default_cap() -> usize {
    10_000
}

/// Parse a decimal into (mantissa, scale): `"2.50"` -> (250, 2).
fn decimal(s: &str) -> Result<(i128, u32), String> {
    let t = s.trim();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    if int.is_empty() && frac.is_empty() {
        return Err(format!("`{s}` is not a decimal number"));
    }
    let digits = format!("{int}{frac}");
    let m: i128 = digits
        .parse()
        .map_err(|_| format!("`{s}` is not a decimal number"))?;
    Ok((m, frac.len() as u32))
}

fn format_decimal(m: i128, scale: u32) -> String {
    if scale == 0 {
        return m.to_string();
    }
    let neg = m < 0;
    let a = m.unsigned_abs();
    let p = 10u128.pow(scale);
    let s = format!(
        "{}{}.{:0width$}",
        if neg { "-" } else { "" },
        a / p,
        a % p,
        width = scale as usize
    );
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

impl Range {
    /// The values from `from` to `to` inclusive, in exact decimal steps.
    pub fn expand(&self) -> Result<Vec<String>, String> {
        let (f, fs) = decimal(&self.from)?;
        let (t, ts) = decimal(&self.to)?;
        let (st, ss) = decimal(&self.step)?;
        let scale = fs.max(ts).max(ss);
        let up = |m: i128, s: u32| m * 10i128.pow(scale - s);
        let (f, t, st) = (up(f, fs), up(t, ts), up(st, ss));
        if st <= 0 {
            return Err(format!("step {} must be > 0", self.step));
        }
        if t < f {
            return Err(format!(
                "empty range: to ({}) is below from ({})",
                self.to, self.from
            ));
        }
        let n = (t - f) / st + 1;
        if n > 1_000_000 {
            return Err(format!("{n} values: the range is too fine"));
        }
        Ok((0..n).map(|k| format_decimal(f + k * st, scale)).collect())
    }
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
        let text = std::fs::read_to_string(path).map_err(|e| TuneError {
            file: file.clone(),
            field: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&file, &text)
    }

    /// Parse and check experiment text.
    pub fn parse(file: &str, text: &str) -> Result<Experiment, TuneError> {
        let e = |field: &str, message: String| TuneError {
            file: file.to_string(),
            field: field.into(),
            message,
        };
        let x: Experiment = serde_saphyr::from_str(text).map_err(|err| {
            e(
                "(schema)",
                err.to_string()
                    .lines()
                    .take(8)
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
        })?;
        if x.format_version != EXPERIMENT_FORMAT_VERSION {
            return Err(e(
                "format_version",
                format!(
                    "this build reads {EXPERIMENT_FORMAT_VERSION} (found {})",
                    x.format_version
                ),
            ));
        }
        if x.axes.is_empty() {
            return Err(e("axes", "an experiment needs at least one axis".into()));
        }
        if x.seeds.is_empty() {
            return Err(e("seeds", "list at least one seed".into()));
        }
        if let Some(d) = x.duration_s
            && !(d.is_finite() && d > 0.0)
        {
            return Err(e("duration_s", format!("must be > 0 (found {d})")));
        }
        let c = &x.constraints;
        for (name, v) in [
            ("success_rate", c.success_rate),
            ("window_attainment", c.window_attainment),
        ] {
            if let Some(v) = v
                && !(0.0..=1.0).contains(&v)
            {
                return Err(e(
                    &format!("constraints.{name}"),
                    format!("a fraction between 0 and 1 (found {v})"),
                ));
            }
        }
        if let Some(p) = c.p95_ms
            && !(p.is_finite() && p > 0.0)
        {
            return Err(e("constraints.p95_ms", format!("must be > 0 (found {p})")));
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
        let n = x.grid_size();
        if n > x.max_configs {
            return Err(e(
                "axes",
                format!(
                    "the grid has {n} configurations, over max_configs {}; narrow the axes or raise max_configs",
                    x.max_configs
                ),
            ));
        }
        Ok(x)
    }

    fn axis_values(&self) -> Vec<Vec<String>> {
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
        self.axis_values().iter().map(|v| v.len()).product()
    }

    /// Every configuration of the grid, in a fixed order (last axis fastest).
    pub fn grid(&self) -> Vec<Config> {
        let vals = self.axis_values();
        let n = self.grid_size();
        (0..n)
            .map(|index| {
                let mut rest = index;
                let mut values = vec![(String::new(), String::new()); vals.len()];
                for k in (0..vals.len()).rev() {
                    values[k] = (
                        self.axes[k].path.clone(),
                        vals[k][rest % vals[k].len()].clone(),
                    );
                    rest /= vals[k].len();
                }
                Config { index, values }
            })
            .collect()
    }
}

/// The figures of one evaluation (a configuration under one seed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub format_version: u32,
    pub config: usize,
    pub seed: u64,
    pub values: Vec<(String, String)>,
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    pub pod_hours: f64,
    pub cost: f64,
    pub scaling_events: u32,
    pub oscillations: u32,
    pub error: Option<String>,
}

/// Evaluate one configuration under one seed.
pub fn evaluate(base: &ModelSources, x: &Experiment, c: &Config, seed: u64) -> Evaluation {
    let mut ev = Evaluation {
        format_version: EXPERIMENT_FORMAT_VERSION,
        config: c.index,
        seed,
        values: c.values.clone(),
        p95_ms: 0.0,
        success_rate: 0.0,
        window_attainment: 0.0,
        pod_hours: 0.0,
        cost: 0.0,
        scaling_events: 0,
        oscillations: 0,
        error: None,
    };
    let mut src = base.clone();
    let run = (|| -> Result<engine::Outcome, String> {
        src.apply_overrides(&c.values).map_err(|e| e.to_string())?;
        let loaded = src.load().map_err(|e| e.to_string())?;
        let mut model = loaded.model;
        model.restrict(&x.deployments)?;
        let cfg = RunConfig {
            duration_s: x.duration_s.unwrap_or(loaded.scenario.duration_s),
            seed,
            window_s: loaded.scenario.window_s,
            slo: loaded.scenario.slo,
            record_decisions: false,
            warmup_s: 0.0,
        };
        Ok(engine::run(&model, &loaded.scenario.workload, cfg))
    })();
    match run {
        Ok(o) => {
            let d = &o.deployments[o
                .deployments
                .iter()
                .position(|d| d.name == o.entry)
                .unwrap_or(0)];
            ev.p95_ms = d.latency_ms.p95;
            ev.success_rate = d.success_rate;
            ev.window_attainment = d.window_attainment;
            ev.pod_hours = o.total_pod_hours;
            ev.cost = o.total_cost;
            ev.scaling_events = d.scaling_events;
            ev.oscillations = d.oscillations;
        }
        Err(e) => ev.error = Some(e),
    }
    ev
}

/// Mean figures of a configuration over its seeds.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Aggregate {
    pub config: usize,
    pub values: Vec<(String, String)>,
    pub p95_ms: f64,
    pub success_rate: f64,
    pub window_attainment: f64,
    pub pod_hours: f64,
    pub cost: f64,
    pub scaling_events: f64,
    pub meets: bool,
}

/// Aggregate evaluations per configuration and check the constraints.
pub fn aggregate(evals: &[Evaluation], c: &Constraints) -> Vec<Aggregate> {
    let mut by: std::collections::BTreeMap<usize, Vec<&Evaluation>> = Default::default();
    for e in evals.iter().filter(|e| e.error.is_none()) {
        by.entry(e.config).or_default().push(e);
    }
    by.into_values()
        .map(|v| {
            let n = v.len() as f64;
            let mean = |f: &dyn Fn(&Evaluation) -> f64| v.iter().map(|e| f(e)).sum::<f64>() / n;
            // A configuration must meet every constraint in every one of its replications.
            let meets = v.iter().all(|e| {
                c.p95_ms.is_none_or(|b| e.p95_ms <= b)
                    && c.success_rate.is_none_or(|b| e.success_rate >= b)
                    && c.window_attainment.is_none_or(|b| e.window_attainment >= b)
            });
            Aggregate {
                config: v[0].config,
                values: v[0].values.clone(),
                p95_ms: mean(&|e| e.p95_ms),
                success_rate: mean(&|e| e.success_rate),
                window_attainment: mean(&|e| e.window_attainment),
                pod_hours: mean(&|e| e.pod_hours),
                cost: mean(&|e| e.cost),
                scaling_events: mean(&|e| e.scaling_events as f64),
                meets,
            }
        })
        .collect()
}

/// The cheapest configuration meeting every constraint (fewer scaling events breaking ties).
pub fn recommend(aggs: &[Aggregate]) -> Option<&Aggregate> {
    aggs.iter().filter(|a| a.meets).min_by(|a, b| {
        (a.pod_hours, a.scaling_events, a.p95_ms)
            .partial_cmp(&(b.pod_hours, b.scaling_events, b.p95_ms))
            .unwrap_or(std::cmp::Ordering::Equal)
    })
}

/// Run (or resume) an experiment; every finished evaluation is appended to
/// `dir/checkpoint.jsonl`, and evaluations already there are not run again.
pub fn run_experiment(
    x: &Experiment,
    base: &ModelSources,
    dir: &Path,
    threads: Option<usize>,
) -> Result<Vec<Evaluation>, TuneError> {
    let err = |m: String| TuneError {
        file: dir.display().to_string(),
        field: "(results)".into(),
        message: m,
    };
    std::fs::create_dir_all(dir).map_err(|e| err(e.to_string()))?;
    let ck: PathBuf = dir.join("checkpoint.jsonl");
    let mut done: Vec<Evaluation> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(&ck) {
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Evaluation>(line) {
                Ok(e) if e.format_version == EXPERIMENT_FORMAT_VERSION => done.push(e),
                // A line cut short by an interruption is simply evaluated again.
                _ if i + 1 == text.lines().count() => {}
                _ => {
                    return Err(err(format!(
                        "{}: line {} is not an evaluation of this format_version",
                        ck.display(),
                        i + 1
                    )));
                }
            }
        }
    }
    // Every axis must name a field the model accepts: check each one's first value before
    // running anything, so a typo is one clear error and not a table of failed evaluations.
    let vals = x.axis_values();
    for (i, a) in x.axes.iter().enumerate() {
        let mut src = base.clone();
        src.apply_overrides(&[(a.path.clone(), vals[i][0].clone())])
            .and_then(|_| src.load().map(|_| ()))
            .map_err(|e| TuneError {
                file: "experiment".into(),
                field: format!("axes[{i}].path"),
                message: format!("{}: {e}", a.path),
            })?;
    }
    let grid = x.grid();
    let todo: Vec<(&Config, u64)> = grid
        .iter()
        .flat_map(|c| x.seeds.iter().map(move |s| (c, *s)))
        .filter(|(c, s)| !done.iter().any(|e| e.config == c.index && e.seed == *s))
        .collect();
    let file = std::sync::Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&ck)
            .map_err(|e| err(e.to_string()))?,
    );
    let work = || {
        todo.par_iter()
            .map(|(c, s)| {
                let ev = evaluate(base, x, c, *s);
                if let Ok(mut f) = file.lock() {
                    let _ = writeln!(f, "{}", serde_json::to_string(&ev).unwrap_or_default());
                    let _ = f.flush();
                }
                ev
            })
            .collect::<Vec<_>>()
    };
    let fresh = match threads {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()
            .map_err(|e| err(e.to_string()))?
            .install(work),
        None => work(),
    };
    done.extend(fresh);
    done.sort_by_key(|e| (e.config, e.seed));
    Ok(done)
}

/// The model an experiment names (the embedded AMAS model when none).
pub fn experiment_model(x: &Experiment, experiment_dir: &Path) -> Result<ModelSources, TuneError> {
    match &x.model {
        None => Ok(embedded_amas()),
        Some(m) => {
            let p = experiment_dir.join(m);
            let p = if p.exists() { p } else { PathBuf::from(m) };
            ModelSources::read_dir(&p).map_err(|e| TuneError {
                file: p.display().to_string(),
                field: "model".into(),
                message: e.to_string(),
            })
        }
    }
}

/// The results table as CSV: one row per evaluation.
pub fn results_csv(evals: &[Evaluation], axes: &[Axis]) -> String {
    let mut s = String::from("config,seed");
    for a in axes {
        s.push_str(&format!(",\"{}\"", a.path.replace('"', "'")));
    }
    s.push_str(
        ",p95_ms,success_rate,window_attainment,pod_hours,cost,scaling_events,oscillations,error\n",
    );
    for e in evals {
        s.push_str(&format!("{},{}", e.config, e.seed));
        for (_, v) in &e.values {
            s.push_str(&format!(",{v}"));
        }
        s.push_str(&format!(
            ",{:.3},{:.6},{:.6},{:.4},{:.4},{},{},{}\n",
            e.p95_ms,
            e.success_rate,
            e.window_attainment,
            e.pod_hours,
            e.cost,
            e.scaling_events,
            e.oscillations,
            e.error
                .clone()
                .unwrap_or_default()
                .replace(['\n', ','], " ")
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_expand_exactly() {
        let r = Range {
            from: "0.1".into(),
            to: "0.3".into(),
            step: "0.1".into(),
        };
        assert_eq!(r.expand().unwrap(), vec!["0.1", "0.2", "0.3"]);
        let r = Range {
            from: "60".into(),
            to: "300".into(),
            step: "60".into(),
        };
        assert_eq!(r.expand().unwrap(), vec!["60", "120", "180", "240", "300"]);
        assert!(
            Range {
                from: "1".into(),
                to: "0".into(),
                step: "1".into()
            }
            .expand()
            .unwrap_err()
            .contains("empty range")
        );
        assert!(
            Range {
                from: "0".into(),
                to: "1".into(),
                step: "0".into()
            }
            .expand()
            .unwrap_err()
            .contains("step")
        );
    }

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
        ] {
            let e = Experiment::parse("e.yaml", text).unwrap_err().to_string();
            assert!(e.starts_with("e.yaml: ") && e.contains(want), "{want}: {e}");
        }
    }
}
