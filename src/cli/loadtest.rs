//! `scaletwin loadtest`, and the scenario flags `validate` shares.

use super::usage;
use anyhow::Context;
use scaletwin::loadtest::ScenarioFlags;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct LoadtestArgs {
    #[command(flatten)]
    pub sc: ScenarioFlags,
    /// List the built-in scenarios and exit.
    #[arg(long)]
    pub list: bool,
    /// Write a Grafana dashboard (JSON model) over the load-test and scaling metrics to
    /// PATH (`-`: stdout) and exit.
    #[arg(long, value_name = "PATH")]
    pub grafana_dashboard: Option<String>,
    /// Serve live Prometheus metrics at http://ADDR/metrics during the run (`off`: none).
    #[arg(long, default_value = "127.0.0.1:9464")]
    pub metrics_listen: String,
    /// Compare with a stored report.json and fail on a regression.
    #[arg(long)]
    pub baseline: Option<PathBuf>,
    /// Regression tolerance: relative throughput drop.
    #[arg(long, default_value_t = 0.10)]
    pub tolerance_throughput: f64,
    /// Regression tolerance: success-rate drop (absolute, 0.005 = half a point).
    #[arg(long, default_value_t = 0.005)]
    pub tolerance_success: f64,
    /// Regression tolerance: relative rise of p50/p95/p99.
    #[arg(long, default_value_t = 0.20)]
    pub tolerance_latency: f64,
    /// Results folder (default: output/loadtest-<scenario>).
    #[arg(short, long)]
    pub out: Option<PathBuf>,
    /// No per-second progress lines.
    #[arg(long)]
    pub quiet: bool,
}

pub fn run(a: LoadtestArgs) -> anyhow::Result<ExitCode> {
    use scaletwin::loadtest::{self, Scenario, report};
    if a.list {
        for (name, text) in loadtest::BUILTIN {
            let s = Scenario::parse(std::path::Path::new(name), text)?;
            println!("{name:<20} {}", s.description);
        }
        println!("\n(files in scenarios/; run one with `scaletwin loadtest NAME --target URL`)");
        return Ok(ExitCode::SUCCESS);
    }
    let s = match a.sc.scenario(a.grafana_dashboard.is_some()) {
        Ok(s) => s,
        Err(e) => return usage(e),
    };
    // Drawn on the model clock, sent K times faster.
    let s = match a.sc.time_scale {
        Some(k) if a.grafana_dashboard.is_none() => match loadtest::run::compressed(&s, k) {
            Ok(c) => c,
            Err(e) => return usage(e.to_string()),
        },
        _ => s,
    };
    if let Some(p) = &a.grafana_dashboard {
        let ns =
            a.sc.namespace
                .clone()
                .unwrap_or_else(|| s.namespace.clone());
        let text = serde_json::to_string_pretty(&loadtest::grafana::dashboard(&ns))? + "\n";
        if p == "-" {
            print!("{text}");
        } else {
            scaletwin::io::write_atomic(std::path::Path::new(p), text.as_bytes())
                .with_context(|| format!("writing {p}"))?;
            println!("Grafana dashboard for `{ns}_load_test_*` written to {p} (import it as is)");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let baseline = match &a.baseline {
        Some(p) => match report::LoadReport::read(p) {
            Ok(r) if (r.time_scale - a.sc.time_scale.unwrap_or(1.0)).abs() > 1e-12 => {
                return usage(format!(
                    "--baseline {}: its latencies are at time scale {}, this run's at {}; compare runs of the same --time-scale",
                    p.display(),
                    r.time_scale,
                    a.sc.time_scale.unwrap_or(1.0)
                ));
            }
            Ok(r) => Some(r),
            Err(e) => return usage(format!("--baseline: {e}")),
        },
        None => None,
    };
    let metrics_listen = if a.metrics_listen == "off" {
        None
    } else {
        match a.metrics_listen.parse() {
            Ok(addr) => Some(addr),
            Err(e) => {
                return usage(format!(
                    "--metrics-listen: `{}` is not ADDRESS:PORT or `off`: {e}",
                    a.metrics_listen
                ));
            }
        }
    };
    let dir = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("output/loadtest-{}", s.name)));
    let opts = loadtest::run::RunOptions {
        metrics_listen,
        progress: !a.quiet,
        on_metrics: Some(|addr| eprintln!("metrics: http://{addr}/metrics")),
        record_samples: false,
        stop_on_ctrl_c: true,
        time_scale: a.sc.time_scale,
    };
    eprintln!(
        "loadtest {}: {} for {:.0} s -> {}{}",
        s.name,
        s.workload()
            .map(|w| loadtest::run::describe(&w))
            .unwrap_or_default(),
        s.duration_s,
        s.target
            .as_deref()
            .map(loadtest::redact)
            .unwrap_or_default(),
        s.path
    );
    let r = match loadtest::run::run(&s, &opts) {
        Ok(r) => r,
        Err(e) => return super::failed(&e, e.exit_code()),
    };
    let files = r
        .write(&dir)
        .with_context(|| format!("writing the report to {}", dir.display()))?;
    print!("{}", r.summary());
    // Every request failed: a failed run whatever the SLO says (there may be none).
    let all_failed = r.completed > 0 && r.ok == 0;
    if all_failed {
        eprintln!(
            "loadtest: all {} requests failed ({} connect, {} timeout, {} status, {} body, {} protocol)",
            r.completed,
            r.errors.connect,
            r.errors.timeout,
            r.errors.status,
            r.errors.body,
            r.errors.protocol
        );
    }
    let mut failed = !r.slo.passed() || r.partial || all_failed;
    if let Some(b) = baseline {
        let checks = report::compare(
            &r,
            &b,
            &report::Tolerances {
                throughput: a.tolerance_throughput,
                success_rate: a.tolerance_success,
                latency: a.tolerance_latency,
            },
        );
        let text = report::comparison_text(&checks);
        print!("{text}");
        let p = dir.join("baseline-comparison.json");
        scaletwin::io::write_atomic(
            &p,
            (serde_json::to_string_pretty(&checks)? + "\n").as_bytes(),
        )?;
        failed |= checks.iter().any(|c| c.regressed);
    }
    println!(
        "results: {}",
        files
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
