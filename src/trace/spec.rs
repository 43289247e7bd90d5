//! A trace to replay, as written in an experiment file or given by command-line flags: where
//! it is, how to read it and which transforms to apply.

use super::{Interpolation, Trace, read};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// How to read and transform a trace (every field but `path` is optional).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceSpec {
    /// The trace file (relative paths: from the experiment file's folder).
    pub path: PathBuf,
    #[serde(default)]
    pub time_col: Option<String>,
    #[serde(default)]
    pub count_col: Option<String>,
    /// Unit of numeric timestamps: s, ms or us.
    #[serde(default)]
    pub time_unit: Option<String>,
    /// Zone of datetimes written without one (UTC, +02:00).
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub bin_s: Option<f64>,
    #[serde(default)]
    pub max_bad_lines: Option<u64>,
    #[serde(default)]
    pub reject_unsorted: bool,
    /// Per-request attribute to keep (a column, or `status`/`bytes` of an access log).
    #[serde(default)]
    pub attr: Option<String>,
    /// Another trace appended after this one.
    #[serde(default)]
    pub splice: Option<PathBuf>,
    /// Keep from this point: seconds after the start, or a datetime (`2023-11-16 18:30:00`).
    #[serde(default)]
    pub from_s: Option<TracePoint>,
    /// Keep until this point: seconds after the start, or a datetime.
    #[serde(default)]
    pub to_s: Option<TracePoint>,
    /// Play this many times faster.
    #[serde(default)]
    pub compress: Option<f64>,
    /// Multiply the load.
    #[serde(default)]
    pub scale: Option<f64>,
    /// Scale so the peak rate is this many req/s.
    #[serde(default)]
    pub peak_rps: Option<f64>,
    /// Scale so the mean rate is this many req/s.
    #[serde(default)]
    pub mean_rps: Option<f64>,
    /// Delay by this many seconds.
    #[serde(default)]
    pub shift_s: Option<f64>,
    /// Arrivals within a bin: constant or linear.
    #[serde(default)]
    pub interpolate: Option<String>,
}

impl TraceSpec {
    /// Read the trace (relative paths resolved against `base`) and apply the transforms. The
    /// error names the field or the file and says what to do.
    pub fn load(&self, base: &Path) -> Result<(Trace, Interpolation), String> {
        let resolve = |p: &Path| {
            if p.is_relative() && !base.as_os_str().is_empty() {
                base.join(p)
            } else {
                p.to_path_buf()
            }
        };
        let unit = match self.time_unit.as_deref().unwrap_or("s") {
            "s" => read::TimeUnit::Seconds,
            "ms" => read::TimeUnit::Millis,
            "us" => read::TimeUnit::Micros,
            other => return Err(format!("time_unit `{other}`: use s, ms or us")),
        };
        if let Some(b) = self.bin_s
            && !(b.is_finite() && b > 0.0)
        {
            return Err(format!("bin_s {b}: must be > 0"));
        }
        let opts = read::ReadOptions {
            time_col: self.time_col.clone(),
            count_col: self.count_col.clone(),
            time_unit: unit,
            bin_s: self.bin_s,
            max_bad_lines: self.max_bad_lines.unwrap_or(10),
            reject_unsorted: self.reject_unsorted,
            attr: self.attr.clone(),
            ..read::ReadOptions::default()
        }
        .with_tz(self.tz.as_deref().unwrap_or("UTC"))
        .map_err(|e| format!("tz: {e}"))?;
        let interp = match self.interpolate.as_deref().unwrap_or("constant") {
            "constant" => Interpolation::Constant,
            "linear" => Interpolation::Linear,
            other => return Err(format!("interpolate `{other}`: use constant or linear")),
        };
        for (name, v) in [
            ("scale", self.scale),
            ("peak_rps", self.peak_rps),
            ("mean_rps", self.mean_rps),
            ("compress", self.compress),
        ] {
            if let Some(x) = v
                && !(x.is_finite() && x > 0.0)
            {
                return Err(format!("{name} {x}: must be > 0"));
            }
        }
        if [self.scale, self.peak_rps, self.mean_rps]
            .iter()
            .filter(|x| x.is_some())
            .count()
            > 1
        {
            return Err("scale, peak_rps and mean_rps: give at most one".into());
        }
        let path = resolve(&self.path);
        let mut trace = read::read(&path, &opts).map_err(|e| e.to_string())?;
        if let Some(other) = &self.splice {
            let o = read::read(&resolve(other), &opts).map_err(|e| e.to_string())?;
            trace.splice(&o);
        }
        if self.from_s.is_some() || self.to_s.is_some() {
            let at = |p: &Option<TracePoint>, name: &str, default: f64| match p {
                None => Ok(default),
                Some(p) => p
                    .offset(trace.start_unix_s, opts.tz_offset_s)
                    .map_err(|e| format!("{name} {e}")),
            };
            let from = at(&self.from_s, "from_s", 0.0)?;
            let to = at(&self.to_s, "to_s", f64::INFINITY)?;
            if !(from >= 0.0 && to > from) {
                return Err(format!(
                    "from_s {from}, to_s {to} (seconds after the trace's start, unix {}): need 0 <= from < to",
                    trace.start_unix_s
                ));
            }
            trace.window(from, to);
        }
        if let Some(k) = self.compress {
            trace.compress(k);
        }
        if let Some(k) = self.scale {
            trace.scale(k);
        }
        if let Some(p) = self.peak_rps {
            trace
                .scale_to_peak(p)
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        if let Some(m) = self.mean_rps {
            let span = trace.span_s();
            let total = trace.total();
            if !(span > 0.0 && total > 0.0) {
                return Err(format!(
                    "{}: the trace has no load to scale",
                    path.display()
                ));
            }
            trace.scale(m / (total / span));
        }
        if let Some(s) = self.shift_s {
            if !(s.is_finite() && s >= 0.0) {
                return Err(format!("shift_s {s}: must be >= 0"));
            }
            trace.shift(s);
        }
        Ok((trace, interp))
    }
}

/// A point in a trace: seconds after its start, or a datetime (read in the trace's zone
/// unless it carries its own).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TracePoint {
    Offset(f64),
    At(String),
}

impl TracePoint {
    /// A number is an offset; anything else a datetime.
    pub fn parse(s: &str) -> TracePoint {
        match s.trim().parse::<f64>() {
            Ok(v) => TracePoint::Offset(v),
            Err(_) => TracePoint::At(s.trim().to_string()),
        }
    }

    /// Seconds after a trace that starts at `start_unix_s`.
    pub fn offset(&self, start_unix_s: f64, tz_offset_s: i64) -> Result<f64, String> {
        match self {
            TracePoint::Offset(v) if v.is_finite() => Ok(*v),
            TracePoint::Offset(v) => Err(format!("{v}: not a number of seconds")),
            TracePoint::At(s) => Ok(super::time::parse_datetime(s, tz_offset_s)? - start_unix_s),
        }
    }
}
