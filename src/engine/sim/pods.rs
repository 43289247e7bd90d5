//! Pods in the simulator: the cluster's pod lifecycle ([`crate::cluster::pods`]) with the
//! simulator's part of each step (its statistics brought up to date before the endpoints
//! change, queued work served, drained or failed, and the events scheduled).

use super::*;

impl Sim<'_> {
    pub(super) fn new_pod(&mut self, dep: usize, now: i64) -> u32 {
        let id = self.cluster.create(self.m, dep, now);
        self.pods.push(Pod {
            in_flight: 0,
            queue: VecDeque::new(),
            usage: Usage::new(now),
        });
        self.load.push(0);
        self.busy.push(0);
        id
    }

    pub(super) fn make_ready(&mut self, p: u32) {
        let dep = self.cluster.life(p).dep as usize;
        self.advance(dep);
        self.cluster.make_ready(p, self.now);
        self.pull_next(p);
    }

    pub(super) fn on_started(&mut self, p: u32) {
        if !self.cluster.start(p, self.now) {
            return;
        }
        self.pods[p as usize].usage.cpu_updated = self.now;
        let dep = self.cluster.life(p).dep as usize;
        let t = self.now + self.m.deployments[dep].readiness_initial_delay_us;
        self.push(t, EventKind::PodReady, p, 0);
    }

    pub(super) fn on_ready(&mut self, p: u32) {
        if self.cluster.passes_readiness(p) {
            self.make_ready(p);
        }
    }

    pub(super) fn remove_endpoint(&mut self, p: u32) {
        if self.cluster.life(p).in_endpoints {
            self.advance(self.cluster.life(p).dep as usize);
            self.cluster.leave_endpoints(p);
        }
    }

    pub(super) fn on_endpoint_gone(&mut self, p: u32) {
        self.remove_endpoint(p);
        self.maybe_gone(p);
    }

    pub(super) fn maybe_gone(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        if self
            .cluster
            .may_go(p, pod.in_flight == 0 && pod.queue.is_empty())
        {
            self.gone(p);
        }
    }

    pub(super) fn gone(&mut self, p: u32) {
        let dep = self.cluster.life(p).dep as usize;
        self.advance(dep);
        self.cluster.remove(p);
        let life = (self.now - self.cluster.life(p).created.max(0)).max(0) as f64 * 1e-6;
        self.deps[dep].pod_seconds += life;
    }

    pub(super) fn on_kill(&mut self, p: u32) {
        if self.cluster.life(p).state == PodState::Gone {
            return;
        }
        let dep = self.cluster.life(p).dep as usize;
        self.remove_endpoint(p);
        self.advance(dep);
        let queued: Vec<u32> = self.pods[p as usize].queue.drain(..).collect();
        let in_flight = self.pods[p as usize].in_flight;
        let stream_requeue = |s: &Self, id: u32| {
            let r = s.reqs[id as usize];
            r.queue != NO_QUEUE && s.m.queues[r.queue as usize].kind == QueueKind::Stream
        };
        for id in queued {
            let r = self.reqs[id as usize];
            if stream_requeue(self, id) {
                self.queues[r.queue as usize].push_front(id);
                continue;
            }
            let d = &mut self.deps[dep];
            d.failures.killed += 1;
            d.win_fail += 1;
            d.in_system -= 1;
            self.free.push(id);
            self.user_done(r.user, r.key);
            self.family_done(r.family, false);
        }
        // In-service work: counted now, freed when its completion event fires.
        let d = &mut self.deps[dep];
        d.failures.killed += in_flight as u64;
        d.win_fail += in_flight as u64;
        d.in_service -= in_flight as u64;
        d.in_system -= in_flight as u64;
        self.pods[p as usize].in_flight = 0;
        self.touch(p);
        self.gone(p);
    }

    /// Make the deployment's pod count follow `n` (the Deployment/ReplicaSet controller).
    pub(super) fn set_replicas(&mut self, dep: usize, n: u32) {
        match self.cluster.scale(dep, n) {
            None => {}
            Some(Ok(create)) => {
                for _ in 0..create {
                    let p = self.new_pod(dep, self.now);
                    let delay = self.cluster.startup_delay(self.m, self.cfg.seed, p);
                    self.push(self.now + delay, EventKind::PodStarted, p, 0);
                }
            }
            Some(Err(victims)) => {
                for p in victims {
                    self.delete_pod(p);
                }
            }
        }
    }

    pub(super) fn delete_pod(&mut self, p: u32) {
        let next = self.cluster.delete(self.m, p, self.now);
        self.touch(p);
        match next {
            Deletion::Now => self.gone(p),
            Deletion::Drain {
                endpoint_gone_at,
                kill_at,
            } => {
                self.push(endpoint_gone_at, EventKind::EndpointGone, p, 0);
                self.push(kill_at, EventKind::PodKill, p, 0);
            }
        }
    }
}
