//! Running a sweep: evaluations (a configuration under one workload, seed, load and
//! fidelity), the checkpoint every finished evaluation is appended to, successive halving,
//! the baseline, the extra-load check of the recommendation, shards and their merge.

use super::analysis::{self, Analysis};
use super::check::{check_axes, check_runs, current_values};
use super::evaluate::{
    Evaluation, Fidelity, Key, ResolvedWorkload, SweepModel, evaluate, prepare, shared_arrivals,
};
use super::{EXPERIMENT_FORMAT_VERSION, Experiment, Strategy, TuneError, search};
use crate::engine::{self, Workload};
use crate::scenario::ModelSources;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};

/// How many arrival times a batch of evaluations may hold to share among its configurations
/// (8 bytes each: 256 MiB); beyond it each evaluation draws its own, a segment at a time.
const SHARED_ARRIVALS_BUDGET: usize = 1 << 25;

/// Progress callback: (phase, finished, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Options of a sweep run.
#[derive(Clone, Debug, Default)]
pub struct RunOptions {
    /// Worker threads (default: rayon's, all cores).
    pub threads: Option<usize>,
    /// Evaluate only slice `i` of `n`, and stop before the steps that need every slice.
    pub shard: Option<(usize, usize)>,
    /// Discard an existing checkpoint instead of resuming it.
    pub fresh: bool,
}

/// The first line of a checkpoint: which experiment (and model) its evaluations belong to.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CheckpointHeader {
    pub format_version: u32,
    pub experiment: String,
    pub fingerprint: String,
}

/// Write a whole checkpoint (atomically): the header, then the evaluations in table order.
fn write_checkpoint<'e>(
    path: &Path,
    header: &CheckpointHeader,
    evals: impl IntoIterator<Item = &'e Evaluation>,
) -> Result<(), TuneError> {
    let mut sorted: Vec<&Evaluation> = evals.into_iter().collect();
    sorted.sort_by_key(|e| order(e));
    let mut text = serde_json::to_string(header).unwrap_or_default();
    text.push('\n');
    for e in sorted {
        text.push_str(&serde_json::to_string(e).unwrap_or_default());
        text.push('\n');
    }
    crate::io::write_atomic(path, text.as_bytes())
        .map_err(|e| TuneError::io(path, format_args!("cannot write: {e}")))
}

/// FNV-1a over the experiment, the model's sources and the workloads' sizes: a checkpoint of
/// a different experiment is never resumed by mistake.
pub fn fingerprint(x: &Experiment, base: &ModelSources, w: &[ResolvedWorkload]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut feed = |b: &[u8]| {
        for x in b {
            h ^= *x as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    feed(serde_json::to_string(x).unwrap_or_default().as_bytes());
    feed(base.service.1.as_bytes());
    for (p, t) in &base.manifests {
        feed(p.to_string_lossy().as_bytes());
        feed(t.as_bytes());
    }
    for r in w {
        let n = match &r.workload {
            Some(Workload::Replay { times_s, .. }) => times_s.len(),
            _ => 0,
        };
        feed(format!("{}:{n}:{:?}", r.name, r.duration_s).as_bytes());
    }
    format!("{h:016x}")
}

/// Read a checkpoint (its header, when it has one, and its evaluations); a last line cut
/// short by an interruption is dropped.
pub fn read_checkpoint(
    path: &Path,
) -> Result<(Option<CheckpointHeader>, Vec<Evaluation>), TuneError> {
    let err = |m: String| TuneError::Input {
        file: path.display().to_string(),
        field: "(checkpoint)".into(),
        message: m,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((None, vec![])),
        Err(e) => return Err(TuneError::io(path, format_args!("cannot read: {e}"))),
    };
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut header = None;
    let mut evals = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len() && !text.ends_with('\n');
        if i == 0 {
            match serde_json::from_str::<CheckpointHeader>(line) {
                Ok(h) if h.format_version == EXPERIMENT_FORMAT_VERSION => {
                    header = Some(h);
                    continue;
                }
                Ok(h) => {
                    return Err(err(format!(
                        "written by format_version {}; this build reads {EXPERIMENT_FORMAT_VERSION}: start over with --fresh",
                        h.format_version
                    )));
                }
                Err(_) if last => continue,
                Err(_) => {
                    return Err(err(
                        "line 1 is not a scaletwin checkpoint header: start over with --fresh"
                            .into(),
                    ));
                }
            }
        }
        match serde_json::from_str::<Evaluation>(line) {
            Ok(e) => evals.push(e),
            Err(_) if last => {}
            Err(e) => {
                return Err(err(format!(
                    "line {} is not an evaluation ({e}): start over with --fresh",
                    i + 1
                )));
            }
        }
    }
    Ok((header, evals))
}

/// A sweep in progress.
pub struct Sweep<'a> {
    /// The experiment, its judged deployments completed from the model.
    pub x: Experiment,
    pub base: &'a ModelSources,
    pub workloads: Vec<ResolvedWorkload>,
    pub dir: PathBuf,
    pub opts: RunOptions,
    done: std::collections::HashMap<Key, Evaluation>,
    file: std::sync::Mutex<std::fs::File>,
    progress: Option<Progress<'a>>,
    /// Per axis and value: whether it is the model's current setting.
    current: Vec<Vec<bool>>,
    /// The model parsed once, the axes read into settings.
    pub(super) model: SweepModel,
}

/// What a run ends with.
pub struct SweepResult {
    /// Every evaluation, sorted.
    pub evaluations: Vec<Evaluation>,
    /// `None` for a shard (the merge analyses).
    pub analysis: Option<Analysis>,
    /// Evaluations run now (the rest came from the checkpoint).
    pub ran: usize,
    pub resumed: usize,
}

impl<'a> Sweep<'a> {
    /// Open (or resume) the sweep's checkpoint in `dir`.
    pub fn open(
        x: &'a Experiment,
        base: &'a ModelSources,
        workloads: Vec<ResolvedWorkload>,
        dir: &Path,
        opts: RunOptions,
        progress: Option<Progress<'a>>,
    ) -> Result<Self, TuneError> {
        let err = |m: String| TuneError::Input {
            file: dir.display().to_string(),
            field: "(results)".into(),
            message: m,
        };
        if let Some((i, n)) = opts.shard
            && (n == 0 || i >= n)
        {
            return Err(TuneError::Input {
                file: "--shard".into(),
                field: "shard".into(),
                message: format!("{i}/{n}: write i/N with 0 <= i < N"),
            });
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| TuneError::io(dir, format_args!("cannot create: {e}")))?;
        if opts.shard.is_some() && x.search.strategy == Strategy::Tpe {
            return Err(TuneError::Input {
                file: "--shard".into(),
                field: "shard".into(),
                message: "the optimizer's rounds build on each other and cannot be split into shards: run it whole (it uses every core), or shard a grid, random or halving search".into(),
            });
        }
        let x = x.clone().with_auto_axes(base)?.judged(base)?;
        let x = &x;
        let model = SweepModel::new(x, base)?;
        check_axes(x, &model)?;
        check_runs(x, &model, &workloads)?;
        let ck = dir.join("checkpoint.jsonl");
        let fp = fingerprint(x, base, &workloads);
        if opts.fresh {
            let _ = std::fs::remove_file(&ck);
        }
        let (old, evals) = read_checkpoint(&ck)?;
        if let Some(o) = old.map(|h| h.fingerprint)
            && o != fp
        {
            return Err(err(format!(
                "{} holds results of a different experiment or model (fingerprint {o}, now {fp}): pass --fresh to start over, or another -o",
                ck.display()
            )));
        }
        let mut done = std::collections::HashMap::new();
        let grid = x.grid_size();
        let mut foreign = 0;
        for e in evals {
            // A line naming a configuration, seed or workload this experiment does not have
            // is not one of its evaluations.
            match e.key(&workloads) {
                // The fluid approximation is seed-independent: its evaluations carry seed 0.
                Some(k)
                    if (x.seeds.contains(&k.seed)
                        || (k.fidelity == Fidelity::Fluid && k.seed == 0))
                        && (k.baseline || k.config < grid) =>
                {
                    done.insert(k, e);
                }
                _ => foreign += 1,
            }
        }
        if foreign > 0 {
            eprintln!(
                "warning: {}: {foreign} lines name a configuration, seed or workload this \
                 experiment does not have; dropped",
                ck.display()
            );
        }
        // Rewrite the checkpoint without a torn last line before appending to it.
        let header = CheckpointHeader {
            format_version: EXPERIMENT_FORMAT_VERSION,
            experiment: x.name.clone(),
            fingerprint: fp,
        };
        write_checkpoint(&ck, &header, done.values())?;
        let file = std::fs::OpenOptions::new()
            .append(true)
            .open(&ck)
            .map_err(|e| TuneError::io(&ck, format_args!("cannot open: {e}")))?;
        Ok(Sweep {
            x: x.clone(),
            base,
            workloads,
            dir: dir.to_path_buf(),
            opts,
            done,
            file: std::sync::Mutex::new(file),
            progress,
            current: current_values(x, &model),
            model,
        })
    }

    /// Per axis and value: whether it is the model's current setting.
    pub(super) fn current_settings(&self) -> &[Vec<bool>] {
        &self.current
    }

    /// Evaluations read back from the checkpoint.
    pub fn resumed(&self) -> usize {
        self.done.len()
    }

    /// Evaluate every key not already done, in parallel; append each to the checkpoint.
    pub(super) fn batch(&mut self, phase: &str, keys: Vec<Key>) -> Result<usize, TuneError> {
        let todo: Vec<Key> = {
            let mut seen = HashSet::new();
            keys.into_iter()
                .filter(|k| !self.done.contains_key(k) && seen.insert(k.clone()))
                .collect()
        };
        if todo.is_empty() {
            return Ok(0);
        }
        // Longest first (the engine before the fluid approximation, long workloads before
        // short ones), so the batch does not end waiting on one long evaluation. The results
        // are keyed, so the order changes nothing else.
        let mut todo = todo;
        let cost = |k: &Key| {
            let d = self.workloads[k.workload].duration_s.unwrap_or(f64::MAX);
            (k.fidelity == Fidelity::Engine, d * k.load_milli as f64)
        };
        todo.sort_by(|a, b| {
            cost(b)
                .partial_cmp(&cost(a))
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        let total = todo.len() as u64;
        let finished = std::sync::atomic::AtomicU64::new(0);
        let (x, base, workloads, file, progress) = (
            &self.x,
            &self.model,
            &self.workloads,
            &self.file,
            self.progress,
        );
        if let Some(p) = progress {
            p(phase, 0, total);
        }
        // Configurations evaluated by the engine under the same workload, seed and load see
        // the same arrivals: draw them once per group (within a memory budget) instead of
        // once per configuration.
        let groups: Vec<(usize, u64, u32)> = {
            let mut g: Vec<_> = todo
                .iter()
                .filter(|k| k.fidelity == Fidelity::Engine)
                .map(|k| (k.workload, k.seed, k.load_milli))
                .collect();
            g.sort_unstable();
            // A group of one evaluation has nothing to share: it draws its own.
            let shared: Vec<_> = g
                .chunk_by(|a, b| a == b)
                .filter(|c| c.len() > 1)
                .map(|c| c[0])
                .collect();
            shared
        };
        let share = |i: usize| {
            let (w, seed, load_milli) = groups[i];
            let k = Key {
                config: 0,
                baseline: true,
                workload: w,
                seed,
                fidelity: Fidelity::Engine,
                load_milli,
            };
            let max = SHARED_ARRIVALS_BUDGET / groups.len().max(1);
            shared_arrivals(base, x, &workloads[w], &k, max)
        };
        let work = || {
            let arrivals: Vec<Option<engine::Arrivals>> =
                (0..groups.len()).into_par_iter().map(share).collect();
            todo.par_iter()
                .map(|k| {
                    let values = if k.baseline {
                        vec![]
                    } else {
                        x.config(k.config).values
                    };
                    let shared = groups
                        .binary_search(&(k.workload, k.seed, k.load_milli))
                        .ok()
                        .filter(|_| k.fidelity == Fidelity::Engine)
                        .and_then(|i| arrivals[i].as_ref());
                    let ev = evaluate(base, x, &workloads[k.workload], &values, k, shared);
                    if let Ok(mut f) = file.lock() {
                        let _ = writeln!(f, "{}", serde_json::to_string(&ev).unwrap_or_default());
                        let _ = f.flush();
                    }
                    let n = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    if let Some(p) = progress {
                        p(phase, n, total);
                    }
                    (k.clone(), ev)
                })
                .collect::<Vec<_>>()
        };
        let fresh = match self.opts.threads {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n.max(1))
                .build()
                .map_err(|e| TuneError::Input {
                    file: "--threads".into(),
                    field: "threads".into(),
                    message: e.to_string(),
                })?
                .install(work),
            None => work(),
        };
        let n = fresh.len();
        self.done.extend(fresh);
        Ok(n)
    }

    pub(super) fn keys(
        &self,
        configs: &[usize],
        fidelity: Fidelity,
        seeds: &[u64],
        load: f64,
    ) -> Vec<Key> {
        let seeds: Vec<u64> = match fidelity {
            Fidelity::Fluid => vec![0],
            Fidelity::Engine => seeds.to_vec(),
        };
        let mut out = Vec::new();
        for c in configs {
            for w in 0..self.workloads.len() {
                for s in &seeds {
                    out.push(Key {
                        config: *c,
                        baseline: false,
                        workload: w,
                        seed: *s,
                        fidelity,
                        load_milli: (load * 1000.0).round() as u32,
                    });
                }
            }
        }
        out
    }

    fn evaluations(&self) -> Vec<Evaluation> {
        let mut v: Vec<Evaluation> = self.done.values().cloned().collect();
        v.sort_by_key(order);
        v
    }

    pub(super) fn aggregate(
        &self,
        configs: &[usize],
        fidelity: Fidelity,
        seeds: &[u64],
        load: f64,
    ) -> Vec<analysis::Row> {
        let evals = self.evaluations();
        let mut rows = analysis::aggregate(
            &evals,
            &self.x,
            &self.workloads,
            configs,
            false,
            fidelity,
            seeds,
            load,
        );
        for r in &mut rows {
            r.changes = self
                .x
                .coordinates(r.config)
                .iter()
                .zip(&self.current)
                .filter(|(v, cur)| !cur[**v])
                .count();
        }
        rows
    }

    /// Run the sweep to its end (a shard: to the end of its slice).
    pub fn run(mut self) -> Result<SweepResult, TuneError> {
        let resumed = self.done.len();
        let x = self.x.clone();
        let x = &x;
        let mut ran = 0;
        let mut cands = search::candidates(x);
        let total_candidates = cands.len();
        if let Some((i, n)) = self.opts.shard {
            cands = cands
                .into_iter()
                .enumerate()
                .filter(|(pos, _)| pos % n == i)
                .map(|(_, c)| c)
                .collect();
        }
        let seeds = x.seeds.clone();
        let mut rungs: Vec<(Fidelity, Vec<u64>, Vec<usize>)> = Vec::new();
        let mut convergence = Vec::new();
        let mut total_candidates = total_candidates;
        let final_configs = if x.search.strategy == Strategy::Tpe {
            let o = self.optimize(&mut ran)?;
            total_candidates = o.screened.len();
            rungs.push((Fidelity::Fluid, vec![0], o.screened));
            rungs.push((Fidelity::Engine, seeds.clone(), o.decided.clone()));
            convergence = o.convergence;
            // The configurations the model refused (every trigger of an object switched off,
            // a minimum above the maximum) stay in evaluations.csv and the convergence, not
            // in the ranked table.
            let refused: HashSet<usize> = self
                .aggregate(&o.decided, Fidelity::Engine, &seeds, 1.0)
                .into_iter()
                .filter(|r| r.error.is_some())
                .map(|r| r.config)
                .collect();
            let mut decided: Vec<usize> = o
                .decided
                .into_iter()
                .filter(|c| !refused.contains(c))
                .collect();
            decided.sort_unstable();
            decided
        } else if x.search.strategy == Strategy::Halving {
            let plan: Vec<(Fidelity, Vec<u64>)> = if seeds.len() > 1 {
                vec![
                    (Fidelity::Fluid, vec![0]),
                    (Fidelity::Engine, seeds[..1].to_vec()),
                    (Fidelity::Engine, seeds.clone()),
                ]
            } else {
                vec![
                    (Fidelity::Fluid, vec![0]),
                    (Fidelity::Engine, seeds.clone()),
                ]
            };
            let mut alive = cands.clone();
            for (r, (fid, s)) in plan.iter().enumerate() {
                if r > 0 {
                    // Keep the best 1/eta of the previous rung.
                    let (pf, ps, _) =
                        rungs
                            .last()
                            .cloned()
                            .unwrap_or((Fidelity::Fluid, vec![], vec![]));
                    let rows = self.aggregate(&alive, pf, &ps, 1.0);
                    let keep = (alive.len().div_ceil(x.search.eta)).max(x.search.min_survivors);
                    alive = analysis::ranked(&rows, x)
                        .into_iter()
                        .take(keep)
                        .map(|r| r.config)
                        .collect();
                    alive.sort_unstable();
                }
                let phase = format!("rung {} ({:?}, {} configurations)", r + 1, fid, alive.len())
                    .to_lowercase();
                ran += self.batch(&phase, self.keys(&alive, *fid, s, 1.0))?;
                rungs.push((*fid, s.clone(), alive.clone()));
                if self.opts.shard.is_some() {
                    // The next rung ranks every shard's configurations: the merge runs it.
                    break;
                }
            }
            alive
        } else {
            ran += self.batch(
                "configurations",
                self.keys(&cands, Fidelity::Engine, &seeds, 1.0),
            )?;
            rungs.push((Fidelity::Engine, seeds.clone(), cands.clone()));
            cands.clone()
        };
        let shard0 = self.opts.shard.is_none_or(|(i, _)| i == 0);
        if shard0 {
            let keys: Vec<Key> = (0..self.workloads.len())
                .flat_map(|w| {
                    seeds.iter().map(move |s| Key {
                        config: 0,
                        baseline: true,
                        workload: w,
                        seed: *s,
                        fidelity: Fidelity::Engine,
                        load_milli: 1000,
                    })
                })
                .collect();
            ran += self.batch("baseline", keys)?;
        }
        if self.opts.shard.is_some() {
            return Ok(SweepResult {
                evaluations: self.evaluations(),
                analysis: None,
                ran,
                resumed,
            });
        }
        // The extra-load check: the cheapest configurations that meet the constraints, in
        // order, until one still meets them with 1 + load_margin times the load.
        let rows = self.aggregate(&final_configs, Fidelity::Engine, &seeds, 1.0);
        let feasible: Vec<usize> = analysis::ranked(&rows, x)
            .into_iter()
            .filter(|r| r.feasible)
            .map(|r| r.config)
            .collect();
        let mut margin_rows = Vec::new();
        let mut chosen = None;
        if x.load_margin > 0.0 {
            let load = 1.0 + x.load_margin;
            for chunk in feasible.chunks(2).take(MARGIN_CHECKS / 2) {
                ran += self.batch(
                    "extra-load check",
                    self.keys(chunk, Fidelity::Engine, &seeds, load),
                )?;
                let got = self.aggregate(chunk, Fidelity::Engine, &seeds, load);
                for c in chunk {
                    if let Some(r) = got.iter().find(|r| r.config == *c) {
                        margin_rows.push(r.clone());
                        if chosen.is_none() && r.feasible {
                            chosen = Some(*c);
                        }
                    }
                }
                if chosen.is_some() {
                    break;
                }
            }
        } else {
            chosen = feasible.first().copied();
        }
        let evaluations = self.evaluations();
        let baseline = analysis::aggregate(
            &evaluations,
            x,
            &self.workloads,
            &[0],
            true,
            Fidelity::Engine,
            &seeds,
            1.0,
        )
        .into_iter()
        .next();
        let fluid_rows = if matches!(x.search.strategy, Strategy::Halving | Strategy::Tpe) {
            self.aggregate(&rungs[0].2, Fidelity::Fluid, &[0], 1.0)
        } else {
            vec![]
        };
        let mut a = analysis::analyse(analysis::Inputs {
            x,
            rows,
            baseline,
            margin_rows,
            chosen,
            fluid_rows,
            candidates: total_candidates,
            evaluated: evaluations.len(),
            current: x
                .axes
                .iter()
                .zip(x.values())
                .zip(&self.current)
                .flat_map(|((a, vals), cur)| {
                    vals.into_iter()
                        .zip(cur)
                        .filter(|(_, c)| **c)
                        .map(|(v, _)| (a.path.clone(), v))
                        .collect::<Vec<_>>()
                })
                .collect(),
        });
        a.lower_bound = super::bound::of_experiment(x, &self.model, &self.workloads);
        a.unchanged_axes = super::inert::unchanged_axes(&evaluations, x);
        a.convergence = convergence;
        Ok(SweepResult {
            evaluations,
            analysis: Some(a),
            ran,
            resumed,
        })
    }
}

/// At most this many of the cheapest feasible configurations get the extra-load check.
pub const MARGIN_CHECKS: usize = 12;

/// Sort order of evaluations in tables and checkpoints.
fn order(e: &Evaluation) -> (bool, usize, u64, Fidelity, String, u64) {
    (
        !e.baseline,
        e.config,
        (e.load * 1000.0).round() as u64,
        e.fidelity,
        e.workload.clone(),
        e.seed,
    )
}

/// Combine the checkpoints of a sharded sweep into `out`'s checkpoint (evaluations of the
/// same key must agree). Running the sweep on `out` afterwards completes it.
pub fn merge_checkpoints(shards: &[PathBuf], out: &Path) -> Result<usize, TuneError> {
    let mut header: Option<CheckpointHeader> = None;
    // Keyed by table order: the same evaluation from two shards is kept once.
    let mut all: std::collections::BTreeMap<_, Evaluation> = Default::default();
    for d in shards {
        let ck = d.join("checkpoint.jsonl");
        if !ck.exists() {
            return Err(TuneError::Input {
                file: ck.display().to_string(),
                field: "(checkpoint)".into(),
                message: "missing: is this a shard's results folder?".into(),
            });
        }
        let (h, evals) = read_checkpoint(&ck)?;
        let h = h.ok_or_else(|| TuneError::Input {
            file: ck.display().to_string(),
            field: "(checkpoint)".into(),
            message: "no header line".into(),
        })?;
        match &header {
            Some(first) if first.fingerprint != h.fingerprint => {
                return Err(TuneError::Input {
                    file: ck.display().to_string(),
                    field: "(checkpoint)".into(),
                    message: format!(
                        "belongs to another experiment (fingerprint {}, the first shard's is {})",
                        h.fingerprint, first.fingerprint
                    ),
                });
            }
            Some(_) => {}
            None => header = Some(h),
        }
        for e in evals {
            all.insert(order(&e), e);
        }
    }
    std::fs::create_dir_all(out)
        .map_err(|e| TuneError::io(out, format_args!("cannot create: {e}")))?;
    let Some(header) = header else {
        return Err(TuneError::Input {
            file: "merge".into(),
            field: "shards".into(),
            message: "no shard folders given".into(),
        });
    };
    write_checkpoint(&out.join("checkpoint.jsonl"), &header, all.values())?;
    Ok(all.len())
}

/// Version of `timelines/timelines.json`.
pub const TIMELINES_FORMAT_VERSION: u32 = 1;

/// The runs recorded in full for the report: which workload and seed, and which settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timelines {
    pub format_version: u32,
    pub workload: String,
    pub seed: u64,
    /// `(folder under timelines/, configuration or None for the current settings, settings)`.
    pub runs: Vec<TimelineRun>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimelineRun {
    /// `baseline` or `recommended`: the folder under `timelines/`.
    pub name: String,
    pub config: Option<usize>,
    pub values: Vec<(String, String)>,
}

/// Record the current settings and the recommendation in full (time series, decision log,
/// outcome) on the heaviest-weighted workload with the first seed, into `dir/timelines/`, so
/// the report can draw them side by side. Earlier timelines are removed first.
pub fn record_timelines(
    base: &ModelSources,
    x: &Experiment,
    workloads: &[ResolvedWorkload],
    a: &Analysis,
    dir: &Path,
) -> Result<Vec<PathBuf>, TuneError> {
    let root = dir.join("timelines");
    let _ = std::fs::remove_dir_all(&root);
    let io = |p: &Path, e: &dyn std::fmt::Display| TuneError::io(p, e);
    // The heaviest-weighted workload, preferring one that is not a must-hold check.
    let Some(w) = workloads.iter().rev().max_by(|a, b| {
        (!a.must_hold)
            .cmp(&!b.must_hold)
            .then(a.weight.total_cmp(&b.weight))
    }) else {
        return Ok(vec![]);
    };
    let seed = x.seeds.first().copied().unwrap_or(1);
    let mut runs = vec![TimelineRun {
        name: "baseline".into(),
        config: None,
        values: a
            .baseline
            .as_ref()
            .map(|b| b.values.clone())
            .unwrap_or_default(),
    }];
    if let Some(r) = &a.recommendation {
        runs.push(TimelineRun {
            name: "recommended".into(),
            config: Some(r.config),
            values: r.values.clone(),
        });
    }
    let model = SweepModel::new(x, base)?;
    let mut out = Vec::new();
    for run in &runs {
        let sub = root.join(&run.name);
        let (model, workload, cfg) =
            prepare(&model, x, w, &run.values, 1.0, seed, true).map_err(|e| io(&sub, &e))?;
        let mut sink = engine::output::FileSink::create(&sub).map_err(|e| io(&sub, &e))?;
        let o = engine::sim::run_with_sink(&model, &workload, cfg, &mut sink);
        out.extend(engine::output::write_outcome(&sub, &o).map_err(|e| io(&sub, &e))?);
        out.extend(sink.finish().map_err(|e| io(&sub, &e))?);
    }
    let t = Timelines {
        format_version: TIMELINES_FORMAT_VERSION,
        workload: w.name.clone(),
        seed,
        runs,
    };
    let p = root.join("timelines.json");
    let text = serde_json::to_string_pretty(&t).unwrap_or_default() + "\n";
    crate::io::write_atomic(&p, text.as_bytes()).map_err(|e| io(&p, &e))?;
    out.push(p);
    Ok(out)
}
