//! Tables: CSV (the `csv` crate) and Parquet (the `parquet` crate's record reader) read row by
//! row into a binned or per-request trace, and the canonical trace written back as Parquet or
//! CSV.

use super::{BinRow, Ctx, Format, TimeUnit, Values, bin_rows, requests};
use crate::trace::time::parse_datetime;
use crate::trace::{Trace, TraceData, TraceError};
use std::path::Path;

/// Run `f`, turning a panic into `Err` without printing it (the caller reports the input
/// as corrupt). The panic hook is swapped for the call: a dependency's panic on bad bytes is
/// an error message, not a backtrace.
fn quietly<T>(f: impl FnOnce() -> T) -> Result<T, ()> {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    std::panic::set_hook(hook);
    r.map_err(|_| ())
}

/// A time cell: a number (epoch in the chosen unit, or an offset) or a datetime string.
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

/// One cell of a CSV or Parquet table.
enum Cell {
    Null,
    Text(String),
    Num(f64),
    /// A Parquet timestamp, already in UTC epoch seconds.
    Epoch(f64),
}

impl Cell {
    fn from_csv(s: &str) -> Cell {
        if s.is_empty() {
            Cell::Null
        } else {
            Cell::Text(s.to_string())
        }
    }

    fn from_parquet(f: &parquet::record::Field) -> Cell {
        use parquet::record::Field as F;
        match f {
            F::Null => Cell::Null,
            F::Str(s) => Cell::Text(s.clone()),
            F::Byte(v) => Cell::Num(f64::from(*v)),
            F::Short(v) => Cell::Num(f64::from(*v)),
            F::Int(v) => Cell::Num(f64::from(*v)),
            F::Long(v) => Cell::Num(*v as f64),
            F::UByte(v) => Cell::Num(f64::from(*v)),
            F::UShort(v) => Cell::Num(f64::from(*v)),
            F::UInt(v) => Cell::Num(f64::from(*v)),
            F::ULong(v) => Cell::Num(*v as f64),
            F::Float(v) => Cell::Num(f64::from(*v)),
            F::Double(v) => Cell::Num(*v),
            F::TimestampMillis(v) => Cell::Epoch(*v as f64 / 1e3),
            F::TimestampMicros(v) => Cell::Epoch(*v as f64 / 1e6),
            F::Date(d) => Cell::Epoch(f64::from(*d) * 86_400.0),
            other => Cell::Text(other.to_string()),
        }
    }

    /// The cell as written, for messages.
    fn shown(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Num(v) | Cell::Epoch(v) => v.to_string(),
        }
    }

    /// A number, if the cell holds one.
    fn number(&self) -> Option<f64> {
        match self {
            Cell::Num(v) => Some(*v),
            Cell::Text(s) => s.trim().parse::<f64>().ok(),
            Cell::Null | Cell::Epoch(_) => None,
        }
    }
}

/// A table read row by row: its column names and its rows, each with the line it is reported
/// under (a CSV's own line; a Parquet row's index + 2, as if under a header line).
struct Table {
    names: Vec<String>,
    rows: Box<dyn Iterator<Item = Result<Row, RowError>>>,
}

/// A row's line and cells.
type Row = (usize, Vec<Cell>);

enum RowError {
    /// A row that cannot be read (counted as a malformed line).
    Bad(usize, String),
    /// The file cannot be read any further.
    Fatal(String),
}

fn open_table(path: &Path, format: Format, ctx: &Ctx) -> Result<Table, TraceError> {
    if format == Format::Parquet {
        use parquet::file::reader::{FileReader, SerializedFileReader};
        let f =
            std::fs::File::open(path).map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
        // The parquet crate can panic on a corrupt file (found by the mutation harness: "Decoder
        // for dict should have been set"); a corrupt file is bad input, not a crash.
        let corrupt =
            || "the Parquet file is corrupt (its reader failed); export it again".to_string();
        let reader = quietly(|| SerializedFileReader::new(f))
            .map_err(|_| ctx.err(None, corrupt()))?
            .map_err(|e| ctx.err(None, format!("cannot read the table: {e}")))?;
        let names = reader
            .metadata()
            .file_metadata()
            .schema()
            .get_fields()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        let mut it = reader.into_iter().enumerate();
        let mut failed = false;
        let rows = std::iter::from_fn(move || {
            if failed {
                return None;
            }
            let next = quietly(|| it.next());
            let Ok(next) = next else {
                failed = true;
                return Some(Err(RowError::Fatal(corrupt())));
            };
            next.map(|(i, row)| match row {
                Ok(row) => Ok((
                    i + 2,
                    row.get_column_iter()
                        .map(|(_, f)| Cell::from_parquet(f))
                        .collect(),
                )),
                Err(e) => Err(RowError::Fatal(format!("cannot read the table: {e}"))),
            })
        });
        return Ok(Table {
            names,
            rows: Box::new(rows),
        });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_path(path)
        .map_err(|e| ctx.err(None, format!("cannot read: {e}")))?;
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| ctx.err(Some(1), format!("cannot read the header: {e}")))?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let width = names.len();
    let rows = reader.into_records().map(move |r| match r {
        Ok(rec) => {
            let line = rec.position().map_or(0, |p| p.line() as usize);
            if rec.len() != width {
                return Err(RowError::Bad(
                    line,
                    format!("{} fields where the header has {width}", rec.len()),
                ));
            }
            Ok((line, rec.iter().map(Cell::from_csv).collect()))
        }
        Err(e) => {
            let line = e.position().map_or(0, |p| p.line() as usize);
            match e.kind() {
                csv::ErrorKind::Io(_) => Err(RowError::Fatal(format!("cannot read: {e}"))),
                _ => Err(RowError::Bad(line, format!("not a CSV row: {e}"))),
            }
        }
    });
    Ok(Table {
        names,
        rows: Box::new(rows),
    })
}

/// A table's time cell in epoch seconds (or an offset, as the file has it).
fn cell_time(c: &Cell, ctx: &Ctx) -> Result<f64, String> {
    match c {
        Cell::Epoch(t) => Ok(*t),
        Cell::Num(v) => time_value(&v.to_string(), ctx),
        Cell::Text(s) => time_value(s, ctx),
        Cell::Null => Err("empty".into()),
    }
}

pub(super) fn read_table(
    path: &Path,
    format: Format,
    ctx: &mut Ctx,
) -> Result<(f64, TraceData), TraceError> {
    let table = open_table(path, format, ctx)?;
    let names = &table.names;
    let pick = |want: &Option<String>,
                defaults: &[&str],
                fallback: Option<usize>|
     -> Result<usize, TraceError> {
        match want {
            Some(c) => names.iter().position(|n| n == c).ok_or_else(|| {
                ctx.err(
                    None,
                    format!("no column `{c}` (columns: {})", names.join(", ")),
                )
            }),
            None => defaults
                .iter()
                .find_map(|d| names.iter().position(|n| n == d))
                .or_else(|| fallback.filter(|i| *i < names.len()))
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
    let time_name = names[time_col].clone();
    let binned = match format {
        Format::RequestsCsv if ctx.opts.count_col.is_some() => {
            if ctx.opts.format == Some(Format::RequestsCsv) {
                return Err(ctx.err(
                    None,
                    "--count-col names a column of counts, but --format requests reads one row \
                     per request; drop one of them",
                ));
            }
            true
        }
        Format::Parquet => {
            ctx.opts.count_col.is_some()
                || names
                    .iter()
                    .any(|n| matches!(n.as_str(), "requests" | "count" | "events"))
        }
        f => f == Format::BinnedCsv,
    };
    let count_col = if binned {
        Some(pick(
            &ctx.opts.count_col,
            &["requests", "count", "events"],
            None,
        )?)
    } else {
        None
    };
    let attr_col = match &ctx.opts.attr {
        // Binned rows carry no per-request attribute.
        Some(_) if binned => None,
        Some(c) => Some(names.iter().position(|n| n == c).ok_or_else(|| {
            ctx.err(
                None,
                format!("no attribute column `{c}` (columns: {})", names.join(", ")),
            )
        })?),
        None => None,
    };
    let parquet = format == Format::Parquet;
    let version_col = names.iter().position(|n| n == "format_version");
    let bin_col = names.iter().position(|n| n == "bin_s");
    let mut file_bin_s = None;
    let mut binned_rows = Vec::new();
    // Times of rows whose count is bad: still evidence of the bin width.
    let mut bad_count_times = Vec::new();
    let mut times = Vec::new();
    // Attribute cells are kept as written until every row is read: a column whose values
    // are not all numbers is categorical (e.g. a request type).
    let mut attr_cells: Vec<(usize, Cell)> = Vec::new();
    for (k, row) in table.rows.enumerate() {
        let (line, mut cells) = match row {
            Ok(r) => r,
            Err(RowError::Bad(line, why)) => {
                ctx.bad(line, why)?;
                continue;
            }
            Err(RowError::Fatal(why)) => return Err(ctx.err(None, why)),
        };
        if k == 0 && parquet {
            let version = version_col.and_then(|i| cells[i].number());
            if let Some(v) = version
                && v != f64::from(crate::trace::TRACE_FORMAT_VERSION)
            {
                return Err(ctx.err(
                    None,
                    format!(
                        "trace format_version {v} is not supported (this build reads {})",
                        crate::trace::TRACE_FORMAT_VERSION
                    ),
                ));
            }
            file_bin_s = bin_col.and_then(|i| cells[i].number());
        }
        let t = match cell_time(&cells[time_col], ctx) {
            Ok(t) => t,
            Err(_) if matches!(cells[time_col], Cell::Null) => {
                ctx.bad(line, format!("{time_name} is empty"))?;
                continue;
            }
            Err(e) => {
                ctx.bad(line, format!("{time_name}: {e}"))?;
                continue;
            }
        };
        if let Some(ci) = count_col {
            let count_name = &names[ci];
            match (&cells[ci], cells[ci].number()) {
                (_, Some(v)) if v.is_finite() && v >= 0.0 => {
                    binned_rows.push(BinRow { t, v, line });
                    ctx.report.rows += 1;
                }
                // A canonical file writes missing bins as nulls: no row for them.
                (Cell::Null, _) if parquet => {}
                (_, Some(v)) => {
                    bad_count_times.push(t);
                    ctx.bad(line, format!("{count_name}: {v} is not a count"))?
                }
                (c, None) => {
                    bad_count_times.push(t);
                    ctx.bad(
                        line,
                        format!("{count_name}: `{}` is not a count", c.shown()),
                    )?
                }
            }
        } else {
            times.push(t);
            match attr_col {
                // Counted once its attribute is read, below.
                Some(ai) => attr_cells.push((line, std::mem::replace(&mut cells[ai], Cell::Null))),
                None => ctx.report.rows += 1,
            }
        }
    }
    if count_col.is_some() {
        let mut out = bin_rows(binned_rows, bad_count_times, Values::Counts, ctx)?;
        if let (Some(b), TraceData::Binned { bin_s, .. }) = (file_bin_s, &mut out.1) {
            *bin_s = b;
        }
        return Ok(out);
    }
    if let Some(ai) = attr_col {
        let attr_name = names[ai].clone();
        let categorical = attr_cells
            .iter()
            .any(|(_, c)| !matches!(c, Cell::Null) && c.number().is_none());
        let mut labels: Vec<String> = Vec::new();
        let mut attrs = Vec::with_capacity(attr_cells.len());
        let mut kept = Vec::with_capacity(times.len());
        for ((line, cell), t) in attr_cells.into_iter().zip(times) {
            let value = if categorical {
                let label = cell.shown();
                let label = label.trim();
                if label.is_empty() {
                    ctx.bad(line, format!("{attr_name}: empty label"))?;
                    continue;
                }
                match labels.iter().position(|l| l == label) {
                    Some(i) => i as f64,
                    None => {
                        labels.push(label.to_string());
                        (labels.len() - 1) as f64
                    }
                }
            } else {
                match cell.number() {
                    Some(x) if x.is_finite() && x >= 0.0 => x,
                    _ => {
                        ctx.bad(
                            line,
                            format!("{attr_name}: `{}` is not a number >= 0", cell.shown()),
                        )?;
                        continue;
                    }
                }
            };
            attrs.push(value);
            kept.push(t);
            ctx.report.rows += 1;
        }
        times = kept;
        ctx.attrs = Some(attrs);
        if categorical {
            ctx.attr_labels = Some(labels);
        }
    }
    requests(times, ctx)
}

/// Write a canonical trace: Parquet (with a `format_version` column) or CSV.
pub fn write(trace: &Trace, path: &Path) -> Result<(), TraceError> {
    use crate::io::ParquetColumn as C;
    let e = |m: String| TraceError::Io {
        path: path.display().to_string(),
        message: m,
    };
    let csv = path.extension().is_some_and(|x| x == "csv");
    let version = crate::trace::TRACE_FORMAT_VERSION;
    let (times, counts, bin_s): (Vec<f64>, Option<&[Option<f64>]>, f64) = match &trace.data {
        TraceData::Binned { bin_s, counts } => (
            (0..counts.len())
                .map(|i| trace.start_unix_s + i as f64 * bin_s)
                .collect(),
            Some(counts),
            *bin_s,
        ),
        TraceData::Requests { times_s } => (
            times_s.iter().map(|x| trace.start_unix_s + x).collect(),
            None,
            0.0,
        ),
    };
    if csv {
        let mut text = String::with_capacity(times.len() * 32);
        text.push_str(if counts.is_some() {
            "unix_s,requests,bin_s,format_version\n"
        } else {
            "unix_s,format_version\n"
        });
        for (i, t) in times.iter().enumerate() {
            text.push_str(&csv_float(*t));
            if let Some(c) = counts {
                text.push(',');
                if let Some(c) = c[i] {
                    text.push_str(&csv_float(c));
                }
                text.push(',');
                text.push_str(&csv_float(bin_s));
            }
            text.push(',');
            text.push_str(&version.to_string());
            text.push('\n');
        }
        return crate::io::write_atomic(path, text.as_bytes()).map_err(|x| e(x.to_string()));
    }
    let n = times.len();
    let versions = vec![version; n];
    let bins = vec![bin_s; n];
    let mut columns = vec![("unix_s", C::F64(&times))];
    if let Some(c) = counts {
        columns.push(("requests", C::OptF64(c)));
        columns.push(("bin_s", C::F64(&bins)));
    }
    columns.push(("format_version", C::U32(&versions)));
    crate::io::write_parquet(path, &columns, &[]).map_err(|x| e(x.to_string()))
}

/// A float as the canonical CSV writes it: the shortest text that reads back exactly, with a
/// decimal point on whole numbers (`12.0`).
fn csv_float(v: f64) -> String {
    format!("{v:?}")
}
