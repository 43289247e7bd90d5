//! Queueing theory as an oracle for the engine: M/M/c against Erlang C, M/D/1 against
//! Pollaczek–Khinchine, random routing against independent M/M/1 queues, Little's law.

use scaletwin::engine::dist::DurationDist;
use scaletwin::engine::*;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A fixed-replica model: `c` pods of one deployment, concurrency 1.
fn fixed(c: u32, service: DurationDist, shared: bool, routing: Routing) -> Model {
    let mut d = DeploymentModel::new("server", service).unwrap();
    d.initial_replicas = c;
    d.shared_queue = shared;
    d.routing = routing;
    d.queue_limit = u32::MAX;
    Model::single(d)
}

fn erlang_c(c: u32, a: f64) -> f64 {
    // Probability of waiting, computed stably.
    let mut term = 1.0;
    let mut sum = 1.0;
    for k in 1..c {
        term *= a / k as f64;
        sum += term;
    }
    let last = term * a / c as f64;
    let rho = a / c as f64;
    let top = last / (1.0 - rho);
    top / (sum + top)
}

/// Mean waiting time (sojourn minus the service mean) over replications: (mean, half-width
/// of the 95 % confidence interval).
fn mean_wait(
    model: &Model,
    rate: f64,
    service_mean: f64,
    duration: f64,
    reps: u64,
) -> (f64, f64, Vec<Outcome>) {
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate }),
    };
    let mut waits = Vec::new();
    let mut outs = Vec::new();
    for seed in 1..=reps {
        let o = run(
            model,
            &wl,
            RunConfig {
                duration_s: duration,
                seed,
                window_s: 3600.0,
                record_decisions: false,
                // Leave the empty-system transient out of the statistics.
                warmup_s: duration / 10.0,
                ..RunConfig::default()
            },
        );
        let d = &o.deployments[0];
        waits.push(d.latency_ms.mean / 1000.0 - service_mean);
        outs.push(o);
    }
    let n = waits.len() as f64;
    let m = waits.iter().sum::<f64>() / n;
    let var = waits.iter().map(|w| (w - m).powi(2)).sum::<f64>() / (n - 1.0);
    let t = StudentsT::new(0.0, 1.0, n - 1.0)
        .unwrap()
        .inverse_cdf(0.975);
    (m, t * (var / n).sqrt(), outs)
}

fn check(label: &str, got: f64, half: f64, want: f64) {
    let rel = (got - want).abs() / want;
    println!(
        "{label}: simulated {got:.5} ± {half:.5}, theory {want:.5} ({:.2} %)",
        rel * 100.0
    );
    assert!(
        rel <= 0.02 || (got - want).abs() <= half,
        "{label}: simulated {got} ± {half}, theory {want}"
    );
}

fn littles_law_holds(outs: &[Outcome]) {
    for o in outs {
        let l = o.deployments[0].littles_law;
        assert!(
            l.relative_error < 0.01,
            "Little's law off by {:.3} %: {l:?}",
            l.relative_error * 100.0
        );
    }
}

#[test]
fn mmc_matches_erlang_c() {
    let mu = 1.0;
    for c in [1u32, 4, 16] {
        for rho in [0.5, 0.8, 0.95] {
            let lambda = rho * c as f64 * mu;
            let model = fixed(
                c,
                DurationDist::Exponential { mean: 1.0 / mu },
                true,
                Routing::RoundRobin,
            );
            // About 1.5 million requests in all, more at high load where waits vary most.
            let duration = if rho > 0.9 { 4_000_000.0 } else { 200_000.0 } / c as f64;
            let (w, half, outs) = mean_wait(&model, lambda, 1.0 / mu, duration, 10);
            let want = erlang_c(c, lambda / mu) / (c as f64 * mu - lambda);
            check(&format!("M/M/{c} rho={rho}"), w, half, want);
            littles_law_holds(&outs);
        }
    }
}

#[test]
fn md1_matches_pollaczek_khinchine() {
    let mu = 2.0;
    for rho in [0.5, 0.8, 0.95] {
        let lambda = rho * mu;
        let model = fixed(
            1,
            DurationDist::Deterministic { value: 1.0 / mu },
            true,
            Routing::RoundRobin,
        );
        let (w, half, outs) = mean_wait(
            &model,
            lambda,
            1.0 / mu,
            if rho > 0.9 { 500_000.0 } else { 100_000.0 },
            10,
        );
        let want = rho / (2.0 * mu * (1.0 - rho));
        check(&format!("M/D/1 rho={rho}"), w, half, want);
        littles_law_holds(&outs);
    }
}

#[test]
fn random_routing_is_c_independent_mm1_queues() {
    let (c, mu, rho) = (4u32, 1.0, 0.8);
    let lambda = rho * c as f64 * mu;
    let model = fixed(
        c,
        DurationDist::Exponential { mean: 1.0 / mu },
        false,
        Routing::Random,
    );
    let (w, half, outs) = mean_wait(&model, lambda, 1.0 / mu, 60_000.0, 10);
    let per = lambda / c as f64;
    let want = (per / mu) / (mu - per);
    check("4 x M/M/1 (random routing)", w, half, want);
    littles_law_holds(&outs);
    // Join-the-shortest-queue does better than random, and no worse than a shared queue's
    // theory says is possible.
    let lor = fixed(
        c,
        DurationDist::Exponential { mean: 1.0 / mu },
        false,
        Routing::LeastOutstanding,
    );
    let (w_lor, _, _) = mean_wait(&lor, lambda, 1.0 / mu, 60_000.0, 4);
    let mmc = erlang_c(c, lambda / mu) / (c as f64 * mu - lambda);
    assert!(
        w_lor < w && w_lor >= mmc * 0.95,
        "least-outstanding {w_lor}, random {w}, M/M/c {mmc}"
    );
}

#[test]
fn same_seed_same_outcome_and_crn_across_configurations() {
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate: 30.0 }),
    };
    let cfg = || RunConfig {
        duration_s: 600.0,
        seed: 42,
        ..RunConfig::default()
    };
    let a = fixed(
        4,
        DurationDist::Lognormal {
            mean: 0.1,
            p95: 0.25,
        },
        false,
        Routing::Random,
    );
    let o1 = serde_json::to_string(&run(&a, &wl, cfg())).unwrap();
    let o2 = serde_json::to_string(&run(&a, &wl, cfg())).unwrap();
    assert_eq!(o1, o2, "same seed, same bytes");
    // Another configuration sees exactly the same arrivals (same count; the work of request i
    // is the same draw).
    let b = fixed(
        8,
        DurationDist::Lognormal {
            mean: 0.1,
            p95: 0.25,
        },
        false,
        Routing::LeastOutstanding,
    );
    let (ra, rb) = (run(&a, &wl, cfg()), run(&b, &wl, cfg()));
    assert_eq!(ra.deployments[0].arrived, rb.deployments[0].arrived);
    // With no queueing at all (ample capacity), every request's latency is its own service
    // draw, so the latency distribution is identical.
    let big_a = fixed(
        200,
        DurationDist::Lognormal {
            mean: 0.1,
            p95: 0.25,
        },
        false,
        Routing::LeastOutstanding,
    );
    let mut big_b = big_a.clone();
    big_b.deployments[0].routing = Routing::RoundRobin;
    let (x, y) = (run(&big_a, &wl, cfg()), run(&big_b, &wl, cfg()));
    assert_eq!(x.deployments[0].latency_ms, y.deployments[0].latency_ms);
}

#[test]
fn overload_ends_with_counted_failures() {
    let mut m = fixed(
        1,
        DurationDist::Exponential { mean: 0.1 },
        false,
        Routing::RoundRobin,
    );
    m.deployments[0].queue_limit = 50;
    m.deployments[0].timeout_us = 2_000_000;
    let wl = Workload::Open {
        schedule: RateSchedule::new(Pattern::Constant { rate: 30.0 }),
    };
    let o = run(
        &m,
        &wl,
        RunConfig {
            duration_s: 600.0,
            ..RunConfig::default()
        },
    );
    let d = &o.deployments[0];
    assert!(d.saturated);
    assert!(d.failures.queue_full > 0);
    assert_eq!(
        d.arrived,
        d.succeeded + d.failures.total() + d.in_system_at_end,
        "nothing silently dropped"
    );
    assert!(!o.verdicts.success_rate);
}
