//! Engine throughput: the fixed-replica M/M/c kernel, and the AMAS orchestrator under its
//! autoscaler at 1,000 req/s.
//!
//! `cargo bench --bench engine`

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use scaletwin::engine::dist::DurationDist;
use scaletwin::engine::fluid;
use scaletwin::engine::*;
use std::hint::black_box;

fn mmc(c: u32) -> Model {
    let mut d = DeploymentModel::new("server", DurationDist::Exponential { mean: 1.0 }).unwrap();
    d.initial_replicas = c;
    d.shared_queue = true;
    d.queue_limit = u32::MAX;
    Model::single(d)
}

fn bench(c: &mut Criterion) {
    // M/M/4 at utilization 0.8: 3.2 req/s for 312,500 s = 1,000,000 requests on average.
    let model = mmc(4);
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate: 3.2 }),
    };
    let mut g = c.benchmark_group("mmc_kernel");
    g.sample_size(10);
    g.throughput(Throughput::Elements(1_000_000));
    g.bench_function("m_m_4_rho_0.8_1M_requests", |b| {
        b.iter(|| {
            let cfg = RunConfig {
                duration_s: 312_500.0,
                record_decisions: false,
                ..RunConfig::default()
            };
            black_box(run(&model, &wl, cfg).deployments[0].succeeded)
        })
    });
    g.finish();

    let mut amas = scaletwin::scenario::embedded_amas().load().unwrap().model;
    amas.restrict(&["amas-orchestrator".to_string()]).unwrap();
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate: 1000.0 }),
    };
    let mut g = c.benchmark_group("amas_orchestrator");
    g.sample_size(10);
    g.throughput(Throughput::Elements(3_600_000));
    g.bench_function("autoscaled_1000_rps_1h", |b| {
        b.iter(|| {
            let cfg = RunConfig {
                duration_s: 3600.0,
                record_decisions: false,
                ..RunConfig::default()
            };
            black_box(run(&amas, &wl, cfg).deployments[0].succeeded)
        })
    });
    g.finish();

    // The two fidelities of a sweep on the same evaluation: the orchestrator for 6 hours of
    // the AMAS diurnal day (mean 100 req/s) with spikes.
    let day = Workload::Open {
        schedule: RateSchedule {
            pattern: Pattern::Diurnal {
                mean: 100.0,
                amplitude: 0.6,
                peak_hour: 14.0,
            },
            spikes: None,
            scale: 1.0,
        },
    };
    let cfg = RunConfig {
        duration_s: 6.0 * 3600.0,
        record_decisions: false,
        ..RunConfig::default()
    };
    let mut g = c.benchmark_group("fidelity");
    g.sample_size(10);
    g.bench_function("engine_orchestrator_6h_100rps", |b| {
        b.iter(|| black_box(run(&amas, &day, cfg.clone()).total_pod_hours))
    });
    g.bench_function("fluid_orchestrator_6h_100rps", |b| {
        b.iter(|| black_box(fluid::run(&amas, &day, &cfg).pod_hours))
    });
    g.finish();
}

/// A recorded trace against a synthetic pattern of the same mean rate, on the same model:
/// the engine's cost per request should not depend on where the arrivals come from.
fn trace_vs_pattern(c: &mut Criterion) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/traces/twitter-stream-2021-08.per-second.orig.txt");
    let Ok(mut trace) =
        scaletwin::trace::read::read(&path, &scaletwin::trace::read::ReadOptions::default())
    else {
        eprintln!("skipping trace_vs_pattern: {} not found", path.display());
        return;
    };
    trace.window(0.0, 6.0 * 3600.0);
    let requests = trace.total();
    let mean = requests / trace.span_s();
    let mut model = mmc(64);
    model.deployments[0].service = scaletwin::engine::dist::DurationDist::Exponential { mean: 0.1 }
        .sampler()
        .unwrap();
    let replay = trace.to_workload(scaletwin::trace::Interpolation::Constant);
    let synthetic = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate: mean }),
    };
    let mut g = c.benchmark_group("trace_vs_pattern");
    g.sample_size(10);
    g.throughput(Throughput::Elements(requests as u64));
    for (name, wl) in [
        ("twitter_6h_replay", &replay),
        ("constant_same_mean", &synthetic),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let cfg = RunConfig {
                    duration_s: 6.0 * 3600.0,
                    record_decisions: false,
                    ..RunConfig::default()
                };
                black_box(run(&model, wl, cfg).deployments[0].succeeded)
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench, trace_vs_pattern);
criterion_main!(benches);
