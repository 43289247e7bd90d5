//! Trace readers: CSV (the `csv` crate), Parquet (the `parquet` crate's record reader), plain
//! counts, access logs and Prometheus answers. Bad rows are counted and reported with their line
//! numbers; more than `max_bad_lines` of them is an error.

mod table;

pub use table::write;

use super::time::{parse_clf_time, parse_offset};
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
    resolution_s: f64,
}

impl Ctx<'_> {
    fn err(&self, line: Option<usize>, m: impl Into<String>) -> TraceError {
        TraceError::input(self.file, line, m)
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
        let binned = header.split(',').any(|c| {
            matches!(
                c.trim().trim_matches('"').trim(),
                "requests" | "count" | "events"
            )
        });
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
    let meta = std::fs::metadata(path)
        .map_err(|e| TraceError::input(&file, None, format!("cannot read: {e}")))?;
    if meta.len() == 0 {
        return Err(TraceError::input(file, None, "the file is empty"));
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
        resolution_s: FINEST_RESOLUTION_S,
    };
    let (start, data) = match format {
        Format::Counts => read_counts(path, &mut ctx)?,
        Format::AccessLog => read_access_log(path, &mut ctx)?,
        Format::PrometheusJson => read_prometheus(path, &mut ctx)?,
        Format::BinnedCsv | Format::RequestsCsv | Format::Parquet => {
            table::read_table(path, format, &mut ctx)?
        }
    };
    let report = ctx.report;
    let attrs = ctx.attrs;
    let attr_labels = ctx.attr_labels;
    let resolution_s = ctx.resolution_s;
    let mut t = Trace {
        source: file.clone(),
        start_unix_s: start,
        data,
        report,
        attrs,
        attr_labels,
        resolution_s,
    };
    if let TraceData::Binned { counts, .. } = &t.data {
        t.report.missing_bins = counts.iter().filter(|c| c.is_none()).count() as u64;
    }
    if t.total() == 0.0 && t.report.rows == 0 {
        return Err(TraceError::input(t.source, None, "no data rows"));
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
    let mut r = open_maybe_gz(path).map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
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
    let mut buf = Vec::new();
    // Lines before the one in `buf`.
    let mut i = 0usize;
    loop {
        // Runs of empty lines are skipped a buffer at a time, so that a small gzip of
        // nothing but newlines costs what decompressing it costs, not a pass per line.
        let cannot =
            |e: std::io::Error, i: usize| ctx.err(Some(i + 1), format!("cannot read: {e}"));
        let avail = r.fill_buf().map_err(|e| cannot(e, i))?;
        if avail.is_empty() {
            break;
        }
        let blank = avail
            .iter()
            .take_while(|b| matches!(b, b'\n' | b'\r'))
            .count();
        if blank > 0 {
            i += avail[..blank].iter().filter(|b| **b == b'\n').count();
            r.consume(blank);
            continue;
        }
        buf.clear();
        r.read_until(b'\n', &mut buf).map_err(|e| cannot(e, i))?;
        i += 1;
        let i = i - 1;
        let line = String::from_utf8_lossy(&buf);
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

/// The resolution assumed for per-request stamps with digits below the millisecond.
const FINEST_RESOLUTION_S: f64 = 1e-6;

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
    // The coarsest of 1 s and 1 ms that every stamp is a whole multiple of.
    ctx.resolution_s = [1.0, 1e-3]
        .into_iter()
        .find(|r| {
            times.iter().all(|t| {
                let x = t / r;
                (x - x.round()).abs() < 1e-2
            })
        })
        .unwrap_or(FINEST_RESOLUTION_S);
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
        resolution_s: FINEST_RESOLUTION_S,
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
        resolution_s: FINEST_RESOLUTION_S,
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
    let mut rows = Vec::new();
    let mut bad_value_times = Vec::new();
    for (i, p) in values.iter().enumerate() {
        let t = p[0].as_f64().filter(|t| t.is_finite());
        let text = p[1].as_str();
        let Some(t) = t.filter(|_| text.is_some() && p.as_array().is_some_and(|a| a.len() == 2))
        else {
            ctx.bad(i + 1, format!("sample {i} is not [time, \"value\"]"))?;
            continue;
        };
        let text = text.unwrap_or_default();
        match text.parse::<f64>() {
            Ok(v) if v.is_finite() && v >= 0.0 => {
                rows.push(BinRow { t, v, line: i + 1 });
                ctx.report.rows += 1;
            }
            _ => {
                bad_value_times.push(t);
                ctx.bad(
                    i + 1,
                    format!("sample {i} (time {t}): `{text}` is not a rate >= 0"),
                )?;
            }
        }
    }
    if rows.is_empty() {
        let why: Vec<&str> = ctx
            .report
            .bad_examples
            .iter()
            .map(|(_, w)| w.as_str())
            .collect();
        return Err(ctx.err(
            None,
            if why.is_empty() {
                "the series has no samples".to_string()
            } else {
                format!("the series has no usable samples ({})", why.join("; "))
            },
        ));
    }
    bin_rows(rows, bad_value_times, Values::RatesPerSecond, ctx)
}

/// A row of a binned input: its time, its value and the line (or sample) it came from.
struct BinRow {
    t: f64,
    v: f64,
    line: usize,
}

/// What the values of a binned input are.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Values {
    /// Counts per row; rows falling in one bin add up.
    Counts,
    /// Rates per second sampled at the bin times (a Prometheus answer): a bin holds
    /// rate × width.
    RatesPerSecond,
}

/// A binned input may span this many bins per row read, or `BINS_ALWAYS_ALLOWED`, whichever
/// is more: the bins are stored densely, so a row with a stray timestamp would otherwise
/// cost memory in proportion to the gap it opens, not to the data.
const BINS_PER_ROW: f64 = 100.0;
const BINS_ALWAYS_ALLOWED: f64 = 1_000_000.0;

/// Binned counts from rows placed in bins from the first row's time; bins no row falls into
/// are missing. `other_times` are times of rows whose value was bad: evidence of the bin
/// width, not data.
fn bin_rows(
    mut rows: Vec<BinRow>,
    other_times: Vec<f64>,
    values: Values,
    ctx: &mut Ctx,
) -> Result<(f64, TraceData), TraceError> {
    if rows.is_empty() {
        return Err(ctx.err(None, "no data rows"));
    }
    let unsorted = rows.windows(2).filter(|w| w[1].t < w[0].t).count() as u64;
    if unsorted > 0 && ctx.opts.reject_unsorted {
        return Err(ctx.err(
            None,
            format!("{unsorted} rows are out of order; sort the file or drop --reject-unsorted"),
        ));
    }
    ctx.report.out_of_order = unsorted;
    rows.sort_by(|a, b| a.t.total_cmp(&b.t));
    let mut times: Vec<f64> = rows.iter().map(|r| r.t).chain(other_times).collect();
    times.sort_by(f64::total_cmp);
    let bin = ctx.opts.bin_s.unwrap_or_else(|| infer_step(&times));
    let start = rows[0].t;
    let end = rows[rows.len() - 1].t;
    let bins = ((end - start) / bin).round() + 1.0;
    let allowed = BINS_ALWAYS_ALLOWED.max(BINS_PER_ROW * rows.len() as f64);
    if bins > allowed {
        let (a, b) = rows
            .windows(2)
            .map(|w| (&w[0], &w[1]))
            .max_by(|x, y| (x.1.t - x.0.t).total_cmp(&(y.1.t - y.0.t)))
            .expect("more than one bin means more than one row");
        return Err(ctx.err(
            None,
            format!(
                "{} rows would span {bins:.0} bins of {bin} s ({:.1} days), almost all of them \
                 missing; the widest gap is {:.1} days, between line {} (time {}) and line {} \
                 (time {}). Fix or remove the stray row, or read with a wider --bin",
                rows.len(),
                (end - start) / 86_400.0,
                (b.t - a.t) / 86_400.0,
                a.line,
                a.t,
                b.line,
                b.t
            ),
        ));
    }
    let mut counts: Vec<Option<f64>> = vec![None; bins as usize];
    for r in rows {
        let x = (r.t - start) / bin;
        match values {
            Values::Counts => {
                if let Some(slot) = counts.get_mut(x.floor() as usize) {
                    *slot = Some(slot.unwrap_or(0.0) + r.v);
                }
            }
            Values::RatesPerSecond => {
                if let Some(slot) = counts.get_mut(x.round() as usize) {
                    *slot = Some(r.v * bin);
                }
            }
        }
    }
    Ok((start, TraceData::Binned { bin_s: bin, counts }))
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
