//! Arrivals, closed-loop users, requests and jobs: admission, routing, service and queues.

use super::*;

impl Sim<'_> {
    pub(super) fn load_segment(&mut self, seg: u64) {
        match self.wl {
            Workload::Open { schedule } => {
                match self.shared {
                    Some(a) => {
                        self.arrivals.clear();
                        self.arrivals.extend_from_slice(a.segment(seg));
                    }
                    None => segment_arrivals(
                        schedule,
                        self.cfg.seed,
                        seg,
                        self.segment_s,
                        &mut self.arrivals,
                    ),
                }
                self.arrival_idx = 0;
                self.segment = seg;
            }
            Workload::Replay { times_s, .. } if seg == 0 => {
                // The recorded times are the arrivals (the segment counter stops further loads).
                self.arrivals = match self.shared {
                    Some(a) => a.segment(0).to_vec(),
                    None => times_s.iter().map(|t| us(*t)).collect(),
                };
                self.arrival_idx = 0;
                self.segment = u64::MAX;
            }
            _ => {}
        }
    }

    /// The time of the next open-loop arrival, loading segments as needed.
    #[inline]
    pub(super) fn next_arrival(&mut self) -> Option<i64> {
        if self.arrival_idx < self.arrivals.len() {
            return Some(self.arrivals[self.arrival_idx]);
        }
        if !matches!(self.wl, Workload::Open { .. }) || self.segment == u64::MAX {
            return None;
        }
        let max_seg = last_segment(self.cfg.duration_s, self.segment_s);
        while self.arrival_idx >= self.arrivals.len() {
            if self.segment >= max_seg {
                return None;
            }
            let next = self.segment + 1;
            self.load_segment(next);
        }
        Some(self.arrivals[self.arrival_idx])
    }

    pub(super) fn on_arrival(&mut self) {
        self.arrival_idx += 1;
        let key = self.arrival_count;
        self.arrival_count += 1;
        let entry = self.m.entry;
        let attr = match self.wl {
            Workload::Replay { attrs: Some(a), .. } => {
                a.get(key as usize).copied().unwrap_or(0.0) as f32
            }
            _ => 0.0,
        };
        self.submit_http(entry, key, NO_USER, attr);
    }

    pub(super) fn on_user(&mut self, u: u32) {
        let it = self.user_iter[u as usize];
        self.user_iter[u as usize] += 1;
        let key = mix((u as u64) << 32 | (it & 0xFFFF_FFFF)) ^ 0x5555;
        let entry = self.m.entry;
        self.submit_http(entry, key, u, 0.0);
    }

    pub(super) fn user_done(&mut self, user: u32, key: u64) {
        if user == NO_USER {
            return;
        }
        if let Workload::Closed { users } = self.wl {
            let think =
                KeyedRng::new(self.cfg.seed, Stream::Think, key).exp(users.think_s.max(0.0));
            let t = self.now + us(think);
            self.push(t, EventKind::User, user, 0);
        }
    }

    pub(super) fn alloc(&mut self, r: Req) -> u32 {
        match self.free.pop() {
            Some(i) => {
                self.reqs[i as usize] = r;
                i
            }
            None => {
                self.reqs.push(r);
                (self.reqs.len() - 1) as u32
            }
        }
    }

    #[inline]
    pub(super) fn advance(&mut self, dep: usize) {
        let d = &mut self.deps[dep];
        let dt = (self.now - d.last_t) as f64 * 1e-6;
        if dt > 0.0 {
            let ready = self.cluster.deps[dep].endpoints.len() as f64;
            let conc = self.m.deployments[dep].concurrency as f64;
            d.busy_area += d.in_service as f64 * dt;
            d.win_busy += d.in_service as f64 * dt;
            let cap = ready * conc * dt;
            d.cap_area += cap;
            d.win_cap += cap;
            d.system_area += d.in_system as f64 * dt;
            d.last_t = self.now;
        }
    }

    /// A request's (or job's) service time: its keyed draw, by label for a categorical
    /// replayed attribute, plus the per-unit time of a numeric one.
    #[inline]
    pub(super) fn service_time(&self, dep: usize, key: u64, attr: f32) -> i64 {
        let dm = &self.m.deployments[dep];
        let mut rng = KeyedRng::keyed(self.work_base, key);
        if let Some(table) = self.label_samplers.get(dep).filter(|t| !t.is_empty()) {
            let sampler = table
                .get(attr as usize)
                .copied()
                .flatten()
                .map(|i| &dm.service_by_label[i].1)
                .unwrap_or(&dm.service);
            return sampler.sample_micros(&mut rng);
        }
        let mut us = dm.service.sample_micros(&mut rng);
        if attr > 0.0 && dm.per_unit_s > 0.0 {
            us += (attr as f64 * dm.per_unit_s * 1e6) as i64;
        }
        us
    }

    pub(super) fn submit_http(&mut self, dep: usize, key: u64, user: u32, attr: f32) {
        let dm = &self.m.deployments[dep];
        let service_us = self.service_time(dep, key, attr);
        let r = Req {
            arrival: self.now,
            key,
            service_us,
            dep: dep as u16,
            queue: NO_QUEUE,
            user,
            attr,
            family: NO_FAMILY,
        };
        self.deps[dep].arrived += 1;
        self.deps[dep].win_arrived += 1;
        if self.cluster.deps[dep].endpoints.is_empty() {
            self.deps[dep].failures.no_endpoint += 1;
            self.deps[dep].win_fail += 1;
            self.user_done(user, key);
            return;
        }
        let id = self.alloc(r);
        self.advance(dep);
        self.deps[dep].in_system += 1;
        if dm.shared_queue {
            if let Some(p) = self.free_pod(dep) {
                self.start_service(p, id);
            } else if self.deps[dep].shared.len() < dm.queue_limit as usize {
                self.deps[dep].shared.push_back(id);
            } else {
                self.reject(dep, id, true);
            }
            return;
        }
        let p = self.route(dep, key);
        let pod = &mut self.pods[p as usize];
        if pod.in_flight < dm.concurrency {
            self.start_service(p, id);
        } else if pod.queue.len() < dm.queue_limit as usize {
            pod.queue.push_back(id);
            self.touch(p);
        } else {
            self.reject(dep, id, true);
        }
    }

    pub(super) fn reject(&mut self, dep: usize, id: u32, queue_full: bool) {
        let r = self.reqs[id as usize];
        let d = &mut self.deps[dep];
        if queue_full {
            d.failures.queue_full += 1;
        } else {
            d.failures.timeout += 1;
        }
        d.win_fail += 1;
        d.in_system -= 1;
        if r.queue == NO_QUEUE {
            // A pod answered it (503 or 504): the service's request counter counts it.
            d.answered_total += 1.0;
        }
        self.free.push(id);
        self.user_done(r.user, r.key);
        self.family_done(r.family, false);
    }

    /// One job of `f` is done (`ok`: it succeeded); the last one records the end-to-end
    /// time of the request it came from (or counts the request as failed end to end).
    pub(super) fn family_done(&mut self, f: u32, ok: bool) {
        if f == NO_FAMILY {
            return;
        }
        let fam = &mut self.families[f as usize];
        fam.ok &= ok;
        fam.outstanding -= 1;
        self.family_check(f);
    }

    fn family_check(&mut self, f: u32) {
        let fam = self.families[f as usize];
        if fam.outstanding > 0 {
            return;
        }
        if fam.origin >= self.warmup_us {
            if fam.ok {
                self.e2e_hist.record((self.now - fam.origin) as u64);
            } else {
                self.e2e_failed += 1;
            }
        }
        self.free_families.push(f);
    }

    fn new_family(&mut self, origin: i64) -> u32 {
        let fam = Family {
            origin,
            outstanding: 0,
            ok: true,
        };
        match self.free_families.pop() {
            Some(f) => {
                self.families[f as usize] = fam;
                f
            }
            None => {
                self.families.push(fam);
                (self.families.len() - 1) as u32
            }
        }
    }

    pub(super) fn route(&mut self, dep: usize, key: u64) -> u32 {
        let d = &mut self.deps[dep];
        let endpoints = &self.cluster.deps[dep].endpoints;
        let n = endpoints.len();
        match self.m.deployments[dep].routing {
            Routing::Random => {
                endpoints[KeyedRng::keyed(self.routing_base, key).below(n as u64) as usize]
            }
            Routing::RoundRobin => {
                d.rr = (d.rr + 1) % n;
                endpoints[d.rr]
            }
            Routing::LeastOutstanding => {
                let load = &self.load;
                *endpoints.iter().min_by_key(|p| load[**p as usize]).unwrap()
            }
        }
    }

    /// Refresh the pod's outstanding-work count after its queue or in-flight count changed.
    #[inline]
    pub(super) fn touch(&mut self, p: u32) {
        let pod = &self.pods[p as usize];
        self.load[p as usize] = pod.in_flight + pod.queue.len() as u32;
        self.busy[p as usize] = if self.cluster.life(p).deleting {
            u32::MAX
        } else {
            pod.in_flight
        };
    }

    pub(super) fn free_pod(&self, dep: usize) -> Option<u32> {
        let conc = self.m.deployments[dep].concurrency;
        let busy = &self.busy;
        self.cluster.deps[dep]
            .endpoints
            .iter()
            .copied()
            .min_by_key(|p| busy[*p as usize])
            .filter(|p| busy[*p as usize] < conc)
    }

    pub(super) fn start_service(&mut self, p: u32, id: u32) {
        let r = self.reqs[id as usize];
        let dep = r.dep as usize;
        let dm = &self.m.deployments[dep];
        if r.queue == NO_QUEUE && self.now - r.arrival > dm.timeout_us {
            self.reject(dep, id, false);
            return;
        }
        self.advance(dep);
        self.deps[dep].in_service += 1;
        if r.queue != NO_QUEUE && r.arrival >= self.warmup_us {
            self.deps[dep]
                .wait_hist
                .record((self.now - r.arrival) as u64);
        }
        let pod = &mut self.pods[p as usize];
        pod.in_flight += 1;
        self.touch(p);
        let t = self.now + r.service_us;
        self.push(t, EventKind::Done, p, id);
    }

    pub(super) fn on_done(&mut self, p: u32, id: u32) {
        let r = self.reqs[id as usize];
        let dep = r.dep as usize;
        if self.cluster.life(p).state == PodState::Gone {
            // Killed at the end of its grace period: already counted.
            self.free.push(id);
            self.family_done(r.family, false);
            return;
        }
        self.advance(dep);
        let dm = &self.m.deployments[dep];
        {
            let pod = &mut self.pods[p as usize];
            pod.in_flight -= 1;
            pod.usage.work_done(dm, self.now);
        }
        self.touch(p);
        let d = &mut self.deps[dep];
        d.in_service -= 1;
        d.in_system -= 1;
        let latency = self.now - r.arrival;
        d.sojourn_sum_s += latency as f64 * 1e-6;
        d.sojourn_n += 1;
        d.answered_total += 1.0;
        if r.queue != NO_QUEUE {
            self.pending[r.queue as usize] -= 1;
        }
        if r.queue == NO_QUEUE && latency > dm.timeout_us {
            d.failures.timeout += 1;
            d.win_fail += 1;
        } else {
            d.succeeded += 1;
            d.win_ok += 1;
            d.completed_total += 1.0;
            if r.arrival >= self.warmup_us {
                d.hist.record(latency as u64);
            }
            d.win_hist.record(latency as u64);
            if self.track_buckets[dep] {
                let b = self
                    .bucket_bounds_us
                    .partition_point(|bound| *bound < latency);
                d.buckets[b] += 1.0;
            }
            if let Some(tok) = &dm.tokens {
                d.tokens += tok.sample(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::Work,
                    r.key ^ 0x70_6b,
                ));
            }
            d.tokens += r.attr as f64 * dm.tokens_per_unit;
            // A request of the entry starts a family; a job's own jobs join its family.
            let family = if r.family != NO_FAMILY {
                r.family
            } else if self.e2e_on && r.queue == NO_QUEUE && dep == self.m.entry {
                self.new_family(r.arrival)
            } else {
                NO_FAMILY
            };
            for (j, (q, count)) in dm.fan_out.iter().enumerate() {
                let n = count.sample(&mut KeyedRng::new(
                    self.cfg.seed,
                    Stream::FanOut,
                    r.key ^ (j as u64) << 56,
                ));
                for k in 0..n {
                    let key = mix(r.key ^ ((j as u64 + 1) << 48) ^ k as u64);
                    self.enqueue_job(*q, key, r.attr, family);
                }
            }
            if r.family != NO_FAMILY {
                self.family_done(r.family, true);
            } else if family != NO_FAMILY {
                self.family_check(family);
            }
        }
        self.free.push(id);
        self.user_done(r.user, r.key);
        self.pull_next(p);
        self.maybe_gone(p);
    }

    pub(super) fn enqueue_job(&mut self, q: usize, key: u64, attr: f32, family: u32) {
        let Some(dep) = self.consumer_of[q] else {
            return;
        };
        if family != NO_FAMILY {
            self.families[family as usize].outstanding += 1;
        }
        let service_us = self.service_time(dep, key, attr);
        let id = self.alloc(Req {
            arrival: self.now,
            key,
            service_us,
            dep: dep as u16,
            queue: q as u16,
            user: NO_USER,
            attr,
            family,
        });
        self.deps[dep].arrived += 1;
        self.deps[dep].win_arrived += 1;
        self.advance(dep);
        self.deps[dep].in_system += 1;
        if let Some(p) = self.free_pod(dep) {
            self.pending[q] += 1;
            self.start_service(p, id);
        } else if self.queues[q].len() < self.m.queues[q].max_length {
            self.queues[q].push_back(id);
        } else {
            self.reject(dep, id, true);
        }
    }

    /// After a pod frees a slot: take the next waiting request or job.
    pub(super) fn pull_next(&mut self, p: u32) {
        let life = self.cluster.life(p);
        let dep = life.dep as usize;
        let dm = &self.m.deployments[dep];
        loop {
            let life = self.cluster.life(p);
            if self.pods[p as usize].in_flight >= dm.concurrency || life.state != PodState::Ready {
                return;
            }
            let deleting = life.deleting;
            let next = if let Some(id) = self.pods[p as usize].queue.pop_front() {
                self.touch(p);
                Some(id)
            } else if deleting {
                None
            } else if dm.shared_queue {
                self.deps[dep].shared.pop_front()
            } else if !dm.consumes.is_empty() {
                let mut id = None;
                for q in &dm.consumes {
                    id = self.queues[*q].pop_front();
                    if id.is_some() {
                        self.pending[*q] += 1;
                        break;
                    }
                }
                id
            } else {
                None
            };
            match next {
                Some(id) => self.start_service(p, id),
                None => return,
            }
        }
    }
}
