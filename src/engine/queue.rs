//! The event queue: a 4-ary min-heap ordered by (time, sequence number).
//!
//! Ties in time resolve in scheduling order, which makes every run a pure function of its
//! inputs. A 4-ary heap keeps the tree shallow and its nodes close together in memory.

/// What an event does when it comes due.
#[repr(u8)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventKind {
    /// A request (or job) finished on a pod.
    Done,
    /// A pod's container started (start-up delay over).
    PodStarted,
    /// A pod passed its readiness probe.
    PodReady,
    /// A terminating pod left the endpoints.
    EndpointGone,
    /// A terminating pod's grace period ended.
    PodKill,
    /// Prometheus scrapes every target.
    Scrape,
    /// metrics-server takes its resource samples.
    MetricsServer,
    /// The KEDA operator polls a ScaledObject's triggers.
    KedaPoll,
    /// The HPA controller syncs one autoscaler.
    HpaSync,
    /// An SLO window closes.
    Window,
    /// A closed-loop user sends its next request.
    User,
}

impl EventKind {
    /// Every kind, indexed by its discriminant.
    const ALL: [EventKind; 11] = [
        EventKind::Done,
        EventKind::PodStarted,
        EventKind::PodReady,
        EventKind::EndpointGone,
        EventKind::PodKill,
        EventKind::Scrape,
        EventKind::MetricsServer,
        EventKind::KedaPoll,
        EventKind::HpaSync,
        EventKind::Window,
        EventKind::User,
    ];
}

/// One scheduled event (24 bytes: the kind rides in the low byte of the sequence word).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Ev {
    pub t: i64,
    /// `sequence << 8 | kind`: orders ties by scheduling order.
    seq_kind: u64,
    pub a: u32,
    pub b: u32,
}

impl Ev {
    /// An event of `kind` at `t`, the `seq`-th scheduled.
    #[inline]
    pub fn new(t: i64, seq: u64, kind: EventKind, a: u32, b: u32) -> Self {
        Ev {
            t,
            seq_kind: (seq << 8) | kind as u64,
            a,
            b,
        }
    }

    /// The event's kind.
    #[inline]
    pub fn kind(&self) -> EventKind {
        // Only `new` writes the low byte, always from an `EventKind`.
        EventKind::ALL[usize::from(self.seq_kind as u8)]
    }

    /// The scheduling sequence number.
    #[inline]
    pub fn seq(&self) -> u64 {
        self.seq_kind >> 8
    }

    #[inline]
    fn key(&self) -> (i64, u64) {
        (self.t, self.seq_kind)
    }
}

/// A min-heap of events.
#[derive(Debug, Default)]
pub struct EventQueue {
    v: Vec<Ev>,
}

impl EventQueue {
    pub fn with_capacity(n: usize) -> Self {
        EventQueue {
            v: Vec::with_capacity(n),
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    /// The earliest event.
    #[inline]
    pub fn peek(&self) -> Option<&Ev> {
        self.v.first()
    }

    #[inline]
    pub fn push(&mut self, e: Ev) {
        let mut i = self.v.len();
        self.v.push(e);
        while i > 0 {
            let p = (i - 1) / 4;
            if self.v[p].key() <= e.key() {
                break;
            }
            self.v[i] = self.v[p];
            i = p;
        }
        self.v[i] = e;
    }

    #[inline]
    pub fn pop(&mut self) -> Option<Ev> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = self.v[0];
        let n = self.v.len();
        let mut i = 0;
        loop {
            let c = 4 * i + 1;
            if c >= n {
                break;
            }
            let end = (c + 4).min(n);
            let mut m = c;
            for j in c + 1..end {
                if self.v[j].key() < self.v[m].key() {
                    m = j;
                }
            }
            if self.v[m].key() >= last.key() {
                break;
            }
            self.v[i] = self.v[m];
            i = m;
        }
        self.v[i] = last;
        Some(top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::rng::{KeyedRng, Stream};

    #[test]
    fn pops_in_time_then_sequence_order() {
        let mut q = EventQueue::default();
        let mut r = KeyedRng::new(1, Stream::Work, 0);
        let mut want = Vec::new();
        for seq in 0..5000u64 {
            let t = r.below(300) as i64;
            let kind = EventKind::ALL[seq as usize % EventKind::ALL.len()];
            q.push(Ev::new(t, seq, kind, 0, 0));
            want.push((t, seq));
            if seq % 7 == 0 {
                want.sort();
                let e = q.pop().unwrap();
                assert_eq!((e.t, e.seq()), want.remove(0));
                assert_eq!(e.kind(), EventKind::ALL[e.seq() as usize % 11]);
            }
        }
        want.sort();
        let got: Vec<(i64, u64)> = std::iter::from_fn(|| q.pop())
            .map(|e| (e.t, e.seq()))
            .collect();
        assert_eq!(got, want);
        assert!(q.is_empty());
    }
}
