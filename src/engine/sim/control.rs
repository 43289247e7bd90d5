//! The metrics pipeline (scrapes, metrics-server samples, the signals triggers read) and the
//! autoscalers: KEDA polls and HPA syncs.

use super::*;

impl Sim<'_> {
    pub(super) fn on_scrape(&mut self) {
        let keep = self.scrape_keep_us;
        for d in self.deps.iter_mut() {
            let scrape = Scrape {
                t: self.now,
                requests: d.completed_total,
                answered: d.answered_total,
                tokens: d.tokens,
                buckets: d.buckets.clone(),
                in_flight: d.in_system as f64,
            };
            keep_scrape(&mut d.scrapes, scrape, keep);
        }
        self.push(
            self.now + us(self.m.metrics.scrape_interval_s),
            EventKind::Scrape,
            0,
            0,
        );
    }

    pub(super) fn max_window_us(&self) -> i64 {
        let mut w = us(60.0);
        for a in &self.autoscalers {
            let sigs = a
                .keda
                .as_ref()
                .map(|k| k.2.iter().flatten().cloned().collect::<Vec<_>>())
                .unwrap_or_default();
            for s in sigs.iter().chain(a.hpa_signals.iter().map(|x| &x.1)) {
                if let SignalRef::RequestRate { window_us, .. }
                | SignalRef::LatencyQuantile { window_us, .. }
                | SignalRef::TokenRate { window_us, .. } = s
                {
                    w = w.max(*window_us);
                }
            }
        }
        w
    }

    pub(super) fn on_metrics_server(&mut self) {
        let res = us(self.m.metrics.metrics_server_resolution_s);
        for p in 0..self.pods.len() {
            let life = &self.cluster.lives[p];
            if !matches!(life.state, PodState::Running | PodState::Ready) {
                continue;
            }
            let dm = &self.m.deployments[life.dep as usize];
            let pod = &mut self.pods[p];
            pod.usage
                .take_sample(dm, life.started, pod.in_flight, self.now, res);
        }
        self.push(self.now + res, EventKind::MetricsServer, 0, 0);
    }

    pub(super) fn rate(
        &self,
        dep: usize,
        window_us: i64,
        pick: impl Fn(&Scrape) -> f64,
    ) -> Option<f64> {
        scrape_rate(&self.deps[dep].scrapes, self.now, window_us, pick)
    }

    pub(super) fn latency_quantile(&self, dep: usize, q: f64, window_us: i64) -> Option<f64> {
        scrape_quantile(
            &self.deps[dep].scrapes,
            self.now,
            q,
            window_us,
            &self.m.metrics.latency_buckets_s,
        )
    }

    pub(super) fn signal(&self, s: &SignalRef) -> Result<Option<f64>, String> {
        Ok(match s {
            SignalRef::RequestRate {
                dep,
                window_us,
                count,
            } => self.rate(*dep, *window_us, |x| x.counted(*count)),
            SignalRef::TokenRate { dep, window_us } => self.rate(*dep, *window_us, |x| x.tokens),
            SignalRef::InFlight { dep } => self.deps[*dep].scrapes.back().map(|x| x.in_flight),
            SignalRef::LatencyQuantile { dep, q, window_us } => {
                self.latency_quantile(*dep, *q, *window_us)
            }
            SignalRef::QueueLength { queue } | SignalRef::StreamLag { queue } => {
                Some(self.queues[*queue].len() as f64)
            }
            SignalRef::StreamPending { queue } => Some(self.pending[*queue] as f64),
            SignalRef::StreamLength { queue } => {
                Some((self.queues[*queue].len() as u64 + self.pending[*queue]) as f64)
            }
            SignalRef::Constant(v) => Some(*v),
            SignalRef::Schedule(points) => Some(SignalRef::scheduled(points, self.now)),
            SignalRef::OfferedRate => Some(match self.wl {
                Workload::Open { schedule } => schedule.rate(self.now as f64 * 1e-6),
                Workload::Replay { times_s, .. } => {
                    // The recorded rate over the last minute.
                    let t = self.now as f64 * 1e-6;
                    let n = times_s.partition_point(|x| *x <= t)
                        - times_s.partition_point(|x| *x <= t - 60.0);
                    n as f64 / 60.0
                }
                Workload::Closed { .. } => 0.0,
            }),
        })
    }

    /// What the HPA sees of pod `p`.
    pub(super) fn pod_status(&self, p: u32) -> PodStatus {
        let life = self.cluster.life(p);
        PodStatus::of(
            life.name.clone(),
            life.state,
            life.started,
            life.ready_at,
            life.deleting,
            self.pods[p as usize].usage.sample,
        )
    }

    pub(super) fn ready_pods(&self, dep: usize) -> i32 {
        self.cluster.ready(dep) as i32
    }

    pub(super) fn on_keda_poll(&mut self, i: usize) {
        // The state the poll changes is taken out; everything else is read in place.
        let Some(mut k) = self.autoscalers[i].keda.take() else {
            return;
        };
        let dep = self.autoscalers[i].dep;
        let current = self.cluster.deps[dep].replicas.spec as i32;
        let ready = self.ready_pods(dep);
        let (d, next) = {
            let sim = &*self;
            controllers::poll_keda(&mut k, current, ready, sim.now, &|idx, sigs| {
                controllers::trigger_signal(sigs, idx, &|s| sim.signal(s))
            })
        };
        if self.cfg.record_decisions {
            let desired = d.set_replicas.unwrap_or(current);
            let changed = d.set_replicas.is_some();
            self.log_decision(&k.0.name, "keda", current, desired, changed, d.explain());
        }
        self.autoscalers[i].keda = Some(k);
        if let Some(n) = d.set_replicas {
            self.set_replicas(dep, n.max(0) as u32);
        }
        self.push(next, EventKind::KedaPoll, i as u32, 0);
    }

    pub(super) fn on_hpa_sync(&mut self, i: usize) {
        let sync = self.m.controller.sync_period.as_micros();
        self.push(self.now + sync, EventKind::HpaSync, i as u32, 0);
        if self.autoscalers[i]
            .keda
            .as_ref()
            .is_some_and(|k| !k.0.hpa_exists())
        {
            return;
        }
        let dep = self.autoscalers[i].dep;
        let current = self.cluster.deps[dep].replicas.spec as i32;
        let status = self.cluster.alive(dep) as i32;
        // The state the sync changes is taken out; everything else is read in place.
        let mut state = std::mem::take(&mut self.autoscalers[i].hpa_state);
        let mut k = self.autoscalers[i].keda.take();
        let (decision, desired) = {
            let sim = &*self;
            let a = &sim.autoscalers[i];
            let inputs = SyncInputs {
                dm: &sim.m.deployments[dep],
                pods: sim.cluster.deps[dep]
                    .pods
                    .iter()
                    .map(|p| sim.pod_status(*p))
                    .collect(),
                resolution_s: sim.m.metrics.metrics_server_resolution_s,
                now_us: sim.now,
                current,
                status,
                ready: sim.ready_pods(dep),
            };
            controllers::sync_hpa(
                &a.hpa,
                &mut state,
                k.as_mut(),
                &a.hpa_signals,
                inputs,
                &sim.m.controller,
                &|s| sim.signal(s),
                &|idx, sigs| controllers::trigger_signal(sigs, idx, &|s| sim.signal(s)),
            )
        };
        let a = &mut self.autoscalers[i];
        a.hpa_state = state;
        a.keda = k;
        if self.cfg.record_decisions {
            let d = DecisionRecord::of_hpa(self.now, &self.autoscalers[i].name, current, &decision);
            self.record(d);
        }
        if let Some(n) = desired {
            self.set_replicas(dep, n.max(0) as u32);
        }
    }
}
