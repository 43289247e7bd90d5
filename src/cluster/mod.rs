//! What the simulator, the fluid approximation and the live testbed share about the cluster
//! itself: a Deployment's replica bookkeeping (the spec the autoscalers write and what their
//! writes amounted to), the ReplicaSet controller's choice of pods to delete on a scale down,
//! the pods' life and CPU samples ([`pods`]), the metrics pipeline ([`metrics`]) and the
//! hosting of the HPA and KEDA controllers ([`controllers`]). Each driver keeps its clock and
//! each pod's work (requests, queues) and calls this code for the rest, so that the copies
//! cannot drift apart.

pub mod controllers;
pub mod metrics;
pub mod pods;

/// The name of a Deployment's `serial`-th pod, as the HPA lists it and its metrics are keyed.
pub fn pod_name(deployment: &str, serial: u64) -> crate::policy::hpa::Name {
    format!("{deployment}-{serial}").into()
}

/// A Deployment's `spec.replicas` and the record of its changes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Replicas {
    /// The replica count the autoscalers last wrote.
    pub spec: u32,
    /// The highest spec seen.
    pub max_seen: u32,
    /// Changes of the spec, up and down.
    pub scale_events: u32,
    pub ups: u32,
    pub downs: u32,
    /// Changes whose direction differs from the previous change's.
    pub reversals: u32,
    #[serde(skip)]
    last_dir: i8,
}

impl Replicas {
    /// A Deployment starting at `n` replicas (not counted as a change).
    pub fn starting_at(n: u32) -> Replicas {
        Replicas {
            spec: n,
            max_seen: n,
            ..Replicas::default()
        }
    }

    /// Record a write of `n` replicas; false (and nothing recorded) when `n` is the spec
    /// already.
    pub fn set(&mut self, n: u32) -> bool {
        if n == self.spec {
            return false;
        }
        let dir: i8 = if n > self.spec { 1 } else { -1 };
        self.scale_events += 1;
        if dir > 0 {
            self.ups += 1;
        } else {
            self.downs += 1;
        }
        if self.last_dir != 0 && self.last_dir != dir {
            self.reversals += 1;
        }
        self.last_dir = dir;
        self.spec = n;
        self.max_seen = self.max_seen.max(n);
        true
    }
}

/// Where a pod is in its life, as every driver tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodState {
    /// Created, containers not started yet.
    Pending,
    /// Started, not (yet) ready.
    Running,
    Ready,
    /// Terminated and removed.
    Gone,
}

/// A pod as the ReplicaSet controller ranks it for deletion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub ready: bool,
    /// Its containers started (past scheduling and image pull).
    pub started: bool,
    /// Creation time, microseconds.
    pub created_us: i64,
    /// Creation order among pods created at the same time.
    pub serial: u64,
}

impl Candidate {
    /// The rank of a pod in `state`, created at `created_us`, the `serial`-th created.
    pub fn of(state: PodState, created_us: i64, serial: u64) -> Candidate {
        Candidate {
            ready: state == PodState::Ready,
            started: state != PodState::Pending,
            created_us,
            serial,
        }
    }
}

/// The `k` pods a ReplicaSet deletes first, in the order it deletes them: not ready before
/// ready, not started before started, newest before oldest.
pub fn victims<T: Copy>(alive: &[T], k: usize, rank: impl Fn(T) -> Candidate) -> Vec<T> {
    let mut order: Vec<(Candidate, T)> = alive.iter().map(|p| (rank(*p), *p)).collect();
    order.sort_by_key(|(c, _)| {
        (
            c.ready,
            c.started,
            std::cmp::Reverse(c.created_us),
            std::cmp::Reverse(c.serial),
        )
    });
    order.into_iter().take(k).map(|(_, p)| p).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_counted_by_direction_with_reversals() {
        let mut r = Replicas::starting_at(2);
        assert!(!r.set(2));
        for n in [4, 6, 3, 3, 5, 1] {
            r.set(n);
        }
        assert_eq!(
            (
                r.spec,
                r.max_seen,
                r.scale_events,
                r.ups,
                r.downs,
                r.reversals
            ),
            (1, 6, 5, 3, 2, 3)
        );
    }

    #[test]
    fn a_replica_set_deletes_unready_then_unstarted_then_newest_pods() {
        let pod = |ready, started, created_us, serial| Candidate {
            ready,
            started,
            created_us,
            serial,
        };
        let pods = [
            pod(true, true, 10, 1),
            pod(true, true, 30, 2),
            pod(false, true, 5, 3),
            pod(false, false, 1, 4),
            pod(true, true, 30, 5),
        ];
        let all: Vec<usize> = (0..pods.len()).collect();
        assert_eq!(victims(&all, 5, |i| pods[i]), vec![3, 2, 4, 1, 0]);
        assert_eq!(victims(&all, 2, |i| pods[i]), vec![3, 2]);
        assert!(victims(&all, 0, |i| pods[i]).is_empty());
    }
}
