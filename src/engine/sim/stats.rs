//! SLO windows, the time series, the decision log and the outcome at the end of a run.

use super::*;

impl Sim<'_> {
    pub(super) fn on_window(&mut self) {
        let w = self.window_us as f64 * 1e-6;
        let slo = self.cfg.slo;
        let t = self.now as f64 * 1e-6;
        for dep in 0..self.deps.len() {
            self.advance(dep);
            let ready = self.ready_pods(dep) as u32;
            let consumes = &self.m.deployments[dep].consumes;
            let q = if consumes.is_empty() {
                self.deps[dep].shared.len() as u64
                    + self.cluster.deps[dep]
                        .pods
                        .iter()
                        .map(|p| self.pods[*p as usize].queue.len() as u64)
                        .sum::<u64>()
            } else {
                consumes.iter().map(|q| self.queues[*q].len() as u64).sum()
            };
            let current = self.cluster.alive(dep) as u32;
            let replicas = &mut self.cluster.deps[dep].replicas;
            replicas.max_seen = replicas.max_seen.max(current);
            let spec = replicas.spec;
            let d = &mut self.deps[dep];
            if spec >= d.max_replicas {
                d.at_max_s += w;
            }
            let n = d.win_ok + d.win_fail;
            let p95 = d.win_hist.quantile(0.95) as f64 / 1000.0;
            let ok_rate = if n == 0 {
                1.0
            } else {
                d.win_ok as f64 / n as f64
            };
            let slo_p95 = self.m.deployments[dep]
                .slo_p95_ms
                .or((dep == self.m.entry).then_some(slo.p95_ms));
            let met = slo_p95.is_none_or(|s| p95 <= s) && ok_rate >= slo.success_rate;
            if n > 0 {
                d.windows += 1;
                if met {
                    d.attained += 1;
                }
            }
            let offered = d.win_arrived as f64 / w;
            if !met
                && n > 0
                && self.stress_break[dep].is_none()
                && matches!(self.wl, Workload::Open { schedule } if matches!(schedule.pattern, crate::engine::workload::Pattern::Stress { .. }))
            {
                self.stress_break[dep] = Some(offered);
            }
            d.window_p95.push((t, met || n == 0, p95));
            let row = SeriesRow {
                t_s: t,
                deployment: self.m.deployments[dep].name.clone(),
                offered_rps: offered,
                desired_replicas: spec,
                current_replicas: current,
                ready_replicas: ready,
                queue_length: q,
                utilization: if d.win_cap > 0.0 {
                    d.win_busy / d.win_cap
                } else {
                    0.0
                },
                p95_ms: p95,
                success_rate: ok_rate,
            };
            d.win_hist.clear();
            d.win_arrived = 0;
            d.win_ok = 0;
            d.win_fail = 0;
            d.win_busy = 0.0;
            d.win_cap = 0.0;
            match self.sink.as_mut() {
                Some(sink) => sink.series(&row),
                None => self.series.push(row),
            }
        }
        self.push(self.now + self.window_us, EventKind::Window, 0, 0);
    }

    /// Log one controller decision (when decisions are recorded).
    pub(super) fn log_decision(
        &mut self,
        object: &str,
        controller: &str,
        current: i32,
        desired: i32,
        changed: bool,
        reason: String,
    ) {
        if self.cfg.record_decisions {
            let d = DecisionRecord::at(
                self.now, object, controller, current, desired, changed, reason,
            );
            self.record(d);
        }
    }

    pub(super) fn record(&mut self, d: DecisionRecord) {
        match self.sink.as_mut() {
            Some(sink) => sink.decision(&d),
            None => self.decisions.push(d),
        }
    }

    pub(super) fn finish(mut self) -> Outcome {
        let spikes = self.wl.spike_starts(self.cfg.duration_s);
        let mut outs = Vec::new();
        let mut total_cost = 0.0;
        let mut total_hours = 0.0;
        for dep in 0..self.deps.len() {
            self.advance(dep);
            let dm = &self.m.deployments[dep];
            let d = &mut self.deps[dep];
            for p in &self.cluster.deps[dep].pods {
                d.pod_seconds +=
                    (self.now - self.cluster.life(*p).created.max(0)).max(0) as f64 * 1e-6;
            }
            let replicas = self.cluster.deps[dep].replicas;
            let hours = d.pod_seconds / 3600.0;
            let c = &self.m.cost;
            let cost = hours
                * (c.pod_hour
                    + c.cpu_hour * dm.cpu_request_milli as f64 / 1000.0
                    + c.gib_hour * dm.memory_request_bytes / (1u64 << 30) as f64);
            total_cost += cost;
            total_hours += hours;
            let finished = d.succeeded + d.failures.total();
            let dur = self.now as f64 * 1e-6;
            let lambda = d.sojourn_n as f64 / dur.max(1e-9);
            let w = if d.sojourn_n > 0 {
                d.sojourn_sum_s / d.sojourn_n as f64
            } else {
                0.0
            };
            let l = d.system_area / dur.max(1e-9);
            let capacity_failures =
                d.failures.queue_full + d.failures.no_endpoint + d.failures.timeout;
            let recovery = spikes
                .iter()
                .map(|s| {
                    let bad: Vec<&(f64, bool, f64)> = d
                        .window_p95
                        .iter()
                        .filter(|(t, met, _)| *t > *s && !met)
                        .collect();
                    let next_spike = spikes
                        .iter()
                        .copied()
                        .find(|x| x > s)
                        .unwrap_or(f64::INFINITY);
                    let last_bad = bad
                        .iter()
                        .filter(|(t, _, _)| *t <= next_spike)
                        .map(|(t, _, _)| *t)
                        .fold(f64::NAN, f64::max);
                    if last_bad.is_nan() { 0.0 } else { last_bad - s }
                })
                .collect();
            outs.push(DeploymentOutcome {
                name: dm.name.clone(),
                arrived: d.arrived,
                succeeded: d.succeeded,
                failures: d.failures,
                in_system_at_end: d.arrived.saturating_sub(finished),
                success_rate: if finished == 0 {
                    1.0
                } else {
                    d.succeeded as f64 / finished as f64
                },
                latency_ms: latency_ms(&d.hist),
                latency_cdf_ms: if d.hist.count() == 0 {
                    Vec::new()
                } else {
                    crate::engine::outcome::CDF_QUANTILES
                        .iter()
                        .map(|&q| (d.hist.quantile(q) as f64 / 1000.0, q))
                        .collect()
                },
                queue_wait_ms: (!dm.consumes.is_empty()).then(|| latency_ms(&d.wait_hist)),
                pod_hours: hours,
                cost,
                scaling_events: replicas.scale_events,
                scale_ups: replicas.ups,
                scale_downs: replicas.downs,
                oscillations: replicas.reversals,
                max_replicas: replicas.max_seen.max(dm.initial_replicas),
                time_at_max_s: d.at_max_s,
                windows: d.windows,
                windows_attained: d.attained,
                window_attainment: if d.windows == 0 {
                    1.0
                } else {
                    d.attained as f64 / d.windows as f64
                },
                recovery_s: recovery,
                breaking_point_rps: self.stress_break[dep],
                littles_law: LittlesLaw {
                    throughput_per_s: lambda,
                    mean_time_in_system_s: w,
                    mean_number_in_system: l,
                    relative_error: if l > 0.0 {
                        ((lambda * w) - l).abs() / l
                    } else {
                        0.0
                    },
                },
                saturated: d.arrived > 0 && capacity_failures as f64 > 0.01 * d.arrived as f64,
            });
        }
        let entry = &outs[self.m.entry];
        let slo = self.cfg.slo;
        let verdicts = Verdicts {
            p95: entry.latency_ms.p95 <= slo.p95_ms,
            success_rate: entry.success_rate >= slo.success_rate,
            window_attainment: entry.window_attainment >= slo.window_attainment,
        };
        Outcome {
            format_version: OUTCOME_FORMAT_VERSION,
            model: self.m.name.clone(),
            seed: self.cfg.seed,
            duration_s: self.cfg.duration_s,
            window_s: self.cfg.window_s,
            slo,
            entry: self.m.deployments[self.m.entry].name.clone(),
            verdicts,
            deployments: outs,
            end_to_end: self.e2e_on.then(|| EndToEnd {
                completed: self.e2e_hist.count(),
                failed: self.e2e_failed,
                latency_ms: latency_ms(&self.e2e_hist),
            }),
            total_cost,
            total_pod_hours: total_hours,
            events_processed: self.events,
            series: std::mem::take(&mut self.series),
            decisions: std::mem::take(&mut self.decisions),
        }
    }
}

/// A histogram of microseconds as a latency summary in milliseconds.
fn latency_ms(h: &Histogram) -> LatencyMs {
    LatencyMs {
        mean: h.mean() / 1000.0,
        p50: h.quantile(0.5) as f64 / 1000.0,
        p95: h.quantile(0.95) as f64 / 1000.0,
        p99: h.quantile(0.99) as f64 / 1000.0,
        max: h.max() as f64 / 1000.0,
    }
}
