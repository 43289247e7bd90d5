//! The testbed's control plane: scrapes and metrics-server samples of its own counters, the
//! signals triggers read, and the KEDA polls and HPA syncs that change its replicas.

use super::*;

impl World {
    pub(super) fn scrape(&mut self) {
        let (now, keep) = (self.now, self.keep_us);
        for d in self.deps.iter_mut() {
            let scrape = Scrape {
                t: now,
                requests: d.completed_total,
                answered: d.answered_total,
                tokens: d.tokens,
                buckets: d.buckets.clone(),
                in_flight: d.in_system as f64,
            };
            keep_scrape(&mut d.scrapes, scrape, keep);
        }
    }

    pub(super) fn metrics_server(&mut self) {
        let res = us(self.m.metrics.metrics_server_resolution_s);
        let now = self.now;
        for (life, pod) in self.cluster.lives.iter().zip(self.pods.iter_mut()) {
            if !matches!(life.state, PodState::Running | PodState::Ready) {
                continue;
            }
            let dm = &self.m.deployments[life.dep as usize];
            pod.usage
                .take_sample(dm, life.started, pod.in_flight, now, res);
        }
    }

    pub(super) fn signal(&self, s: &SignalRef) -> Result<Option<f64>, String> {
        let now = self.now;
        Ok(match s {
            SignalRef::RequestRate {
                dep,
                window_us,
                count,
            } => scrape_rate(&self.deps[*dep].scrapes, now, *window_us, |x| {
                x.counted(*count)
            }),
            SignalRef::TokenRate { dep, window_us } => {
                scrape_rate(&self.deps[*dep].scrapes, now, *window_us, |x| x.tokens)
            }
            SignalRef::InFlight { dep } => self.deps[*dep].scrapes.back().map(|x| x.in_flight),
            SignalRef::LatencyQuantile { dep, q, window_us } => scrape_quantile(
                &self.deps[*dep].scrapes,
                now,
                *q,
                *window_us,
                &self.m.metrics.latency_buckets_s,
            ),
            SignalRef::QueueLength { queue } | SignalRef::StreamLag { queue } => {
                Some(self.queues[*queue].len() as f64)
            }
            SignalRef::StreamPending { queue } => Some(self.pending[*queue] as f64),
            SignalRef::StreamLength { queue } => {
                Some((self.queues[*queue].len() as u64 + self.pending[*queue]) as f64)
            }
            SignalRef::Constant(v) => Some(*v),
            SignalRef::Schedule(points) => Some(SignalRef::scheduled(points, now)),
            SignalRef::OfferedRate => {
                return Err(
                    "the offered-rate signal is the simulator's forecast; a live testbed cannot know it"
                        .into(),
                );
            }
        })
    }

    /// Trigger `idx` of autoscaler `i`: the value fetched from a real Prometheus when there
    /// is one, otherwise the bound signal.
    pub(super) fn trigger_value(
        &self,
        i: usize,
        idx: usize,
        sigs: &[Option<SignalRef>],
    ) -> Result<Option<f64>, String> {
        if let Some(v) = self.fetched.get(&(i, idx)) {
            return v.clone();
        }
        controllers::trigger_signal(sigs, idx, &|s| self.signal(s))
    }

    /// What the HPA sees of pod `p`.
    pub(super) fn pod_status(&self, p: usize) -> PodStatus {
        let life = self.life(p);
        PodStatus::of(
            life.name.clone(),
            life.state,
            life.started,
            life.ready_at,
            life.deleting,
            self.pods[p].usage.sample,
        )
    }

    pub(super) fn ready_pods(&self, dep: usize) -> i32 {
        self.cluster.ready(dep) as i32
    }

    pub(super) fn keda_poll(&mut self, i: usize, jobs: &mut Vec<JobStart>) {
        let Some(mut k) = self.autoscalers[i].keda.take() else {
            return;
        };
        let dep = self.autoscalers[i].dep;
        let current = self.cluster.deps[dep].replicas.spec as i32;
        let ready = self.ready_pods(dep);
        let (d, next) = {
            let w = &*self;
            controllers::poll_keda(&mut k, current, ready, w.now, &|idx, sigs| {
                w.trigger_value(i, idx, sigs)
            })
        };
        let name = k.0.name.clone();
        self.autoscalers[i].keda = Some(k);
        let reason = d.explain();
        if let Some(n) = d.set_replicas
            && n != current
        {
            self.log.push(format!(
                "{:>9.1} s  keda {name}: {current} -> {n}: {reason}",
                self.now as f64 * 1e-6,
            ));
        }
        let desired = d.set_replicas.unwrap_or(current);
        self.decided(
            &name,
            "keda",
            current,
            desired,
            d.set_replicas.is_some(),
            reason,
        );
        if let Some(n) = d.set_replicas {
            self.set_replicas(dep, n.max(0) as u32);
            for p in self.endpoints(dep) {
                jobs.extend(self.pull(p));
            }
        }
        self.schedule(next, Timer::KedaPoll(i));
    }

    pub(super) fn hpa_sync(&mut self, i: usize, jobs: &mut Vec<JobStart>) {
        let sync = self.m.controller.sync_period.as_micros();
        self.schedule(self.now + sync, Timer::HpaSync(i));
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
            let w = &*self;
            let a = &w.autoscalers[i];
            let inputs = SyncInputs {
                dm: &w.m.deployments[dep],
                pods: w.cluster.deps[dep]
                    .pods
                    .iter()
                    .map(|p| w.pod_status(*p as usize))
                    .collect(),
                resolution_s: w.m.metrics.metrics_server_resolution_s,
                now_us: w.now,
                current,
                status,
                ready: w.ready_pods(dep),
            };
            controllers::sync_hpa(
                &a.hpa,
                &mut state,
                k.as_mut(),
                &a.hpa_signals,
                inputs,
                &w.m.controller,
                &|s| w.signal(s),
                &|idx, sigs| w.trigger_value(i, idx, sigs),
            )
        };
        let a = &mut self.autoscalers[i];
        a.hpa_state = state;
        a.keda = k;
        a.desired = decision.desired;
        let d = DecisionRecord::of_hpa(self.now, &a.name, current, &decision);
        if decision.scale_updated {
            self.log.push(format!(
                "{:>9.1} s  hpa {}: {current} -> {}: {}",
                self.now as f64 * 1e-6,
                d.object,
                decision.desired,
                d.reason
            ));
        }
        self.keep_decision(d);
        if let Some(n) = desired {
            self.set_replicas(dep, n.max(0) as u32);
            for p in self.endpoints(dep) {
                jobs.extend(self.pull(p));
            }
        }
    }
}
