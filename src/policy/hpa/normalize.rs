//! Normalization: stabilization, rate limits and clamping (spec §8).

use super::types::*;
use crate::time::{SimDuration, SimTime};
use serde::{Deserialize, Serialize};

/// One recorded raw recommendation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recommendation {
    pub replicas: i32,
    pub timestamp: SimTime,
}

/// One recorded scale event (behavior pipeline only).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScaleEvent {
    /// Size of the change, always positive.
    pub change: i32,
    pub timestamp: SimTime,
    /// Sticky flag: older than the direction's longest policy period at some store.
    pub outdated: bool,
}

/// Why a value was limited (`ScalingLimited` reasons).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LimitReason {
    DesiredWithinRange,
    TooManyReplicas,
    TooFewReplicas,
    ScaleUpLimit,
    ScaleDownLimit,
}

impl LimitReason {
    pub fn as_str(self) -> &'static str {
        match self {
            LimitReason::DesiredWithinRange => "DesiredWithinRange",
            LimitReason::TooManyReplicas => "TooManyReplicas",
            LimitReason::TooFewReplicas => "TooFewReplicas",
            LimitReason::ScaleUpLimit => "ScaleUpLimit",
            LimitReason::ScaleDownLimit => "ScaleDownLimit",
        }
    }
}

/// What stabilization did (`AbleToScale` reasons on the metric path).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StabilizationReason {
    ReadyForNewScale,
    ScaleUpStabilized,
    ScaleDownStabilized,
}

impl StabilizationReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StabilizationReason::ReadyForNewScale => "ReadyForNewScale",
            StabilizationReason::ScaleUpStabilized => "ScaleUpStabilized",
            StabilizationReason::ScaleDownStabilized => "ScaleDownStabilized",
        }
    }
}

/// Record `desired` in the history: overwrite the last entry older than every window in use
/// (`is_old`), else append. Entries are never deleted otherwise.
fn record(
    history: &mut Vec<Recommendation>,
    desired: i32,
    now: SimTime,
    is_old: impl Fn(&Recommendation) -> bool,
) {
    let entry = Recommendation {
        replicas: desired,
        timestamp: now,
    };
    match history.iter().rposition(is_old) {
        Some(i) => history[i] = entry,
        None => history.push(entry),
    }
}

/// Legacy stabilization: the max of `desired` and every recommendation of the last
/// `window` (an entry counts unless strictly older than `now - window`). Records `desired`.
pub fn legacy_stabilize(
    history: &mut Vec<Recommendation>,
    desired: i32,
    window: SimDuration,
    now: SimTime,
) -> (i32, StabilizationReason) {
    let cutoff = now - window;
    let stab = history
        .iter()
        .filter(|r| r.timestamp >= cutoff)
        .map(|r| r.replicas)
        .fold(desired, i32::max);
    record(history, desired, now, |r| r.timestamp < cutoff);
    let reason = if stab != desired {
        StabilizationReason::ScaleDownStabilized
    } else {
        StabilizationReason::ReadyForNewScale
    };
    (stab, reason)
}

/// The legacy per-sync scale-up cap: `trunc(max(factor × current, minimum))`.
pub fn legacy_scale_up_limit(current: i32, cfg: &ControllerConfig) -> i32 {
    (cfg.scale_up_limit_factor * current as f64).max(cfg.scale_up_limit_minimum) as i32
}

/// Legacy clamp (`convertDesiredReplicasWithRules`).
pub fn legacy_clamp(
    current: i32,
    desired: i32,
    min: i32,
    max: i32,
    cfg: &ControllerConfig,
) -> (i32, LimitReason) {
    let up_limit = legacy_scale_up_limit(current, cfg);
    let (allowed_max, reason) = if max > up_limit {
        (up_limit, LimitReason::ScaleUpLimit)
    } else {
        (max, LimitReason::TooManyReplicas)
    };
    if desired < min {
        (min, LimitReason::TooFewReplicas)
    } else if desired > allowed_max {
        (allowed_max, reason)
    } else {
        (desired, LimitReason::DesiredWithinRange)
    }
}

/// Behavior stabilization: scale up no higher than the smallest recommendation of the
/// up-window, scale down no lower than the largest of the down-window (strict: age < window).
/// Records `desired`.
pub fn behavior_stabilize(
    history: &mut Vec<Recommendation>,
    current: i32,
    desired: i32,
    up_window: SimDuration,
    down_window: SimDuration,
    now: SimTime,
) -> (i32, StabilizationReason) {
    let up_cutoff = now - up_window;
    let down_cutoff = now - down_window;
    let mut up_rec = desired;
    let mut down_rec = desired;
    for r in history.iter() {
        if r.timestamp > up_cutoff {
            up_rec = up_rec.min(r.replicas);
        }
        if r.timestamp > down_cutoff {
            down_rec = down_rec.max(r.replicas);
        }
    }
    record(history, desired, now, |r| {
        r.timestamp < up_cutoff && r.timestamp < down_cutoff
    });
    let stab = current.max(up_rec).min(down_rec);
    let reason = if stab == desired {
        StabilizationReason::ReadyForNewScale
    } else if desired >= current {
        StabilizationReason::ScaleUpStabilized
    } else {
        StabilizationReason::ScaleDownStabilized
    };
    (stab, reason)
}

/// Sum of the changes of events strictly inside the last `period`.
pub fn change_in_period(events: &[ScaleEvent], period: SimDuration, now: SimTime) -> i32 {
    let cutoff = now - period;
    events
        .iter()
        .filter(|e| e.timestamp > cutoff)
        .map(|e| e.change)
        .sum()
}

fn period_start(
    current: i32,
    policy: &ScalingPolicy,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    now: SimTime,
) -> i32 {
    let p = SimDuration::from_secs(policy.period_seconds as i64);
    current - change_in_period(up, p, now) + change_in_period(down, p, now)
}

/// The most replicas the scale-up policies allow now (`calculateScaleUpLimitWithScalingRules`).
pub fn scale_up_limit(
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ResolvedRules,
    now: SimTime,
) -> i32 {
    let proposals = rules.policies.iter().map(|p| {
        let s = period_start(current, p, up, down, now);
        match p.kind {
            PolicyType::Pods => s.saturating_add(p.value),
            PolicyType::Percent => (s as f64 * (1.0 + p.value as f64 / 100.0)).ceil() as i32,
        }
    });
    match rules.select_policy {
        SelectPolicy::Disabled => current,
        SelectPolicy::Min => proposals.fold(i32::MAX, i32::min),
        SelectPolicy::Max => proposals.fold(i32::MIN, i32::max),
    }
}

/// The fewest replicas the scale-down policies allow now (`calculateScaleDownLimitWithBehaviors`).
pub fn scale_down_limit(
    current: i32,
    up: &[ScaleEvent],
    down: &[ScaleEvent],
    rules: &ResolvedRules,
    now: SimTime,
) -> i32 {
    let proposals = rules.policies.iter().map(|p| {
        let s = period_start(current, p, up, down, now);
        match p.kind {
            PolicyType::Pods => s.saturating_sub(p.value),
            PolicyType::Percent => (s as f64 * (1.0 - p.value as f64 / 100.0)) as i32,
        }
    });
    match rules.select_policy {
        SelectPolicy::Disabled => current,
        SelectPolicy::Min => proposals.fold(i32::MIN, i32::max),
        SelectPolicy::Max => proposals.fold(i32::MAX, i32::min),
    }
}

/// The result of the behavior rate limit, with the limit that applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateLimited {
    pub replicas: i32,
    pub reason: LimitReason,
    /// The policy limit in the direction of travel (after "never past current").
    pub policy_limit: Option<i32>,
}

/// Behavior rate limit and clamp (`convertDesiredReplicasWithBehaviorRate`).
#[allow(clippy::too_many_arguments)]
pub fn behavior_rate_limit(
    current: i32,
    stabilized: i32,
    min: i32,
    max: i32,
    up_rules: &ResolvedRules,
    down_rules: &ResolvedRules,
    up_events: &[ScaleEvent],
    down_events: &[ScaleEvent],
    now: SimTime,
) -> RateLimited {
    if stabilized > current {
        let lim = scale_up_limit(current, up_events, down_events, up_rules, now).max(current);
        let (allowed, reason) = if max > lim {
            (lim, LimitReason::ScaleUpLimit)
        } else {
            (max, LimitReason::TooManyReplicas)
        };
        if stabilized > allowed {
            return RateLimited {
                replicas: allowed,
                reason,
                policy_limit: Some(lim),
            };
        }
        return RateLimited {
            replicas: stabilized,
            reason: LimitReason::DesiredWithinRange,
            policy_limit: Some(lim),
        };
    }
    if stabilized < current {
        let lim = scale_down_limit(current, up_events, down_events, down_rules, now).min(current);
        let (allowed, reason) = if min < lim {
            (lim, LimitReason::ScaleDownLimit)
        } else {
            (min, LimitReason::TooFewReplicas)
        };
        if stabilized < allowed {
            return RateLimited {
                replicas: allowed,
                reason,
                policy_limit: Some(lim),
            };
        }
        return RateLimited {
            replicas: stabilized,
            reason: LimitReason::DesiredWithinRange,
            policy_limit: Some(lim),
        };
    }
    RateLimited {
        replicas: stabilized,
        reason: LimitReason::DesiredWithinRange,
        policy_limit: None,
    }
}

/// Record a scale event after a successful rescale (behavior pipeline only): mark events older
/// than the direction's longest policy period as outdated, then overwrite the last outdated
/// slot or append.
pub fn store_scale_event(
    events: &mut Vec<ScaleEvent>,
    rules: &ResolvedRules,
    change: i32,
    now: SimTime,
) {
    let cutoff = now - rules.longest_period();
    for e in events.iter_mut() {
        if e.timestamp < cutoff {
            e.outdated = true;
        }
    }
    let entry = ScaleEvent {
        change,
        timestamp: now,
        outdated: false,
    };
    match events.iter().rposition(|e| e.outdated) {
        Some(i) => events[i] = entry,
        None => events.push(entry),
    }
}
