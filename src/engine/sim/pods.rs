//! Pods: creation, start-up, readiness, endpoints, termination, and the replica changes the
//! autoscalers write.

use super::*;

impl Sim<'_> {
    pub(super) fn new_pod(&mut self, dep: usize, now: i64) -> u32 {
        self.pod_serial += 1;
        self.pods.push(Pod {
            dep: dep as u16,
            serial: self.pod_serial,
            name: cluster::pod_name(&self.m.deployments[dep].name, self.pod_serial),
            state: PodState::Pending,
            created: now,
            started: i64::MIN,
            ready_at: i64::MIN,
            deleting: false,
            in_endpoints: false,
            in_flight: 0,
            queue: VecDeque::new(),
            cpu_s: 0.0,
            cpu_updated: now.max(0),
            cpu_at_sample: 0.0,
            sample: None,
        });
        let id = (self.pods.len() - 1) as u32;
        self.load.push(0);
        self.busy.push(0);
        self.deps[dep].pods.push(id);
        id
    }

    pub(super) fn make_ready(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        self.advance(dep);
        let pod = &mut self.pods[p as usize];
        pod.state = PodState::Ready;
        pod.ready_at = self.now;
        pod.in_endpoints = true;
        self.deps[dep].endpoints.push(p);
        self.pull_next(p);
    }

    pub(super) fn on_started(&mut self, p: u32) {
        let pod = &mut self.pods[p as usize];
        if pod.state != PodState::Pending {
            return;
        }
        pod.state = PodState::Running;
        pod.started = self.now;
        pod.cpu_updated = self.now;
        let dm = &self.m.deployments[pod.dep as usize];
        let t = self.now + dm.readiness_initial_delay_us;
        self.push(t, EventKind::PodReady, p, 0);
    }

    pub(super) fn on_ready(&mut self, p: u32) {
        if self.pods[p as usize].state == PodState::Running && !self.pods[p as usize].deleting {
            self.make_ready(p);
        }
    }

    pub(super) fn remove_endpoint(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        if self.pods[p as usize].in_endpoints {
            self.advance(dep);
            self.pods[p as usize].in_endpoints = false;
            self.deps[dep].endpoints.retain(|x| *x != p);
        }
    }

    pub(super) fn on_endpoint_gone(&mut self, p: u32) {
        self.remove_endpoint(p);
        self.maybe_gone(p);
    }

    pub(super) fn maybe_gone(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        if pod.deleting
            && !pod.in_endpoints
            && pod.in_flight == 0
            && pod.queue.is_empty()
            && pod.state != PodState::Gone
        {
            self.gone(p);
        }
    }

    pub(super) fn gone(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        self.advance(dep);
        let pod = &mut self.pods[p as usize];
        pod.state = PodState::Gone;
        let life = (self.now - pod.created.max(0)).max(0) as f64 * 1e-6;
        self.deps[dep].pod_seconds += life;
        self.deps[dep].pods.retain(|x| *x != p);
        self.deps[dep].endpoints.retain(|x| *x != p);
    }

    pub(super) fn on_kill(&mut self, p: u32) {
        if self.pods[p as usize].state == PodState::Gone {
            return;
        }
        let dep = self.pods[p as usize].dep as usize;
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
        let d = &mut self.deps[dep];
        if !d.replicas.set(n) {
            return;
        }
        let alive: Vec<u32> = d
            .pods
            .iter()
            .copied()
            .filter(|p| !self.pods[*p as usize].deleting)
            .collect();
        let dm = &self.m.deployments[dep];
        if (n as usize) > alive.len() {
            for _ in alive.len()..n as usize {
                let p = self.new_pod(dep, self.now);
                let serial = self.pods[p as usize].serial;
                let delay = dm.startup.sample_micros(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::Startup,
                    serial ^ (dep as u64) << 40,
                ));
                self.push(self.now + delay, EventKind::PodStarted, p, 0);
            }
        } else {
            let k = alive.len() - n as usize;
            for p in cluster::victims(&alive, k, |p| self.pods[p as usize].candidate()) {
                self.delete_pod(p);
            }
        }
    }

    pub(super) fn delete_pod(&mut self, p: u32) {
        let dep = self.pods[p as usize].dep as usize;
        let dm = &self.m.deployments[dep];
        self.pods[p as usize].deleting = true;
        self.touch(p);
        if self.pods[p as usize].state != PodState::Ready {
            self.gone(p);
            return;
        }
        self.push(
            self.now + dm.endpoint_removal_delay_us,
            EventKind::EndpointGone,
            p,
            0,
        );
        self.push(self.now + dm.grace_period_us, EventKind::PodKill, p, 0);
    }
}
