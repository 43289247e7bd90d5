//! The metrics pipeline (scrapes, metrics-server samples, the signals triggers read) and the
//! autoscalers: KEDA polls and HPA syncs.

use super::*;

impl Sim<'_> {
    pub(super) fn on_scrape(&mut self) {
        let keep = self.scrape_keep_us;
        for d in self.deps.iter_mut() {
            let in_flight: u64 = d.in_system;
            d.scrapes.push_back(Scrape {
                t: self.now,
                requests: d.completed_total,
                tokens: d.tokens,
                buckets: d.buckets.clone(),
                in_flight: in_flight as f64,
            });
            while d.scrapes.front().is_some_and(|s| s.t < self.now - keep) {
                d.scrapes.pop_front();
            }
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
            let pod = &mut self.pods[p];
            if !matches!(pod.state, PodState::Running | PodState::Ready) {
                continue;
            }
            let dm = &self.m.deployments[pod.dep as usize];
            let idle = dm.idle_cpu_millicores * 1e-3 * (self.now - pod.cpu_updated) as f64 * 1e-6;
            pod.cpu_s += idle;
            pod.cpu_updated = self.now;
            let window = (self.now - pod.started).clamp(1, res);
            let cpu_milli = (pod.cpu_s - pod.cpu_at_sample) * 1e3 / (window as f64 * 1e-6);
            pod.cpu_at_sample = pod.cpu_s;
            let mem = dm.memory_base_bytes + dm.memory_per_inflight_bytes * pod.in_flight as f64;
            if self.now - pod.started >= res {
                pod.sample = Some((self.now, cpu_milli, mem * 1e3));
            }
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
            SignalRef::RequestRate { dep, window_us } => {
                self.rate(*dep, *window_us, |x| x.requests)
            }
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
        let pod = &self.pods[p as usize];
        PodStatus {
            name: format!(
                "{}-{}",
                self.m.deployments[pod.dep as usize].name, pod.serial
            ),
            started: (pod.state != PodState::Pending).then_some(pod.started),
            ready: pod.state == PodState::Ready,
            ready_at: pod.ready_at,
            deleting: pod.deleting,
            sample: pod.sample,
        }
    }

    pub(super) fn ready_pods(&self, dep: usize) -> i32 {
        self.deps[dep]
            .pods
            .iter()
            .filter(|p| {
                let pod = &self.pods[**p as usize];
                pod.state == PodState::Ready
            })
            .count() as i32
    }

    pub(super) fn on_keda_poll(&mut self, i: usize) {
        let mut a = self.autoscalers[i].clone();
        let dep = a.dep;
        let current = self.deps[dep].replicas.spec as i32;
        let ready = self.ready_pods(dep);
        let now = SimTime::from_micros(self.now);
        let Some((spec, st, sigs)) = a.keda.as_mut() else {
            return;
        };
        let mut read =
            |idx: usize, _t: &Trigger| controllers::trigger_signal(sigs, idx, &|s| self.signal(s));
        let d = keda::poll(spec, st, current, ready, now, &mut read);
        let interval = spec.polling_interval.as_micros();
        self.log_decision(
            &spec.name,
            "keda",
            current,
            d.set_replicas.unwrap_or(current),
            d.set_replicas.is_some(),
            d.explain(),
        );
        self.autoscalers[i] = a;
        if let Some(n) = d.set_replicas {
            self.set_replicas(dep, n.max(0) as u32);
        }
        self.push(self.now + interval.max(1), EventKind::KedaPoll, i as u32, 0);
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
        let mut a = self.autoscalers[i].clone();
        let dep = a.dep;
        let current = self.deps[dep].replicas.spec as i32;
        let status = self.deps[dep]
            .pods
            .iter()
            .filter(|p| !self.pods[**p as usize].deleting)
            .count() as i32;
        let now = SimTime::from_micros(self.now);
        let (decision, desired) = {
            let sim = &*self;
            let dm = &sim.m.deployments[dep];
            let ready = sim.ready_pods(dep);
            let hs = &a.hpa_signals;
            let bound = |metric: &str| metric_signal(hs, metric, &|s| sim.signal(s));
            let mut keda = a.keda.as_mut();
            let mut external = |metric: &str| {
                external_metric(
                    keda.as_deref_mut(),
                    metric,
                    current,
                    ready,
                    &|s| sim.signal(s),
                    &|| bound(metric),
                )
            };
            let mut view = PodsView {
                dm,
                pods: sim.deps[dep]
                    .pods
                    .iter()
                    .map(|p| sim.pod_status(*p))
                    .collect(),
                resolution_s: sim.m.metrics.metrics_server_resolution_s,
                now_us: sim.now,
                bound: &bound,
                external: &mut external,
            };
            hpa_sync(
                &a.hpa,
                &mut a.hpa_state,
                &mut view,
                &sim.m.controller,
                now,
                current,
                status,
            )
        };
        self.log_decision(
            &a.name,
            "hpa",
            current,
            decision.desired,
            decision.scale_updated,
            decision.explain(),
        );
        self.autoscalers[i] = a;
        if let Some(n) = desired {
            self.set_replicas(dep, n.max(0) as u32);
        }
    }
}
