//! Trace readers. CSV and Parquet go through polars; plain counts, access logs and
//! Prometheus answers are read directly. Bad rows are counted and reported with their line
//! numbers; more than `max_bad_lines` of them is an error.

use super::time::{parse_clf_time, parse_datetime, parse_offset};
use super::{ReadReport, Trace, TraceData, TraceError};
use std::io::{BufRead, Read};
use std::path::Path;

/// The formats scaletwin reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// CSV with a time column and a count column (`unix_s,requests`).
    BinnedCsv,
    /// CSV with one row per request and a time column.
    RequestsCsv,
    /// Whitespace-separated counts, one per interval.
    Counts,
    /// Common or Combined Log Format access log, plain or gzip.
    AccessLog,
    /// The JSON of a Prometheus `query_range` answer (one series).
    PrometheusJson,
    /// scaletwin's canonical Parquet trace.
    Parquet,
}

/// Units of numeric timestamps.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum TimeUnit {
    #[default]
    Seconds,
    Millis,
    Micros,
}

/// How to read a trace file.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub format: Option<Format>,
    pub time_col: Option<String>,
    pub count_col: Option<String>,
    pub time_unit: TimeUnit,
    /// Zone offset (seconds east of UTC) for datetimes written without one.
    pub tz_offset_s: i64,
    /// Bin width for binned inputs (default: inferred; 1 s for plain counts).
    pub bin_s: Option<f64>,
    pub max_bad_lines: u64,
    /// Reject out-of-order timestamps instead of sorting them.
    pub reject_unsorted: bool,
    /// A per-request attribute to keep (a CSV column such as `GeneratedTokens`, or `bytes` /
    /// `status` of an access log), for the service model to map to work.
    pub attr: Option<String>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            format: None,
            time_col: None,
            count_col: None,
            time_unit: TimeUnit::Seconds,
            tz_offset_s: 0,
            bin_s: None,
            max_bad_lines: 10,
            reject_unsorted: false,
            attr: None,
        }
    }
}

impl ReadOptions {
    /// Set the default zone from text (`UTC`, `+02:00`, `-0400`).
    pub fn with_tz(mut self, tz: &str) -> Result<Self, String> {
        self.tz_offset_s = parse_offset(tz)?;
        Ok(self)
    }
}

struct Ctx<'a> {
    file: &'a str,
    opts: &'a ReadOptions,
    report: ReadReport,
    attrs: Option<Vec<f64>>,
    attr_labels: Option<Vec<String>>,
}

impl Ctx<'_> {
    fn err(&self, line: Option<usize>, m: impl Into<String>) -> TraceError {
        TraceError {
            file: self.file.to_string(),
            line,
            message: m.into(),
        }
    }
    fn bad(&mut self, line: usize, why: String) -> Result<(), TraceError> {
        self.report.bad_lines += 1;
        if self.report.bad_examples.len() < 5 {
            self.report.bad_examples.push((line, why));
        }
        if self.report.bad_lines > self.opts.max_bad_lines {
            let ex: Vec<String> = self
                .report
                .bad_examples
                .iter()
                .map(|(l, w)| format!("line {l}: {w}"))
                .collect();
            return Err(self.err(
                None,
                format!(
                    "more than {} malformed lines ({}); fix the file or raise --max-bad-lines",
                    self.opts.max_bad_lines,
                    ex.join("; ")
                ),
            ));
        }
        Ok(())
    }
}

/// Detect the format of a file from its name and first line.
pub fn detect(path: &Path, first_line: &str) -> Format {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    if name.ends_with(".json") {
        return Format::PrometheusJson;
    }
    if name.ends_with(".parquet") {
        return Format::Parquet;
    }
    if name.ends_with(".gz")
        || name.ends_with(".log")
        || (first_line.contains(" - ") && first_line.contains("] \""))
    {
        return Format::AccessLog;
    }
    if name.ends_with(".csv") {
        let header = first_line.to_ascii_lowercase();
        let binned = header
            .split(',')
            .any(|c| matches!(c.trim(), "requests" | "count" | "events"));
        return if binned {
            Format::BinnedCsv
        } else {
            Format::RequestsCsv
        };
    }
    Format::Counts
}

fn first_line(path: &Path) -> String {
    let Ok(f) = std::fs::File::open(path) else {
        return String::new();
    };
    let mut r = std::io::BufReader::new(f);
    let mut buf = Vec::new();
    let _ = r.by_ref().take(4096).read_until(b'\n', &mut buf);
    String::from_utf8_lossy(&buf).trim().to_string()
}

/// Read a trace file.
pub fn read(path: &Path, opts: &ReadOptions) -> Result<Trace, TraceError> {
    let file = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| TraceError {
        file: file.clone(),
        line: None,
        message: format!("cannot read: {e}"),
    })?;
    if meta.len() == 0 {
        return Err(TraceError {
            file,
            line: None,
            message: "the file is empty".into(),
        });
    }
    let format = opts
        .format
        .unwrap_or_else(|| detect(path, &first_line(path)));
    let mut ctx = Ctx {
        file: &file,
        opts,
        report: ReadReport::default(),
        attrs: None,
        attr_labels: None,
    };
    let (start, data) = match format {
        Format::Counts => read_counts(path, &mut ctx)?,
        Format::AccessLog => read_access_log(path, &mut ctx)?,
        Format::PrometheusJson => read_prometheus(path, &mut ctx)?,
        Format::BinnedCsv | Format::RequestsCsv | Format::Parquet => {
            read_table(path, format, &mut ctx)?
        }
    };
    let report = ctx.report;
    let attrs = ctx.attrs;
    let attr_labels = ctx.attr_labels;
    let mut t = Trace {
        source: file.clone(),
        start_unix_s: start,
        data,
        report,
        attrs,
        attr_labels,
    };
    if let TraceData::Binned { counts, .. } = &t.data {
        t.report.missing_bins = counts.iter().filter(|c| c.is_none()).count() as u64;
    }
    if t.total() == 0.0 && t.report.rows == 0 {
        return Err(TraceError {
            file: t.source,
            line: None,
            message: "no data rows".into(),
        });
    }
    Ok(t)
}

fn read_counts(path: &Path, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    let f = std::fs::File::open(path).map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
    let mut counts = Vec::new();
    for (i, line) in std::io::BufReader::new(f).lines().enumerate() {
        let line = line.map_err(|e| ctx.err(Some(i + 1), format!("cannot read: {e}")))?;
        for tok in line.split_whitespace() {
            match tok.parse::<f64>() {
                Ok(v) if v.is_finite() && v >= 0.0 => {
                    counts.push(Some(v));
                    ctx.report.rows += 1;
                }
                _ => {
                    counts.push(None);
                    ctx.bad(i + 1, format!("`{tok}` is not a count"))?;
                }
            }
        }
    }
    Ok((
        0.0,
        TraceData::Binned {
            bin_s: ctx.opts.bin_s.unwrap_or(1.0),
            counts,
        },
    ))
}

fn open_maybe_gz(path: &Path) -> std::io::Result<Box<dyn BufRead>> {
    let f = std::fs::File::open(path)?;
    let mut r = std::io::BufReader::new(f);
    let gz = r.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
            r,
        )))
    } else {
        Box::new(r)
    })
}

fn read_access_log(path: &Path, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    let r = open_maybe_gz(path).map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
    let field = match ctx.opts.attr.as_deref() {
        None => None,
        Some("status") => Some(0),
        Some("bytes") => Some(1),
        Some(other) => {
            return Err(ctx.err(
                None,
                format!("an access log has the attributes `status` and `bytes`, not `{other}`"),
            ));
        }
    };
    let mut times = Vec::new();
    let mut attrs = Vec::new();
    for (i, line) in r.split(b'\n').enumerate() {
        let line = line.map_err(|e| ctx.err(Some(i + 1), format!("cannot read: {e}")))?;
        let line = String::from_utf8_lossy(&line);
        if line.trim().is_empty() {
            continue;
        }
        let t = match (line.find('['), line.find(']')) {
            (Some(a), Some(b)) if b > a => parse_clf_time(&line[a + 1..b]),
            _ => Err("no [time] field".into()),
        };
        // Status and bytes follow the quoted request line; `-` bytes mean 0.
        let attr = field.map(|f| {
            let tail = line.rfind('"').map(|q| &line[q + 1..]).unwrap_or("");
            let v = tail.split_whitespace().nth(f).unwrap_or("-");
            if v == "-" {
                Ok(0.0)
            } else {
                v.parse::<f64>().map_err(|_| {
                    format!(
                        "`{v}` is not a {}",
                        if f == 0 { "status" } else { "byte count" }
                    )
                })
            }
        });
        match (t, attr) {
            (Ok(t), None) => times.push(t),
            (Ok(t), Some(Ok(a))) => {
                times.push(t);
                attrs.push(a);
            }
            (Err(e), _) | (_, Some(Err(e))) => {
                ctx.bad(i + 1, e)?;
                continue;
            }
        }
        ctx.report.rows += 1;
    }
    if field.is_some() {
        ctx.attrs = Some(attrs);
    }
    requests(times, ctx)
}

fn requests(mut times: Vec<f64>, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    let unsorted = times.windows(2).filter(|w| w[1] < w[0]).count() as u64;
    if unsorted > 0 {
        if let Some(a) = ctx.attrs.take() {
            // Sort the attribute with its time.
            let mut pairs: Vec<(f64, f64)> = times.iter().copied().zip(a).collect();
            pairs.sort_by(|x, y| x.0.partial_cmp(&y.0).unwrap());
            ctx.attrs = Some(pairs.iter().map(|p| p.1).collect());
        }
        if ctx.opts.reject_unsorted {
            return Err(ctx.err(None, format!("{unsorted} timestamps are out of order; sort the file or drop --reject-unsorted")));
        }
        ctx.report.out_of_order = unsorted;
        times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    }
    let start = times.first().copied().unwrap_or(0.0).floor();
    Ok((
        start,
        TraceData::Requests {
            times_s: times.iter().map(|t| t - start).collect(),
        },
    ))
}

/// A binned trace from the JSON of a `query_range` answer (for live imports).
pub fn from_prometheus_json(
    v: &serde_json::Value,
    source: &str,
    opts: &ReadOptions,
) -> Result<Trace, TraceError> {
    let mut ctx = Ctx {
        file: source,
        opts,
        report: ReadReport::default(),
        attrs: None,
        attr_labels: None,
    };
    let (start, data) = prometheus_matrix(v, &mut ctx)?;
    let mut report = ctx.report;
    if let TraceData::Binned { counts, .. } = &data {
        report.missing_bins = counts.iter().filter(|c| c.is_none()).count() as u64;
    }
    Ok(Trace {
        source: source.to_string(),
        start_unix_s: start,
        data,
        report,
        attrs: None,
        attr_labels: None,
    })
}

fn read_prometheus(path: &Path, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| ctx.err(Some(e.line()), format!("not JSON: {e}")))?;
    prometheus_matrix(&v, ctx)
}

/// Turn a `query_range` answer into a binned trace (values are rates per second).
fn prometheus_matrix(v: &serde_json::Value, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    if v["status"] != "success" {
        let msg = v["error"].as_str().unwrap_or("no error text");
        return Err(ctx.err(
            None,
            format!(
                "Prometheus answered status `{}`: {msg}",
                v["status"].as_str().unwrap_or("?")
            ),
        ));
    }
    if v["data"]["resultType"] != "matrix" {
        return Err(ctx.err(
            None,
            format!(
                "expected a range query answer (resultType matrix), found `{}`",
                v["data"]["resultType"]
            ),
        ));
    }
    let series = v["data"]["result"].as_array().cloned().unwrap_or_default();
    if series.len() != 1 {
        return Err(ctx.err(
            None,
            format!(
                "expected exactly one series, found {}; aggregate the query (e.g. sum(...))",
                series.len()
            ),
        ));
    }
    let values = series[0]["values"].as_array().cloned().unwrap_or_default();
    let mut pts = Vec::new();
    for (i, p) in values.iter().enumerate() {
        let t = p[0].as_f64();
        let val = p[1].as_str().and_then(|s| s.parse::<f64>().ok());
        match (t, val) {
            (Some(t), Some(v)) if v.is_finite() => {
                pts.push((t, v));
                ctx.report.rows += 1;
            }
            _ => ctx.bad(i + 1, format!("sample {i} is not [time, \"value\"]"))?,
        }
    }
    if pts.is_empty() {
        return Err(ctx.err(None, "the series has no samples"));
    }
    let step = ctx
        .opts
        .bin_s
        .unwrap_or_else(|| infer_step(&pts.iter().map(|p| p.0).collect::<Vec<_>>()));
    let start = pts[0].0;
    let n = ((pts.last().unwrap().0 - start) / step).round() as usize + 1;
    let mut counts = vec![None; n];
    for (t, v) in pts {
        let i = ((t - start) / step).round() as usize;
        if let Some(c) = counts.get_mut(i) {
            *c = Some(v * step);
        }
    }
    Ok((
        start,
        TraceData::Binned {
            bin_s: step,
            counts,
        },
    ))
}

/// The most common positive difference between consecutive times (the bin width).
pub fn infer_step(times: &[f64]) -> f64 {
    let mut diffs: Vec<i64> = times
        .windows(2)
        .map(|w| ((w[1] - w[0]) * 1000.0).round() as i64)
        .filter(|d| *d > 0)
        .collect();
    if diffs.is_empty() {
        return 1.0;
    }
    diffs.sort_unstable();
    let (mut best, mut best_n, mut cur, mut n) = (diffs[0], 0, diffs[0], 0);
    for d in diffs {
        if d == cur {
            n += 1;
        } else {
            cur = d;
            n = 1;
        }
        if n > best_n {
            best = cur;
            best_n = n;
        }
    }
    best as f64 / 1000.0
}

/// Binned counts from `(time, count)` rows: rows are placed in bins from the first time;
/// bins no row falls into are missing.
#[cfg_attr(not(feature = "polars"), allow(dead_code))]
fn bin_rows(rows: Vec<(f64, f64)>, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    if rows.is_empty() {
        return Err(ctx.err(None, "no data rows"));
    }
    let unsorted = rows.windows(2).filter(|w| w[1].0 < w[0].0).count() as u64;
    if unsorted > 0 && ctx.opts.reject_unsorted {
        return Err(ctx.err(
            None,
            format!("{unsorted} rows are out of order; sort the file or drop --reject-unsorted"),
        ));
    }
    ctx.report.out_of_order = unsorted;
    let mut times: Vec<f64> = rows.iter().map(|r| r.0).collect();
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let bin = ctx.opts.bin_s.unwrap_or_else(|| infer_step(&times));
    let start = times[0];
    let n = ((times.last().unwrap() - start) / bin).round() as usize + 1;
    if n > 200_000_000 {
        return Err(ctx.err(
            None,
            format!("{n} bins of {bin} s: the time column does not look like a regular series"),
        ));
    }
    let mut counts: Vec<Option<f64>> = vec![None; n];
    for (t, c) in rows {
        let i = ((t - start) / bin).floor() as usize;
        if let Some(slot) = counts.get_mut(i) {
            *slot = Some(slot.unwrap_or(0.0) + c);
        }
    }
    Ok((start, TraceData::Binned { bin_s: bin, counts }))
}

/// A time cell: a number (epoch in the chosen unit, or an offset) or a datetime string.
#[cfg_attr(not(feature = "polars"), allow(dead_code))]
fn time_value(s: &str, ctx: &Ctx) -> Result<f64, String> {
    let s = s.trim();
    if let Ok(v) = s.parse::<f64>() {
        if !v.is_finite() {
            return Err(format!("`{s}` is not a time"));
        }
        return Ok(match ctx.opts.time_unit {
            TimeUnit::Seconds => v,
            TimeUnit::Millis => v / 1e3,
            TimeUnit::Micros => v / 1e6,
        });
    }
    parse_datetime(s, ctx.opts.tz_offset_s)
}

#[cfg(feature = "polars")]
fn read_table(path: &Path, format: Format, ctx: &mut Ctx) -> Result<(f64, TraceData), TraceError> {
    use polars::prelude::*;
    let pe = |e: PolarsError| ctx.err(None, format!("cannot read the table: {e}"));
    let df = match format {
        Format::Parquet => {
            let f = std::fs::File::open(path)
                .map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
            ParquetReader::new(f).finish().map_err(pe)?
        }
        _ => CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(path.into()))
            .map_err(pe)?
            .finish()
            .map_err(pe)?,
    };
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    if format == Format::Parquet {
        let version = df
            .column("format_version")
            .ok()
            .and_then(|c| c.cast(&DataType::UInt32).ok())
            .and_then(|c| c.u32().ok().and_then(|v| v.get(0)));
        match version {
            Some(super::TRACE_FORMAT_VERSION) => {}
            Some(v) => {
                return Err(ctx.err(
                    None,
                    format!(
                        "trace format_version {v} is not supported (this build reads {})",
                        super::TRACE_FORMAT_VERSION
                    ),
                ));
            }
            // Any other Parquet table: read its columns like a CSV's.
            None => {}
        }
    }
    let pick = |want: &Option<String>,
                defaults: &[&str],
                fallback: Option<usize>|
     -> Result<String, TraceError> {
        match want {
            Some(c) => {
                if names.contains(c) {
                    Ok(c.clone())
                } else {
                    Err(ctx.err(
                        None,
                        format!("no column `{c}` (columns: {})", names.join(", ")),
                    ))
                }
            }
            None => defaults
                .iter()
                .find(|d| names.iter().any(|n| n == *d))
                .map(|d| d.to_string())
                .or_else(|| fallback.and_then(|i| names.get(i).cloned()))
                .ok_or_else(|| {
                    ctx.err(
                        None,
                        format!(
                            "no count column (columns: {}); name it with --count-col",
                            names.join(", ")
                        ),
                    )
                }),
        }
    };
    let time_col = pick(
        &ctx.opts.time_col,
        &[
            "unix_s",
            "timestamp",
            "TIMESTAMP",
            "time",
            "period",
            "offset_s",
        ],
        Some(0),
    )?;
    // Columns as strings, iterated in place (no per-row allocation).
    let as_strings = |name: &str| -> Result<StringChunked, TraceError> {
        let c = df
            .column(name)
            .map_err(pe)?
            .cast(&DataType::String)
            .map_err(pe)?;
        Ok(c.str().map_err(pe)?.clone())
    };
    let times = as_strings(&time_col)?;
    let binned = format == Format::BinnedCsv
        || (format == Format::Parquet
            && (ctx.opts.count_col.is_some()
                || names
                    .iter()
                    .any(|n| matches!(n.as_str(), "requests" | "count" | "events"))));
    if binned {
        let count_col = pick(&ctx.opts.count_col, &["requests", "count", "events"], None)?;
        let counts = as_strings(&count_col)?;
        let mut rows = Vec::with_capacity(times.len());
        for (i, (t, c)) in times.iter().zip(counts.iter()).enumerate() {
            let line = i + 2;
            let t = match t.map(|s| time_value(s, ctx)) {
                Some(Ok(t)) => t,
                Some(Err(e)) => {
                    ctx.bad(line, format!("{time_col}: {e}"))?;
                    continue;
                }
                None => {
                    ctx.bad(line, format!("{time_col} is empty"))?;
                    continue;
                }
            };
            match c.map(|s| s.trim().parse::<f64>()) {
                Some(Ok(v)) if v.is_finite() && v >= 0.0 => {
                    rows.push((t, v));
                    ctx.report.rows += 1;
                }
                // A canonical file writes missing bins as nulls: no row for them.
                None if format == Format::Parquet => {}
                Some(Ok(v)) => ctx.bad(line, format!("{count_col}: {v} is not a count"))?,
                Some(Err(_)) | None => ctx.bad(
                    line,
                    format!("{count_col}: `{}` is not a count", c.unwrap_or_default()),
                )?,
            }
        }
        let mut out = bin_rows(rows, ctx)?;
        if format == Format::Parquet
            && let Ok(c) = df.column("bin_s")
            && let Some(b) = c
                .cast(&DataType::Float64)
                .ok()
                .and_then(|c| c.f64().ok().and_then(|v| v.get(0)))
            && let TraceData::Binned { bin_s, .. } = &mut out.1
        {
            *bin_s = b;
        }
        Ok(out)
    } else {
        let attr_col = ctx.opts.attr.clone();
        let attr_vals = match &attr_col {
            Some(c) if names.contains(c) => Some(as_strings(c)?),
            Some(c) => {
                return Err(ctx.err(
                    None,
                    format!("no attribute column `{c}` (columns: {})", names.join(", ")),
                ));
            }
            None => None,
        };
        let mut ts = Vec::with_capacity(times.len());
        let mut attrs = Vec::new();
        // A column whose values are not all numbers is categorical (e.g. a request type): each
        // distinct label gets a code, and the labels travel with the trace.
        let categorical = attr_vals
            .as_ref()
            .is_some_and(|v| v.iter().flatten().any(|s| s.trim().parse::<f64>().is_err()));
        let mut labels: Vec<String> = Vec::new();
        let mut attr_iter = attr_vals.as_ref().map(|v| v.iter());
        for (i, t) in times.iter().enumerate() {
            let attr_cell = attr_iter.as_mut().and_then(|it| it.next());
            let attr = match &attr_vals {
                Some(_) if categorical => {
                    match attr_cell.flatten().map(str::trim).filter(|s| !s.is_empty()) {
                        Some(label) => Some(match labels.iter().position(|l| l == label) {
                            Some(i) => i as f64,
                            None => {
                                labels.push(label.to_string());
                                (labels.len() - 1) as f64
                            }
                        }),
                        None => {
                            ctx.bad(
                                i + 2,
                                format!("{}: empty label", attr_col.as_deref().unwrap_or("")),
                            )?;
                            continue;
                        }
                    }
                }
                Some(_) => match attr_cell.flatten().map(|s| s.trim().parse::<f64>()) {
                    Some(Ok(x)) if x.is_finite() && x >= 0.0 => Some(x),
                    _ => {
                        ctx.bad(
                            i + 2,
                            format!(
                                "{}: `{}` is not a number >= 0",
                                attr_col.as_deref().unwrap_or(""),
                                attr_cell.flatten().unwrap_or_default()
                            ),
                        )?;
                        continue;
                    }
                },
                None => None,
            };
            match t.map(|s| time_value(s, ctx)) {
                Some(Ok(t)) => {
                    ts.push(t);
                    if let Some(a) = attr {
                        attrs.push(a);
                    }
                    ctx.report.rows += 1;
                }
                Some(Err(e)) => ctx.bad(i + 2, format!("{time_col}: {e}"))?,
                None => ctx.bad(i + 2, format!("{time_col} is empty"))?,
            }
        }
        if attr_vals.is_some() {
            ctx.attrs = Some(attrs);
        }
        if categorical {
            ctx.attr_labels = Some(labels);
        }
        requests(ts, ctx)
    }
}

#[cfg(not(feature = "polars"))]
fn read_table(
    _path: &Path,
    _format: Format,
    ctx: &mut Ctx,
) -> Result<(f64, TraceData), TraceError> {
    Err(ctx.err(None, "CSV and Parquet traces need the `polars` feature (on by default); rebuild without --no-default-features"))
}

/// Write a canonical trace: Parquet (with a `format_version` column) or CSV.
#[cfg(feature = "polars")]
pub fn write(trace: &Trace, path: &Path) -> Result<(), TraceError> {
    use polars::prelude::*;
    let file = path.display().to_string();
    let e = |m: String| TraceError {
        file: file.clone(),
        line: None,
        message: m,
    };
    let csv = path.extension().is_some_and(|x| x == "csv");
    let mut df = match &trace.data {
        TraceData::Binned { bin_s, counts } => {
            let t: Vec<f64> = (0..counts.len())
                .map(|i| trace.start_unix_s + i as f64 * bin_s)
                .collect();
            let c: Vec<Option<f64>> = counts.clone();
            let n = t.len();
            DataFrame::new_infer_height(vec![
                Column::new("unix_s".into(), t),
                Column::new("requests".into(), c),
                Column::new("bin_s".into(), vec![*bin_s; n]),
                Column::new(
                    "format_version".into(),
                    vec![super::TRACE_FORMAT_VERSION; n],
                ),
            ])
        }
        TraceData::Requests { times_s } => {
            let t: Vec<f64> = times_s.iter().map(|x| trace.start_unix_s + x).collect();
            let n = t.len();
            DataFrame::new_infer_height(vec![
                Column::new("unix_s".into(), t),
                Column::new(
                    "format_version".into(),
                    vec![super::TRACE_FORMAT_VERSION; n],
                ),
            ])
        }
    }
    .map_err(|x| e(x.to_string()))?;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|x| e(x.to_string()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("trace"),
        std::process::id()
    ));
    {
        let mut f = std::fs::File::create(&tmp).map_err(|x| e(x.to_string()))?;
        if csv {
            CsvWriter::new(&mut f)
                .finish(&mut df)
                .map_err(|x| e(x.to_string()))?;
        } else {
            ParquetWriter::new(&mut f)
                .finish(&mut df)
                .map_err(|x| e(x.to_string()))?;
        }
    }
    std::fs::rename(&tmp, path).map_err(|x| e(x.to_string()))
}

#[cfg(not(feature = "polars"))]
pub fn write(_trace: &Trace, path: &Path) -> Result<(), TraceError> {
    Err(TraceError {
        file: path.display().to_string(),
        line: None,
        message: "writing traces needs the `polars` feature".into(),
    })
}
