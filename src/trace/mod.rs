//! Recorded workloads: read real traces (binned counts, per-request timestamps, access logs,
//! Prometheus answers), transform them, summarise them, and turn them into engine workloads.

pub mod prometheus;
pub mod read;
pub mod spec;
pub mod time;

pub use spec::TraceSpec;

use crate::engine::{Pattern, RateSchedule, Workload};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Version of the canonical trace files scaletwin writes.
pub const TRACE_FORMAT_VERSION: u32 = 1;

/// Why a trace could not be read, imported or written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TraceError {
    /// The trace or a setting is wrong: the file, the line (when known), what and what to do.
    #[error("{file}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
    Input {
        file: String,
        line: Option<usize>,
        message: String,
    },
    /// The trace file could not be written.
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    /// The Prometheus server did not answer (refused, timed out, not a Prometheus answer).
    #[error("{url}: {message}")]
    Unreachable { url: String, message: String },
}

impl TraceError {
    /// Bad input in `file` (at `line`, when known).
    pub fn input(file: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        TraceError::Input {
            file: file.into(),
            line,
            message: message.into(),
        }
    }

    /// The exit code this failure ends a command with: 2 for bad input, 3 for a runtime
    /// failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            TraceError::Input { .. } => 2,
            TraceError::Io { .. } | TraceError::Unreachable { .. } => 3,
        }
    }
}

/// What reading found besides the data.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ReadReport {
    /// Data rows (or values, or log lines) read.
    pub rows: u64,
    /// Rows that could not be read.
    pub bad_lines: u64,
    /// The first few bad rows: `(line, reason)`.
    pub bad_examples: Vec<(usize, String)>,
    /// Bins with no data (distinct from zero load).
    pub missing_bins: u64,
    /// Timestamps that were out of order (sorted on read).
    pub out_of_order: u64,
}

/// The data of a trace.
#[derive(Clone, Debug, PartialEq)]
pub enum TraceData {
    /// Counts per bin from the trace start; `None`: no data for that bin.
    Binned {
        bin_s: f64,
        counts: Vec<Option<f64>>,
    },
    /// Request times in seconds from the trace start, sorted.
    Requests { times_s: Vec<f64> },
}

/// A trace: data, when it starts, and how reading went.
#[derive(Clone, Debug, PartialEq)]
pub struct Trace {
    pub source: String,
    /// UTC epoch seconds of the trace's t = 0 (0 when the file has only offsets).
    pub start_unix_s: f64,
    pub data: TraceData,
    pub report: ReadReport,
    /// Per-request attribute (e.g. tokens, bytes), aligned with the request times.
    pub attrs: Option<Vec<f64>>,
    /// For a categorical attribute (e.g. a request type): the label of each code in `attrs`.
    pub attr_labels: Option<Vec<String>>,
    /// The resolution of a per-request trace's timestamps: a request stamped `t` arrived in
    /// `[t, t + resolution_s)` (1 s for access logs and whole-second stamps, 1 ms for stamps
    /// in whole milliseconds, 1 µs otherwise).
    pub resolution_s: f64,
}
/// Summary statistics (`scaletwin trace info`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceInfo {
    pub source: String,
    pub start_unix_s: f64,
    pub span_s: f64,
    pub requests: f64,
    pub mean_rps: f64,
    pub peak_rps_1s: Option<f64>,
    pub peak_rps_1min: Option<f64>,
    pub peak_to_mean: f64,
    /// Variance / mean of per-minute counts (1 for Poisson).
    pub dispersion_1min: f64,
    /// Start (s from trace start) and count of the busiest hour.
    pub busiest_hour_start_s: f64,
    pub busiest_hour_requests: f64,
    /// Start (s from trace start) and count of the busiest day (the first 24 h from the
    /// trace's start, then each next 24 h).
    pub busiest_day_start_s: f64,
    pub busiest_day_requests: f64,
    pub missing_bins: u64,
    pub bad_lines: u64,
    pub sparkline: String,
}

/// How binned counts become arrivals.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// Piecewise-constant rate within each bin.
    #[default]
    Constant,
    /// Piecewise-linear rate between bin centres.
    Linear,
}

impl Trace {
    /// Span in seconds.
    pub fn span_s(&self) -> f64 {
        match &self.data {
            TraceData::Binned { bin_s, counts } => bin_s * counts.len() as f64,
            TraceData::Requests { times_s } => {
                times_s.last().map(|t| t + self.resolution_s).unwrap_or(0.0)
            }
        }
    }

    /// Total requests.
    pub fn total(&self) -> f64 {
        match &self.data {
            TraceData::Binned { counts, .. } => counts.iter().flatten().sum(),
            TraceData::Requests { times_s } => times_s.len() as f64,
        }
    }

    /// Counts per `bin` seconds (re-binned; requests counted by time). Missing input bins
    /// make the output bin missing only when none of its input had data.
    pub fn rebin(&self, bin: f64) -> Vec<Option<f64>> {
        let n = (self.span_s() / bin).ceil().max(0.0) as usize;
        let mut out: Vec<Option<f64>> = vec![None; n];
        match &self.data {
            TraceData::Binned { bin_s, counts } => {
                for (i, c) in counts.iter().enumerate() {
                    let j = ((i as f64 * bin_s) / bin).floor() as usize;
                    if let (Some(c), Some(slot)) = (c, out.get_mut(j)) {
                        *slot = Some(slot.unwrap_or(0.0) + c);
                    }
                }
                // Bins fully covered by missing input stay missing; others with data only zeros.
                if *bin_s < bin {
                    for (j, slot) in out.iter_mut().enumerate() {
                        if slot.is_none() {
                            let a = (j as f64 * bin / bin_s) as usize;
                            let b = (((j + 1) as f64 * bin / bin_s) as usize).min(counts.len());
                            if counts[a.min(b)..b].iter().any(|c| c.is_some()) {
                                *slot = Some(0.0);
                            }
                        }
                    }
                }
            }
            TraceData::Requests { times_s } => {
                for s in out.iter_mut() {
                    *s = Some(0.0);
                }
                for t in times_s {
                    let j = (t / bin) as usize;
                    if let Some(Some(c)) = out.get_mut(j) {
                        *c += 1.0;
                    }
                }
            }
        }
        out
    }

    /// The bins of `bin` seconds that hold requests, in order, with their counts (`None` for
    /// a binned trace): memory in proportion to the requests, whatever the span.
    fn request_bins(&self, bin: f64) -> Option<Vec<(usize, f64)>> {
        let TraceData::Requests { times_s } = &self.data else {
            return None;
        };
        let mut out: Vec<(usize, f64)> = Vec::new();
        for t in times_s {
            let j = (t / bin) as usize;
            match out.last_mut() {
                Some((k, c)) if *k == j => *c += 1.0,
                _ => out.push((j, 1.0)),
            }
        }
        Some(out)
    }

    /// Summary statistics (memory bounded by the trace's own data, not by its span).
    pub fn info(&self) -> TraceInfo {
        let span = self.span_s();
        let total = self.total();
        let mean = if span > 0.0 { total / span } else { 0.0 };
        let fine_bin = match &self.data {
            TraceData::Binned { bin_s, .. } => *bin_s,
            TraceData::Requests { .. } => 1.0,
        };
        let peak = |bin: f64| -> Option<f64> {
            // A window longer than the trace has no peak: it would count the whole trace
            // against a window it does not fill (a 1-minute "peak" below the mean).
            if fine_bin > bin + 1e-9 || span < bin - 1e-9 {
                return None;
            }
            if let Some(bins) = self.request_bins(bin) {
                return Some(bins.iter().fold(0.0f64, |m, (_, c)| m.max(*c)) / bin);
            }
            self.rebin(bin)
                .iter()
                .flatten()
                .copied()
                .fold(None, |m: Option<f64>, c| Some(m.map_or(c, |m| m.max(c))))
                .map(|c| c / bin)
        };
        let minute = if fine_bin <= 60.0 { 60.0 } else { fine_bin };
        // Mean and variance of the per-minute counts, empty minutes of a request trace
        // counted as zeros without being stored.
        let (mm, var) = match self.request_bins(minute) {
            Some(bins) => {
                let n = (span / minute).ceil().max(0.0) as usize;
                let mm = if n == 0 {
                    0.0
                } else {
                    bins.iter().map(|(_, c)| c).sum::<f64>() / n as f64
                };
                // The minutes with requests, then every empty one at once: time in proportion
                // to the requests, not to the span (a stray timestamp years away spans
                // billions of minutes).
                let with: Vec<f64> = bins
                    .iter()
                    .filter(|(k, _)| *k < n)
                    .map(|(_, c)| *c)
                    .collect();
                let empty = n.saturating_sub(with.len()) as f64;
                let sq = with.iter().map(|c| (c - mm).powi(2)).sum::<f64>() + empty * mm * mm;
                (mm, if n > 1 { sq / (n - 1) as f64 } else { 0.0 })
            }
            None => {
                let minutes: Vec<f64> = self.rebin(minute).into_iter().flatten().collect();
                let mm = if minutes.is_empty() {
                    0.0
                } else {
                    minutes.iter().sum::<f64>() / minutes.len() as f64
                };
                let var = if minutes.len() > 1 {
                    minutes.iter().map(|c| (c - mm).powi(2)).sum::<f64>()
                        / (minutes.len() - 1) as f64
                } else {
                    0.0
                };
                (mm, var)
            }
        };
        // (start s, count) of each window of `w` seconds that holds data; a binned trace
        // coarser than `w` gives its own bins (re-binning finer than the data would cost
        // memory by the span, not by the data).
        let windows = |w: f64| -> Vec<(f64, f64)> {
            if let TraceData::Binned { bin_s, counts } = &self.data
                && *bin_s >= w
            {
                return counts
                    .iter()
                    .enumerate()
                    .filter_map(|(i, c)| c.map(|c| (i as f64 * bin_s, c)))
                    .collect();
            }
            self.request_bins(w)
                .unwrap_or_else(|| {
                    self.rebin(w)
                        .iter()
                        .enumerate()
                        .filter_map(|(i, c)| c.map(|c| (i, c)))
                        .collect()
                })
                .into_iter()
                .map(|(i, c)| (i as f64 * w, c))
                .collect()
        };
        let busiest = |v: &[(f64, f64)]| {
            v.iter().fold(
                (0.0f64, 0.0f64),
                |acc, &(t, c)| {
                    if c > acc.1 { (t, c) } else { acc }
                },
            )
        };
        let hours = windows(3600.0);
        let (bh, bc) = busiest(&hours);
        let (bd, bdc) = busiest(&windows(86_400.0));
        let peak_1s = peak(1.0);
        let peak_1m = peak(60.0);
        let best_peak = peak_1s
            .or(peak_1m)
            .or_else(|| {
                (span >= 3600.0).then(|| {
                    hours.iter().fold(0.0f64, |a, (_, c)| a.max(*c)) / fine_bin.max(3600.0)
                })
            })
            .or_else(|| peak(fine_bin))
            .unwrap_or(mean);
        TraceInfo {
            source: self.source.clone(),
            start_unix_s: self.start_unix_s,
            span_s: span,
            requests: total,
            mean_rps: mean,
            peak_rps_1s: peak_1s,
            peak_rps_1min: peak_1m,
            peak_to_mean: if mean > 0.0 { best_peak / mean } else { 0.0 },
            dispersion_1min: if mm > 0.0 { var / mm } else { 0.0 },
            busiest_hour_start_s: bh,
            busiest_hour_requests: bc,
            busiest_day_start_s: bd,
            busiest_day_requests: bdc,
            missing_bins: self.report.missing_bins,
            bad_lines: self.report.bad_lines,
            sparkline: sparkline(&self.rebin((span / 60.0).max(fine_bin)), 60),
        }
    }

    /// Keep `[from_s, to_s)` (seconds from the start); the result starts at `from_s`.
    pub fn window(&mut self, from_s: f64, to_s: f64) {
        let to_s = to_s.min(self.span_s());
        match &mut self.data {
            TraceData::Binned { bin_s, counts } => {
                let a = ((from_s / *bin_s).floor().max(0.0) as usize).min(counts.len());
                let b = ((to_s / *bin_s).ceil().max(0.0) as usize).clamp(a, counts.len());
                *counts = counts[a..b].to_vec();
                self.start_unix_s += a as f64 * *bin_s;
            }
            TraceData::Requests { times_s } => {
                let keep: Vec<bool> = times_s.iter().map(|t| *t >= from_s && *t < to_s).collect();
                *times_s = times_s
                    .iter()
                    .zip(&keep)
                    .filter(|(_, k)| **k)
                    .map(|(t, _)| t - from_s)
                    .collect();
                if let Some(a) = &mut self.attrs {
                    *a = a
                        .iter()
                        .zip(&keep)
                        .filter(|(_, k)| **k)
                        .map(|(v, _)| *v)
                        .collect();
                }
                self.start_unix_s += from_s;
            }
        }
    }

    /// Multiply the load by `k` (binned: counts; requests: thinned or repeated
    /// deterministically).
    pub fn scale(&mut self, k: f64) {
        match &mut self.data {
            TraceData::Binned { counts, .. } => counts.iter_mut().flatten().for_each(|c| *c *= k),
            TraceData::Requests { times_s } => {
                let (t, a) =
                    crate::engine::workload::thin_or_repeat(times_s, self.attrs.as_deref(), k);
                *times_s = t;
                if self.attrs.is_some() {
                    self.attrs = a;
                }
            }
        }
    }

    /// Scale so that the peak rate (at the trace's own resolution, or per second for
    /// per-request traces) is `rps`.
    pub fn scale_to_peak(&mut self, rps: f64) -> Result<f64, String> {
        let bin = match &self.data {
            TraceData::Binned { bin_s, .. } => *bin_s,
            TraceData::Requests { .. } => 1.0,
        };
        let peak = self
            .rebin(bin)
            .iter()
            .flatten()
            .fold(0.0f64, |a, b| a.max(*b))
            / bin;
        if peak <= 0.0 {
            return Err("the trace has no load to scale".into());
        }
        let k = rps / peak;
        self.scale(k);
        Ok(k)
    }

    /// Play `k` times faster.
    pub fn compress(&mut self, k: f64) {
        match &mut self.data {
            TraceData::Binned { bin_s, .. } => *bin_s /= k,
            TraceData::Requests { times_s } => {
                times_s.iter_mut().for_each(|t| *t /= k);
                self.resolution_s /= k;
            }
        }
    }

    /// Delay the whole trace by `s` seconds (no load, not missing, before it).
    pub fn shift(&mut self, s: f64) {
        match &mut self.data {
            TraceData::Binned { bin_s, counts } => {
                let n = (s / *bin_s).round().max(0.0) as usize;
                let mut v = vec![Some(0.0); n];
                v.append(counts);
                *counts = v;
            }
            TraceData::Requests { times_s } => times_s.iter_mut().for_each(|t| *t += s),
        }
        self.start_unix_s -= s;
    }

    /// Append another trace after this one (re-binned to this trace's bins when binned).
    pub fn splice(&mut self, other: &Trace) {
        let span = self.span_s();
        match &mut self.data {
            TraceData::Binned { bin_s, counts } => {
                let b = *bin_s;
                counts.extend(other.rebin(b));
            }
            TraceData::Requests { times_s } => match &other.data {
                TraceData::Requests { times_s: o } => {
                    times_s.extend(o.iter().map(|t| t + span));
                    self.resolution_s = self.resolution_s.min(other.resolution_s);
                    // Attributes survive only when both traces have the same kind of them;
                    // categorical codes are re-mapped onto this trace's labels.
                    let labels = (self.attr_labels.take(), &other.attr_labels);
                    self.attrs = match (self.attrs.take(), &other.attrs, labels) {
                        (Some(mut a), Some(b), (None, None)) => {
                            a.extend(b);
                            Some(a)
                        }
                        (Some(mut a), Some(b), (Some(mut mine), Some(theirs))) => {
                            for code in b {
                                let label = &theirs[*code as usize];
                                let i = match mine.iter().position(|l| l == label) {
                                    Some(i) => i,
                                    None => {
                                        mine.push(label.clone());
                                        mine.len() - 1
                                    }
                                };
                                a.push(i as f64);
                            }
                            self.attr_labels = Some(mine);
                            Some(a)
                        }
                        _ => None,
                    };
                }
                TraceData::Binned { .. } => {
                    // Mixed: convert this one to 1 s bins first.
                    let mut bins = self.rebin(1.0);
                    bins.extend(other.rebin(1.0));
                    self.data = TraceData::Binned {
                        bin_s: 1.0,
                        counts: bins,
                    };
                }
            },
        }
    }

    /// The engine workload that replays this trace.
    pub fn to_workload(&self, interpolation: Interpolation) -> Workload {
        match &self.data {
            TraceData::Binned { bin_s, counts } => {
                let rates: Vec<f64> = counts.iter().map(|c| c.unwrap_or(0.0) / bin_s).collect();
                let pattern = match interpolation {
                    Interpolation::Constant => Pattern::Bins {
                        bin_s: *bin_s,
                        rates,
                    },
                    Interpolation::Linear => Pattern::LinearBins {
                        bin_s: *bin_s,
                        rates,
                    },
                };
                Workload::Open {
                    schedule: RateSchedule::new(pattern),
                }
            }
            TraceData::Requests { times_s } => Workload::Replay {
                times_s: Arc::new(times_s.clone()),
                attrs: self.attrs.clone().map(Arc::new),
                labels: self.attr_labels.clone().map(Arc::new),
            },
        }
    }
}

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A terminal sparkline of at most `width` characters (`·` for missing data).
pub fn sparkline(bins: &[Option<f64>], width: usize) -> String {
    if bins.is_empty() {
        return String::new();
    }
    let per = bins.len().div_ceil(width);
    let groups: Vec<Option<f64>> = bins
        .chunks(per)
        .map(|c| {
            let vals: Vec<f64> = c.iter().flatten().copied().collect();
            if vals.is_empty() {
                None
            } else {
                Some(vals.iter().sum::<f64>() / vals.len() as f64)
            }
        })
        .collect();
    let max = groups.iter().flatten().fold(0.0f64, |a, b| a.max(*b));
    groups
        .iter()
        .map(|g| match g {
            None => '·',
            Some(_) if max <= 0.0 => BARS[0],
            Some(v) => BARS[((v / max) * 7.0).round().clamp(0.0, 7.0) as usize],
        })
        .collect()
}

impl std::fmt::Display for TraceInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let opt = |v: Option<f64>, window: f64| match v {
            Some(x) => format!("{x:.2}"),
            None if self.span_s < window - 1e-9 => "n/a (the trace is shorter)".into(),
            None => "n/a (coarser bins)".into(),
        };
        writeln!(f, "trace {}", self.source)?;
        writeln!(
            f,
            "  span           {:.0} s ({:.2} days) from unix {}",
            self.span_s,
            self.span_s / 86_400.0,
            self.start_unix_s
        )?;
        writeln!(f, "  requests       {:.0}", self.requests)?;
        writeln!(f, "  mean           {:.3} req/s", self.mean_rps)?;
        writeln!(f, "  peak 1 s       {} req/s", opt(self.peak_rps_1s, 1.0))?;
        writeln!(
            f,
            "  peak 1 min     {} req/s",
            opt(self.peak_rps_1min, 60.0)
        )?;
        writeln!(f, "  peak / mean    {:.2}", self.peak_to_mean)?;
        writeln!(
            f,
            "  dispersion     {:.2} (variance/mean of per-minute counts; 1 = Poisson)",
            self.dispersion_1min
        )?;
        writeln!(
            f,
            "  busiest hour   from +{:.0} s: {:.0} requests",
            self.busiest_hour_start_s, self.busiest_hour_requests
        )?;
        writeln!(
            f,
            "  busiest day    from +{:.0} s: {:.0} requests",
            self.busiest_day_start_s, self.busiest_day_requests
        )?;
        writeln!(
            f,
            "  missing bins   {}   bad lines {}",
            self.missing_bins, self.bad_lines
        )?;
        writeln!(f, "  {}", self.sparkline)
    }
}
