//! Pods and their life: creation with a start-up delay, readiness, the Service's endpoints,
//! deletion (at once for a pod that is not ready, otherwise leaving the endpoints and then
//! killed after its grace period) and the ReplicaSet's answer to a replica count. The
//! simulator and the testbed keep each pod's work (requests in flight, queues, CPU) in their
//! own tables under the same id and call this code for everything else.

use super::{Candidate, PodState, Replicas, pod_name, victims};
use crate::engine::model::{DeploymentModel, Model};
use crate::engine::rng::{KeyedRng, Stream};
use crate::policy::hpa::Name;

/// The most pods of one deployment a model may ask for: the 150,000 pods Kubernetes documents
/// as the largest cluster it supports. Each pod is state held by a run, so a replica count
/// beyond it is refused rather than allocated.
pub const MAX_PODS: u32 = 150_000;

/// A pod's life as every driver tracks it.
#[derive(Clone, Debug)]
pub struct Life {
    pub dep: u16,
    /// Creation order (1 for the first pod of the run).
    pub serial: u64,
    /// As the HPA lists it ([`pod_name`]).
    pub name: Name,
    pub state: PodState,
    /// Creation, start and readiness times, microseconds (`i64::MIN`: not yet).
    pub created: i64,
    pub started: i64,
    pub ready_at: i64,
    /// Being deleted (no longer counted among the ReplicaSet's pods).
    pub deleting: bool,
    pub in_endpoints: bool,
}

impl Life {
    /// The pod as the ReplicaSet controller ranks it for deletion.
    pub fn candidate(&self) -> Candidate {
        Candidate::of(self.state, self.created, self.serial)
    }
}

/// A Deployment's pods (not gone), the ready ones in its Service's endpoints, and its
/// `spec.replicas`.
#[derive(Clone, Debug, Default)]
pub struct Members {
    pub pods: Vec<u32>,
    pub endpoints: Vec<u32>,
    pub replicas: Replicas,
}

/// What a pod being deleted does next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deletion {
    /// Not ready: it goes at once.
    Now,
    /// Ready: it leaves the endpoints at the first time and is killed at the second (unless
    /// it drained and went before).
    Drain { endpoint_gone_at: i64, kill_at: i64 },
}

/// Every pod of a run by id, and each Deployment's members.
#[derive(Clone, Debug, Default)]
pub struct Pods {
    pub lives: Vec<Life>,
    pub deps: Vec<Members>,
    serial: u64,
}

impl Pods {
    /// A cluster with `deployments` Deployments and no pods yet.
    pub fn new(deployments: usize) -> Pods {
        Pods {
            lives: Vec::new(),
            deps: vec![Members::default(); deployments],
            serial: 0,
        }
    }

    #[inline]
    pub fn life(&self, p: u32) -> &Life {
        &self.lives[p as usize]
    }

    /// Create a pod of Deployment `dep` (of `m`) at `now`; it is Pending.
    pub fn create(&mut self, m: &Model, dep: usize, now: i64) -> u32 {
        self.serial += 1;
        self.lives.push(Life {
            dep: dep as u16,
            serial: self.serial,
            name: pod_name(&m.deployments[dep].name, self.serial),
            state: PodState::Pending,
            created: now,
            started: i64::MIN,
            ready_at: i64::MIN,
            deleting: false,
            in_endpoints: false,
        });
        let id = (self.lives.len() - 1) as u32;
        self.deps[dep].pods.push(id);
        id
    }

    /// The start-up delay of pod `p` (scheduling, image pull, process start), drawn from its
    /// Deployment's distribution with a key of its own, so that it does not depend on what
    /// else the run drew.
    pub fn startup_delay(&self, m: &Model, seed: u64, p: u32) -> i64 {
        let life = self.life(p);
        let dep = life.dep as usize;
        m.deployments[dep].startup.sample_micros(&mut KeyedRng::new(
            seed,
            Stream::Startup,
            life.serial ^ (dep as u64) << 40,
        ))
    }

    /// The pod's containers started at `now`: Pending becomes Running. False (nothing
    /// changed) for a pod that is not pending any more.
    pub fn start(&mut self, p: u32, now: i64) -> bool {
        let life = &mut self.lives[p as usize];
        if life.state != PodState::Pending {
            return false;
        }
        life.state = PodState::Running;
        life.started = now;
        true
    }

    /// Whether the pod's readiness probe passing makes it ready: it is running and not
    /// being deleted.
    pub fn passes_readiness(&self, p: u32) -> bool {
        let life = self.life(p);
        life.state == PodState::Running && !life.deleting
    }

    /// The pod is ready at `now` and joins its Service's endpoints.
    pub fn make_ready(&mut self, p: u32, now: i64) {
        let life = &mut self.lives[p as usize];
        life.state = PodState::Ready;
        life.ready_at = now;
        life.in_endpoints = true;
        self.deps[life.dep as usize].endpoints.push(p);
    }

    /// The pod leaves its Service's endpoints; false when it was not in them.
    pub fn leave_endpoints(&mut self, p: u32) -> bool {
        let life = &mut self.lives[p as usize];
        if !life.in_endpoints {
            return false;
        }
        life.in_endpoints = false;
        self.deps[life.dep as usize].endpoints.retain(|x| *x != p);
        true
    }

    /// Deployment `dep`'s pods that are not being deleted (what its ReplicaSet counts).
    pub fn alive(&self, dep: usize) -> usize {
        self.deps[dep]
            .pods
            .iter()
            .filter(|p| !self.life(**p).deleting)
            .count()
    }

    /// Deployment `dep`'s ready pods.
    pub fn ready(&self, dep: usize) -> usize {
        self.deps[dep]
            .pods
            .iter()
            .filter(|p| self.life(**p).state == PodState::Ready)
            .count()
    }

    /// Whether a pod being deleted can go now, given whether it has work left.
    pub fn may_go(&self, p: u32, idle: bool) -> bool {
        let life = self.life(p);
        life.deleting && !life.in_endpoints && idle && life.state != PodState::Gone
    }

    /// The pod is gone: out of its Deployment and its endpoints.
    pub fn remove(&mut self, p: u32) {
        let life = &mut self.lives[p as usize];
        life.state = PodState::Gone;
        let d = &mut self.deps[life.dep as usize];
        d.pods.retain(|x| *x != p);
        d.endpoints.retain(|x| *x != p);
    }

    /// A write of `n` replicas to Deployment `dep`, as the ReplicaSet answers it: `Ok` with
    /// the pods to create (how many), `Err` with the pods to delete, in the order it deletes
    /// them; `None` when `n` is the spec already.
    pub fn scale(&mut self, dep: usize, n: u32) -> Option<Result<usize, Vec<u32>>> {
        if !self.deps[dep].replicas.set(n) {
            return None;
        }
        let alive: Vec<u32> = self.deps[dep]
            .pods
            .iter()
            .copied()
            .filter(|p| !self.lives[*p as usize].deleting)
            .collect();
        Some(if n as usize > alive.len() {
            Ok(n as usize - alive.len())
        } else {
            let k = alive.len() - n as usize;
            Err(victims(&alive, k, |p| self.lives[p as usize].candidate()))
        })
    }

    /// Mark the pod as being deleted at `now` and say what it does next.
    pub fn delete(&mut self, m: &Model, p: u32, now: i64) -> Deletion {
        let life = &mut self.lives[p as usize];
        life.deleting = true;
        if life.state != PodState::Ready {
            return Deletion::Now;
        }
        let dm = &m.deployments[life.dep as usize];
        Deletion::Drain {
            endpoint_gone_at: now + dm.endpoint_removal_delay_us,
            kill_at: now + dm.grace_period_us,
        }
    }
}

/// A pod's CPU time and the metrics-server's latest sample of it (`(time, CPU millicores,
/// memory in milli-bytes)`), as the HPA reads resource metrics.
#[derive(Clone, Debug, Default)]
pub struct Usage {
    pub cpu_s: f64,
    /// Time up to which idle CPU is counted, microseconds.
    pub cpu_updated: i64,
    pub cpu_at_sample: f64,
    pub sample: Option<(i64, f64, f64)>,
}

impl Usage {
    /// A pod created at `now` (idle CPU counts from time 0 at the earliest).
    pub fn new(now: i64) -> Usage {
        Usage {
            cpu_updated: now.max(0),
            ..Usage::default()
        }
    }

    fn idle_until(&mut self, dm: &DeploymentModel, now: i64) {
        self.cpu_s += dm.idle_cpu_millicores * 1e-3 * (now - self.cpu_updated) as f64 * 1e-6;
        self.cpu_updated = now;
    }

    /// A unit of work ended on the pod at `now`: its CPU seconds, and the idle CPU since
    /// the last count.
    pub fn work_done(&mut self, dm: &DeploymentModel, now: i64) {
        self.cpu_s += dm.idle_cpu_millicores * 1e-3 * (now - self.cpu_updated) as f64 * 1e-6
            + dm.cpu_seconds_per_request;
        self.cpu_updated = now;
    }

    /// metrics-server samples a running pod at `now`: CPU over its resolution window
    /// `res` (or since the pod started, if later), memory from its base and the work in
    /// flight. A pod that has not run a whole window yet keeps its previous sample.
    pub fn take_sample(
        &mut self,
        dm: &DeploymentModel,
        started: i64,
        in_flight: u32,
        now: i64,
        res: i64,
    ) {
        self.idle_until(dm, now);
        let window = (now - started).clamp(1, res);
        let cpu_milli = (self.cpu_s - self.cpu_at_sample) * 1e3 / (window as f64 * 1e-6);
        self.cpu_at_sample = self.cpu_s;
        let mem = dm.memory_base_bytes + dm.memory_per_inflight_bytes * in_flight as f64;
        if now - started >= res {
            self.sample = Some((now, cpu_milli, mem * 1e3));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::dist::DurationDist;

    fn model() -> Model {
        let mut d =
            DeploymentModel::new("web", DurationDist::Deterministic { value: 1.0 }).unwrap();
        d.endpoint_removal_delay_us = 2_000_000;
        d.grace_period_us = 30_000_000;
        d.idle_cpu_millicores = 100.0;
        d.cpu_seconds_per_request = 0.5;
        Model::single(d)
    }

    #[test]
    fn a_pod_goes_from_pending_to_ready_and_drains_when_deleted() {
        let m = model();
        let mut c = Pods::new(1);
        let p = c.create(&m, 0, 5);
        assert_eq!(&*c.life(p).name, "web-1");
        assert!(!c.passes_readiness(p), "pending: the probe cannot pass");
        assert!(c.start(p, 7));
        assert!(!c.start(p, 8), "started once");
        assert!(c.passes_readiness(p));
        c.make_ready(p, 9);
        assert_eq!(c.deps[0].endpoints, vec![p]);
        let next = c.delete(&m, p, 100);
        assert_eq!(
            next,
            Deletion::Drain {
                endpoint_gone_at: 2_000_100,
                kill_at: 30_000_100
            }
        );
        assert!(!c.may_go(p, true), "still in the endpoints");
        assert!(c.leave_endpoints(p));
        assert!(!c.leave_endpoints(p));
        assert!(!c.may_go(p, false), "work left");
        assert!(c.may_go(p, true));
        c.remove(p);
        assert!(c.deps[0].pods.is_empty() && c.deps[0].endpoints.is_empty());
        assert!(!c.may_go(p, true), "gone once");
    }

    #[test]
    fn a_replica_write_creates_pods_or_deletes_the_replica_sets_victims() {
        let m = model();
        let mut c = Pods::new(1);
        assert_eq!(c.scale(0, 0), None, "the spec already");
        assert_eq!(c.scale(0, 3), Some(Ok(3)));
        let ids: Vec<u32> = (0..3).map(|i| c.create(&m, 0, i)).collect();
        c.start(ids[0], 10);
        c.make_ready(ids[0], 11);
        c.start(ids[1], 10);
        // Down to 1: the pending pod first, then the started one; the ready pod stays.
        assert_eq!(c.scale(0, 1), Some(Err(vec![ids[2], ids[1]])));
        assert_eq!(c.delete(&m, ids[2], 20), Deletion::Now);
        assert_eq!(c.delete(&m, ids[1], 20), Deletion::Now);
        // Pods being deleted do not count: back to 2 creates one.
        assert_eq!(c.scale(0, 2), Some(Ok(1)));
        assert_eq!(c.deps[0].replicas.reversals, 2);
    }

    #[test]
    fn metrics_server_samples_cpu_over_its_window_once_a_pod_ran_a_whole_one() {
        let m = model();
        let dm = &m.deployments[0];
        let mut u = Usage::new(0);
        u.take_sample(dm, 0, 0, 10_000_000, 15_000_000);
        assert_eq!(u.sample, None, "10 s of a 15-s window");
        u.work_done(dm, 12_000_000);
        u.take_sample(dm, 0, 2, 15_000_000, 15_000_000);
        let (t, cpu_milli, _) = u.sample.unwrap();
        assert_eq!(t, 15_000_000);
        // Since the last sample: 0.5 s idle (5 s at 100 m) and 0.5 s of work, over 15 s.
        assert!(
            (cpu_milli - (0.1 * 5.0 + 0.5) * 1e3 / 15.0).abs() < 1e-9,
            "{cpu_milli}"
        );
    }
}
