//! What a run may ask for. Memory of a run is bounded by its outputs (per-window statistics,
//! one arrival segment, the pods alive), and its time by its events; each limit here keeps one
//! of those figures within what a run on one machine can do, so that a small input with one
//! wild number is refused up front with the figure it would need, instead of running for days
//! or exhausting memory.

use super::RunConfig;
use crate::engine::model::{AutoscalerKind, Model};
use crate::engine::workload::Workload;

/// The longest run: 400 days (a year of a trace, with room).
pub const MAX_DURATION_S: f64 = 400.0 * 86_400.0;
/// Output windows in a run (each keeps a row of statistics per deployment).
pub const MAX_WINDOWS: f64 = 2_000_000.0;
/// Ticks of any periodic loop (controller sync, scrape, metrics-server sample, KEDA poll).
pub const MAX_TICKS: f64 = 50_000_000.0;
/// Requests a run may expect (an upper bound of the schedule's integral): about a minute
/// to several minutes of simulation on one core.
pub const MAX_REQUESTS: f64 = 1e9;
/// Users of a closed loop (each one is state held for the whole run).
pub const MAX_USERS: u32 = 1_000_000;

/// Refuse a run whose duration, windows, periodic ticks, expected requests or users exceed
/// what a run can do; the message names the figure, the limit and what to change.
pub fn check_run(model: &Model, workload: &Workload, cfg: &RunConfig) -> Result<(), String> {
    let d = cfg.duration_s;
    if !(d.is_finite() && d > 0.0) {
        return Err(format!(
            "the duration must be a number of seconds > 0 (found {d})"
        ));
    }
    if d > MAX_DURATION_S {
        return Err(format!(
            "a duration of {d} s ({:.0} days) is beyond the {:.0} days a run may cover; \
             shorten it",
            d / 86_400.0,
            MAX_DURATION_S / 86_400.0
        ));
    }
    let windows = d / cfg.window_s;
    if windows > MAX_WINDOWS {
        return Err(format!(
            "{d} s in windows of {} s is {windows:.0} windows, above the {MAX_WINDOWS:.0} a run \
             keeps statistics for; widen window_s or shorten the run",
            cfg.window_s
        ));
    }
    let mut periods = vec![
        (
            "controller.sync_period_s",
            model.controller.sync_period.as_secs_f64(),
        ),
        ("metrics.scrape_interval_s", model.metrics.scrape_interval_s),
        (
            "metrics.metrics_server_resolution_s",
            model.metrics.metrics_server_resolution_s,
        ),
    ];
    let polls: Vec<(String, f64)> = model
        .autoscalers
        .iter()
        .filter_map(|a| match &a.kind {
            AutoscalerKind::Keda { spec, .. } => Some((
                format!("ScaledObject {} pollingInterval", a.name),
                spec.polling_interval.as_secs_f64(),
            )),
            AutoscalerKind::Hpa { .. } => None,
        })
        .collect();
    periods.extend(polls.iter().map(|(n, p)| (n.as_str(), *p)));
    for (name, period) in periods {
        let ticks = d / period;
        if ticks.is_nan() || ticks > MAX_TICKS {
            return Err(format!(
                "{name} of {period} s ticks {ticks:.0} times in {d} s, above the \
                 {MAX_TICKS:.0} a run may take; raise it to at least {} s or shorten the run",
                round_up_3(d / MAX_TICKS)
            ));
        }
    }
    match workload {
        Workload::Open { schedule } => {
            let expected = expected_requests_bound(schedule, d);
            if expected.is_nan() || expected > MAX_REQUESTS {
                return Err(format!(
                    "the workload asks for up to {expected:.3e} requests in {d} s (peak {:.3e} \
                     req/s), above the {MAX_REQUESTS:.0e} a run may simulate; lower the rate \
                     or shorten the run",
                    schedule.bound(0.0, d)
                ));
            }
        }
        Workload::Closed { users } if users.users > MAX_USERS => {
            return Err(format!(
                "{} users in a closed loop is above the {MAX_USERS} a run may hold; lower users",
                users.users
            ));
        }
        Workload::Closed { .. } | Workload::Replay { .. } => {}
    }
    Ok(())
}

/// `v` rounded up to three significant digits.
fn round_up_3(v: f64) -> f64 {
    let scale = 10f64.powi(2 - v.log10().floor() as i32);
    (v * scale).ceil() / scale
}

/// An upper bound of the requests a schedule sends in `[0, duration_s)`: its rate bound over
/// each of 10,000 pieces, times the piece.
fn expected_requests_bound(schedule: &crate::engine::workload::RateSchedule, d: f64) -> f64 {
    const PIECES: u32 = 10_000;
    let piece = d / f64::from(PIECES);
    (0..PIECES)
        .map(|i| {
            let t0 = f64::from(i) * piece;
            schedule.bound(t0, t0 + piece) * piece
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::workload::{ClosedLoop, Pattern, RateSchedule};

    fn model() -> Model {
        let d = crate::engine::model::DeploymentModel::new(
            "web",
            crate::engine::dist::DurationDist::Deterministic { value: 0.1 },
        )
        .unwrap();
        Model::single(d)
    }

    fn open(rate: f64) -> Workload {
        Workload::Open {
            schedule: RateSchedule::new(Pattern::Constant { rate }),
        }
    }

    fn cfg(duration_s: f64) -> RunConfig {
        RunConfig {
            duration_s,
            ..RunConfig::default()
        }
    }

    #[test]
    fn runs_a_machine_can_do_pass() {
        let m = model();
        assert_eq!(check_run(&m, &open(20.0), &cfg(86_400.0)), Ok(()));
        assert_eq!(check_run(&m, &open(10_000.0), &cfg(86_400.0)), Ok(()));
        assert_eq!(check_run(&m, &open(1.0), &cfg(365.0 * 86_400.0)), Ok(()));
    }

    #[test]
    fn each_wild_figure_is_refused_with_what_it_would_need() {
        let m = model();
        let e = check_run(&m, &open(1e9), &cfg(10.0)).unwrap_err();
        assert!(e.contains("up to 1.000e10 requests"), "{e}");
        let e = check_run(&m, &open(20.0), &cfg(1e12)).unwrap_err();
        assert!(e.contains("(11574074 days)"), "{e}");
        let mut fast = m.clone();
        fast.controller.sync_period = crate::time::SimDuration::from_micros(1);
        let e = check_run(&fast, &open(20.0), &cfg(600.0)).unwrap_err();
        assert!(
            e.contains("controller.sync_period_s of 0.000001 s ticks 600000000 times")
                && e.contains("at least 0.000012 s"),
            "{e}"
        );
        let users = Workload::Closed {
            users: ClosedLoop {
                users: 100_000_000,
                think_s: 1.0,
                ramp_up_s: 0.0,
            },
        };
        let e = check_run(&m, &users, &cfg(600.0)).unwrap_err();
        assert!(e.contains("100000000 users"), "{e}");
        let e = check_run(
            &m,
            &open(1.0),
            &RunConfig {
                window_s: 1.0,
                ..cfg(300.0 * 86_400.0)
            },
        )
        .unwrap_err();
        assert!(e.contains("25920000 windows"), "{e}");
    }
}
