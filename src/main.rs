#![allow(clippy::result_large_err)]
//! The `scaletwin` command line: parse arguments, call the library, map the result to an
//! exit code: 0 success, 1 a finding or a failed check (lint findings, an SLO failed, not
//! validated, a regression), 2 bad input or usage (the file, field and value are named),
//! 3 a failure at run time (writing results, a server that went away). Each subcommand is a
//! module of `cli/`.

mod cli;

/// The sweep's autoscaler syncs allocate many small, short-lived objects (the HPA's view of
/// every pod, its metric samples); mimalloc serves them markedly faster than the system
/// allocator (measured in benches/redesign/run.sh).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use cli::{lint, loadtest, patch, simulate, testbed, trace, tune, twin, validate};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "scaletwin",
    version,
    about = "Simulate and tune Kubernetes autoscaling (HPA v2 + KEDA) before production does it for you"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

// Parsed once per process: the size of a variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Load-test a service over HTTP: closed or open loop, SLO verdicts, live metrics,
    /// regression check against a stored run (exit 1 when an SLO fails or a figure regressed).
    Loadtest(loadtest::LoadtestArgs),
    /// Serve a model as a live HTTP service on loopback: real workers, queues and delays,
    /// replicas changed by the real HPA/KEDA code, Prometheus metrics (kube-state-metrics
    /// names); a time scale runs it faster than life.
    Testbed(testbed::TestbedArgs),
    /// Load-test a live service running some settings, observe its replicas (Prometheus or
    /// the Kubernetes API), simulate the same arrivals and compare (exit 1 when not validated).
    Validate(validate::ValidateArgs),
    /// Sweep autoscaler settings and recommend the cheapest that meets the constraints
    /// (default: experiments/amas.yaml, results in output/<experiment name>).
    Tune(tune::TuneArgs),
    /// Combine the results folders of a sharded sweep (`tune --shard i/N`) into the result
    /// of the whole sweep, finishing what needs every shard (later halving rungs, the
    /// extra-load check).
    Merge(tune::MergeArgs),
    /// Regenerate a results folder's report (report.html with its charts, summary.md,
    /// summary.json) from the folder alone.
    Report {
        /// A `tune` or `simulate` results folder.
        dir: PathBuf,
        /// Also write every chart as PNG (charts/*.png), rasterised with the system's fonts.
        #[arg(long)]
        png: bool,
    },
    /// Read, summarise and convert recorded traces.
    Trace {
        #[command(subcommand)]
        command: trace::TraceCommand,
    },
    /// Simulate a service under its autoscalers (default: the AMAS model's day with spikes).
    Simulate(simulate::SimulateArgs),
    /// Find autoscaling pitfalls in manifests (default: the embedded AMAS model).
    Lint(lint::LintArgs),
    /// Set fields of a manifest, keeping everything else byte for byte, and show the diff.
    Patch(patch::PatchArgs),
    /// Pull from Prometheus every series calibration and backtests need (request rates,
    /// latency histograms, replicas, pod start-up, CPU, memory, KEDA) into a bundle folder.
    Record(twin::RecordArgs),
    /// Estimate a model's parameters (service time, CPU and memory per request, start-up)
    /// from a recording bundle, each with its interval and fit, and write the model folder.
    Calibrate(twin::CalibrateArgs),
    /// Replay a recorded period's load through a model and compare its replicas and p95 with
    /// what really happened (exit 1 when they disagree beyond the thresholds).
    Backtest(twin::BacktestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        // Bad input is answered inside the subcommands (exit 2); what reaches here failed
        // while running.
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(3)
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Tune(a) => tune::run(a),
        Command::Loadtest(a) => loadtest::run(a),
        Command::Testbed(a) => testbed::run(a),
        Command::Validate(a) => validate::run(a),
        Command::Report { dir, png } => {
            match scaletwin::report::write(&dir, scaletwin::report::Options { png }) {
                Ok(files) => {
                    for f in files {
                        println!("{}", f.display());
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => cli::failed(&e, e.exit_code()),
            }
        }
        Command::Merge(a) => tune::merge(a),
        Command::Simulate(a) => simulate::run(a),
        Command::Trace { command } => trace::run(command),
        Command::Lint(a) => lint::run(a),
        Command::Patch(a) => patch::run(a),
        Command::Record(a) => twin::record(a),
        Command::Calibrate(a) => twin::calibrate(a),
        Command::Backtest(a) => twin::backtest(a),
    }
}
