//! `scaletwin tune` and `scaletwin merge`: sweeps, their shards and the Indexed Job.

use super::{failed, usage};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

const DEFAULT_EXPERIMENT: &str = "experiments/amas.yaml";

#[derive(clap::Args)]
pub struct TuneArgs {
    /// The experiment file.
    #[arg(default_value = DEFAULT_EXPERIMENT)]
    pub experiment: PathBuf,
    /// Results folder (default: output/<experiment name>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Continue the checkpoint in the results folder (the default whenever one of the same
    /// experiment is there; with --resume a missing checkpoint is an error).
    #[arg(long, conflicts_with = "fresh")]
    pub resume: bool,
    /// Discard the results folder's checkpoint and start over.
    #[arg(long)]
    pub fresh: bool,
    /// Evaluate only slice I of N (0-based), e.g. 3/8; combine the slices with `scaletwin merge`.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<String>,
    /// Search the automatic space (every knob of the model's autoscalers, with values
    /// around its current setting) with the optimizer, besides the file's own axes.
    #[arg(long)]
    pub auto: bool,
    /// Print the automatic search space's knobs and values, and exit.
    #[arg(long)]
    pub list_auto: bool,
    /// The optimizer's budget: configurations the engine decides (a deeper search than the
    /// experiment's `search.budget`, continuing its checkpoint).
    #[arg(long, value_name = "N")]
    pub budget: Option<usize>,
    /// Print a Kubernetes Indexed Job that runs this sweep as N shards, and exit.
    #[arg(long, value_name = "N")]
    pub k8s_job: Option<usize>,
    /// Container image for --k8s-job.
    #[arg(long, default_value = "ghcr.io/scaletwin/scaletwin:latest")]
    pub image: String,
    /// PersistentVolumeClaim the shards write their results to (--k8s-job).
    #[arg(long, default_value = "scaletwin-results")]
    pub results_pvc: String,
    /// ConfigMap holding the experiment file (--k8s-job).
    #[arg(long, default_value = "scaletwin-experiment")]
    pub experiment_configmap: String,
}

#[derive(clap::Args)]
pub struct MergeArgs {
    /// The experiment the shards ran.
    pub experiment: PathBuf,
    /// The shards' results folders.
    #[arg(required = true)]
    pub shards: Vec<PathBuf>,
    /// Results folder of the merged sweep (default: output/<experiment name>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    #[arg(long)]
    pub threads: Option<usize>,
}

/// A progress bar on standard error (hidden when it is not a terminal).
fn progress_bar() -> impl Fn(&str, u64, u64) + Sync {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{msg:>28} [{bar:30}] {pos}/{len} evaluations, {elapsed} elapsed, ETA {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let started = std::sync::Mutex::new(std::time::Instant::now());
    move |phase: &str, done: u64, total: u64| {
        if done == 0 {
            bar.reset();
            bar.set_length(total);
            bar.set_message(phase.to_string());
            if let Ok(mut s) = started.lock() {
                *s = std::time::Instant::now();
            }
        }
        bar.set_position(done);
        if done == total {
            bar.finish_and_clear();
            let secs = started
                .lock()
                .map(|s| s.elapsed().as_secs_f64())
                .unwrap_or(0.0);
            eprintln!("{phase}: {total} evaluations in {secs:.1} s");
        }
    }
}

/// Read the experiment, its model and workloads; errors are usage errors (exit 2). `auto`:
/// search the automatic space besides the file's axes.
fn open_experiment(
    path: &std::path::Path,
    auto: bool,
) -> Result<
    (
        scaletwin::tune::Experiment,
        scaletwin::scenario::ModelSources,
        Vec<scaletwin::tune::ResolvedWorkload>,
    ),
    String,
> {
    use scaletwin::tune;
    // Outside a clone, the default experiment is the copy built into the binary.
    let x = if path == std::path::Path::new(DEFAULT_EXPERIMENT) && !path.exists() {
        tune::Experiment::parse(
            "experiments/amas.yaml (built in)",
            include_str!("../../experiments/amas.yaml"),
        )
    } else {
        tune::Experiment::load(path)
    }
    .map_err(|e| e.to_string())?;
    let x = if auto { x.searched_automatically() } else { x };
    let dir = path.parent().unwrap_or(std::path::Path::new("."));
    let base = tune::experiment_model(&x, dir).map_err(|e| e.to_string())?;
    let x = x
        .with_auto_axes(&base)
        .and_then(|x| x.judged(&base))
        .and_then(|x| x.with_spike_check(&base))
        .map_err(|e| e.to_string())?;
    let w = tune::resolve_workloads(&x, dir).map_err(|e| e.to_string())?;
    Ok((x, base, w))
}

pub fn run(a: TuneArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let (mut x, base, workloads) = match open_experiment(&a.experiment, a.auto || a.list_auto) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    if let Some(n) = a.budget {
        if x.search.strategy != tune::Strategy::Tpe {
            return usage(format!(
                "--budget {n}: the experiment's search is {:?}, not the optimizer; use --auto or search: {{strategy: tpe}}",
                x.search.strategy
            ));
        }
        if n == 0 {
            return usage(
                "--budget 0: give the number of configurations to decide, e.g. --budget 192".into(),
            );
        }
        x.search.budget = n;
        if let Err(e) = x.check_size() {
            return usage(e.to_string());
        }
    }
    if a.list_auto {
        let mut out = String::new();
        for (ax, values) in x.axes.iter().zip(x.values()) {
            out.push_str(&format!("{}: {}\n", ax.path, values.join(", ")));
        }
        print!("{out}");
        eprintln!("{} knobs", x.axes.len());
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(n) = a.k8s_job {
        if n == 0 {
            return usage("--k8s-job 0: give the number of shards, e.g. --k8s-job 8".into());
        }
        print!(
            "{}",
            tune::job::indexed_job(
                &x.name,
                &a.experiment,
                n,
                &a.image,
                &a.results_pvc,
                &a.experiment_configmap
            )
        );
        return Ok(ExitCode::SUCCESS);
    }
    let shard = match a.shard.as_deref().map(parse_shard).transpose() {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    let dir = a.out.unwrap_or_else(|| {
        let d = PathBuf::from("output").join(&x.name);
        match shard {
            Some((i, _)) => d.join(format!("shard-{i}")),
            None => d,
        }
    });
    if a.resume && !dir.join("checkpoint.jsonl").exists() {
        return usage(format!(
            "--resume: {} has no checkpoint to continue (run without --resume to start)",
            dir.display()
        ));
    }
    let opts = tune::RunOptions {
        threads: a.threads,
        shard,
        fresh: a.fresh,
    };
    run_sweep(&x, &base, workloads, &dir, opts)
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let bad = || format!("--shard {s}: write I/N with 0 <= I < N, e.g. 0/4");
    let (i, n) = s.split_once('/').ok_or_else(bad)?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| bad())?,
        n.trim().parse().map_err(|_| bad())?,
    );
    if n == 0 || i >= n {
        return Err(bad());
    }
    Ok((i, n))
}

pub fn merge(a: MergeArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let MergeArgs {
        experiment,
        shards,
        out,
        threads,
    } = a;
    let (x, base, workloads) = match open_experiment(&experiment, false) {
        Ok(v) => v,
        Err(e) => return usage(e),
    };
    let dir = out.unwrap_or_else(|| PathBuf::from("output").join(&x.name));
    match tune::merge_checkpoints(&shards, &dir) {
        Ok(n) => eprintln!("merged {n} evaluations from {} shards", shards.len()),
        Err(e) => return failed(&e, e.exit_code()),
    }
    let opts = tune::RunOptions {
        threads,
        shard: None,
        fresh: false,
    };
    run_sweep(&x, &base, workloads, &dir, opts)
}

fn run_sweep(
    x: &scaletwin::tune::Experiment,
    base: &scaletwin::scenario::ModelSources,
    workloads: Vec<scaletwin::tune::ResolvedWorkload>,
    dir: &std::path::Path,
    opts: scaletwin::tune::RunOptions,
) -> anyhow::Result<ExitCode> {
    use scaletwin::tune;
    let started = std::time::Instant::now();
    let what = if x.search.strategy == tune::Strategy::Tpe {
        format!(
            "the optimizer deciding {} of {} configurations ({} axes)",
            x.search.budget.min(x.grid_size()),
            x.grid_size(),
            x.axes.len()
        )
    } else {
        format!(
            "{} configurations ({:?} search)",
            tune::search::candidates(x).len(),
            x.search.strategy
        )
    };
    eprintln!(
        "tune {}: {what} x {} workloads x {} seeds -> {}",
        x.name,
        workloads.len(),
        x.seeds.len(),
        dir.display()
    );
    let bar = progress_bar();
    let shard = opts.shard;
    let kept = workloads.clone();
    let sweep = match tune::Sweep::open(x, base, workloads, dir, opts, Some(&bar)) {
        Ok(s) => s,
        Err(e) => return failed(&e, e.exit_code()),
    };
    if sweep.resumed() > 0 {
        eprintln!(
            "resuming: {} evaluations already in the checkpoint",
            sweep.resumed()
        );
    }
    let r = match sweep.run() {
        Ok(r) => r,
        Err(e) => return failed(&e, e.exit_code()),
    };
    // Failed evaluations, one line per distinct reason (a setting the model refuses, such as
    // a minimum above the maximum, fails every evaluation of its configurations).
    let mut reasons: std::collections::BTreeMap<&str, Vec<&tune::Evaluation>> = Default::default();
    for e in r.evaluations.iter() {
        if let Some(m) = &e.error {
            reasons.entry(m.as_str()).or_default().push(e);
        }
    }
    for (m, es) in reasons {
        let e = es[0];
        if es.len() == 1 {
            eprintln!(
                "warning: configuration {} ({}, seed {}): {m}",
                e.config, e.workload, e.seed
            );
        } else {
            let mut configs: Vec<usize> = es.iter().map(|e| e.config).collect();
            configs.dedup();
            eprintln!(
                "warning: {} evaluations of {} configurations (e.g. {}) failed: {m}",
                es.len(),
                configs.len(),
                e.config
            );
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let Some(a) = r.analysis else {
        let (i, n) = shard.unwrap_or((0, 1));
        let t = tune::output::evaluations_table(&r.evaluations, x);
        if let Err(e) = tune::output::write_table(dir, "evaluations", &t) {
            return failed(&e, e.exit_code());
        }
        println!(
            "shard {i}/{n}: {} evaluations ({} run now) in {elapsed:.1} s -> {}; combine the shards with `scaletwin merge`",
            r.evaluations.len(),
            r.ran,
            dir.display()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let mut files = match tune::output::write_all(dir, x, base, &r.evaluations, &a) {
        Ok(f) => f,
        Err(e) => return failed(&e, e.exit_code()),
    };
    eprintln!("recording the current settings and the recommendation for the report");
    match tune::record_timelines(base, x, &kept, &a, dir) {
        Ok(f) => files.extend(f),
        Err(e) => return failed(&e, e.exit_code()),
    }
    match base.load() {
        Ok(m) => {
            // The structural findings of the current settings' recorded run.
            let run = dir.join("timelines").join("baseline");
            let findings = if run.join("outcome.json").exists() {
                Some(
                    scaletwin::report::run_findings(
                        &m.model,
                        &m.manifests,
                        &run,
                        &scaletwin::lint::run::RunLimits::default(),
                    )
                    .map_err(anyhow::Error::msg)?,
                )
            } else {
                None
            };
            files.push(
                scaletwin::report::write_lint(dir, &m.manifests, findings.as_ref())
                    .with_context(|| format!("writing {}", dir.join("lint.json").display()))?,
            )
        }
        Err(e) => return usage(e.to_string()),
    }
    match scaletwin::report::write(dir, scaletwin::report::Options::default()) {
        Ok(f) => files.extend(f),
        Err(e) => return failed(&e, e.exit_code()),
    }
    print!("{}", tune::output::analysis_text(x, &a));
    println!(
        "\n{} evaluations ({} run now) in {elapsed:.1} s; results in {}:",
        r.evaluations.len(),
        r.ran,
        dir.display()
    );
    for f in files {
        println!("  {}", f.display());
    }
    // A sweep in which no configuration meets the constraints is a failed check.
    Ok(if a.recommendation.is_some() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
