//! `scaletwin trace`: read, summarise and convert recorded traces; the trace flags that
//! `simulate --trace` shares.

use super::{failed, usage};
use clap::Subcommand;
use std::path::PathBuf;
use std::process::ExitCode;

/// How to read a trace file (shared by `trace` and `simulate --trace`).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TraceRead {
    /// Time column of a CSV/Parquet trace (default: unix_s, timestamp, time, period, offset_s, or the first).
    #[arg(long)]
    pub time_col: Option<String>,
    /// Count column of a binned CSV trace (default: requests, count or events).
    #[arg(long)]
    pub count_col: Option<String>,
    /// Unit of numeric timestamps: s, ms or us.
    #[arg(long, default_value = "s")]
    pub time_unit: String,
    /// Zone of datetimes written without one: UTC, +02:00, -0400.
    #[arg(long, default_value = "UTC")]
    pub tz: String,
    /// Bin width in seconds for binned inputs (default: inferred; 1 for plain counts).
    #[arg(long)]
    pub bin: Option<f64>,
    /// Malformed lines tolerated (counted and reported) before the read fails.
    #[arg(long, default_value_t = 10)]
    pub max_bad_lines: u64,
    /// Reject out-of-order timestamps instead of sorting them.
    #[arg(long)]
    pub reject_unsorted: bool,
    /// Keep a per-request attribute: a CSV column (e.g. GeneratedTokens) or an access log's
    /// `status` / `bytes`; the service model maps it to work (work.per_unit_s,
    /// work.tokens_per_unit).
    #[arg(long)]
    pub trace_attr: Option<String>,
}

/// Transforms applied to a trace before use.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct TraceTransform {
    /// Keep from this point: seconds after the trace start, or a datetime
    /// (`2023-11-16 18:30:00`, in --tz unless it has a zone).
    #[arg(long)]
    pub trace_from: Option<String>,
    /// Keep until this point: seconds after the trace start, or a datetime.
    #[arg(long)]
    pub trace_to: Option<String>,
    /// Multiply the load by this factor.
    #[arg(long)]
    pub trace_scale: Option<f64>,
    /// Scale so the peak rate is this many req/s.
    #[arg(long, conflicts_with = "trace_scale")]
    pub trace_peak: Option<f64>,
    /// Play this many times faster.
    #[arg(long)]
    pub trace_compress: Option<f64>,
    /// Delay the trace by this many seconds.
    #[arg(long)]
    pub trace_shift: Option<f64>,
    /// Append another trace after this one.
    #[arg(long)]
    pub trace_splice: Option<PathBuf>,
    /// Arrivals within a bin: constant (piecewise-constant rate) or linear (between bin centres).
    #[arg(long, default_value = "constant")]
    pub interpolate: String,
}

#[derive(Subcommand)]
pub enum TraceCommand {
    /// Summarise a trace: span, count, mean and peak rates, burstiness, busiest hour.
    Info {
        file: PathBuf,
        #[command(flatten)]
        read: TraceRead,
        #[command(flatten)]
        transform: TraceTransform,
        /// Print JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Read a trace (any supported format) and write scaletwin's canonical trace
    /// (Parquet with format_version; a `.csv` output name writes CSV).
    Import {
        /// The trace file (omit with --prometheus).
        #[arg(required_unless_present = "prometheus")]
        file: Option<PathBuf>,
        #[arg(short, long)]
        output: PathBuf,
        /// Import live from this Prometheus server (http://host:9090) with a range query.
        #[arg(long, requires_all = ["query", "start", "end"])]
        prometheus: Option<String>,
        /// PromQL returning one series of per-second rates, e.g. 'sum(rate(http_requests_total[1m]))'.
        #[arg(long)]
        query: Option<String>,
        /// Range start: UTC epoch seconds or a datetime (2026-11-28T10:00:00Z).
        #[arg(long, allow_hyphen_values = true)]
        start: Option<String>,
        /// Range end.
        #[arg(long, allow_hyphen_values = true)]
        end: Option<String>,
        /// Resolution step in seconds.
        #[arg(long, default_value_t = 15.0)]
        step: f64,
        #[command(flatten)]
        read: TraceRead,
        #[command(flatten)]
        transform: TraceTransform,
    },
}

pub type LoadedTrace = (scaletwin::trace::Trace, scaletwin::trace::Interpolation);

/// Read a trace and apply the transforms; the error names the file and says what to do.
pub fn load_trace(
    path: &std::path::Path,
    r: &TraceRead,
    t: &TraceTransform,
) -> Result<LoadedTrace, String> {
    let spec = scaletwin::trace::TraceSpec {
        path: path.to_path_buf(),
        time_col: r.time_col.clone(),
        count_col: r.count_col.clone(),
        time_unit: Some(r.time_unit.clone()),
        tz: Some(r.tz.clone()),
        bin_s: r.bin,
        max_bad_lines: Some(r.max_bad_lines),
        reject_unsorted: r.reject_unsorted,
        attr: r.trace_attr.clone(),
        splice: t.trace_splice.clone(),
        from_s: t
            .trace_from
            .as_deref()
            .map(scaletwin::trace::spec::TracePoint::parse),
        to_s: t
            .trace_to
            .as_deref()
            .map(scaletwin::trace::spec::TracePoint::parse),
        compress: t.trace_compress,
        scale: t.trace_scale,
        peak_rps: t.trace_peak,
        mean_rps: None,
        shift_s: t.trace_shift,
        interpolate: Some(t.interpolate.clone()),
    };
    // Name the flags as the user wrote them.
    spec.load(std::path::Path::new("")).map_err(|e| {
        const FLAGS: [(&str, &str); 10] = [
            ("from_s ", "--trace-from "),
            ("to_s ", "--trace-to "),
            ("tz: ", "--tz: "),
            ("time_unit ", "--time-unit "),
            ("bin_s ", "--bin "),
            ("interpolate ", "--interpolate "),
            ("peak_rps ", "--trace-peak "),
            ("scale ", "--trace-scale "),
            ("compress ", "--trace-compress "),
            ("shift_s ", "--trace-shift "),
        ];
        match FLAGS.iter().find(|(f, _)| e.starts_with(f)) {
            Some((f, flag)) => format!("{flag}{}", &e[f.len()..]),
            None => e,
        }
    })
}

pub fn run(command: TraceCommand) -> anyhow::Result<ExitCode> {
    match command {
        TraceCommand::Info {
            file,
            read,
            transform,
            json,
        } => {
            let t = match load_trace(&file, &read, &transform) {
                Ok(t) => t,
                Err(e) => return usage(e),
            };
            for (line, why) in &t.0.report.bad_examples {
                eprintln!("warning: {}:{line}: {why}", file.display());
            }
            if t.0.report.out_of_order > 0 {
                eprintln!(
                    "warning: {}: {} timestamps were out of order and have been sorted (--reject-unsorted refuses them)",
                    file.display(),
                    t.0.report.out_of_order
                );
            }
            let info = t.0.info();
            if json {
                println!("{}", serde_json::to_string_pretty(&info)?);
            } else {
                print!("{info}");
            }
            Ok(ExitCode::SUCCESS)
        }
        TraceCommand::Import {
            file,
            output,
            prometheus,
            query,
            start,
            end,
            step,
            read,
            transform,
        } => {
            let t = match (&prometheus, &file) {
                (Some(url), _) => {
                    let (Some(q), Some(a), Some(b)) = (&query, &start, &end) else {
                        return usage("--prometheus needs --query, --start and --end".into());
                    };
                    let times = (
                        scaletwin::trace::prometheus::parse_time(a),
                        scaletwin::trace::prometheus::parse_time(b),
                    );
                    let (Ok(a), Ok(b)) = times else {
                        return usage(format!(
                            "--start/--end: {a} / {b}: write UTC epoch seconds or a datetime like 2026-11-28T10:00:00Z"
                        ));
                    };
                    let rq = scaletwin::trace::prometheus::RangeQuery {
                        url: url.clone(),
                        query: q.clone(),
                        start: a,
                        end: b,
                        step,
                        timeout_s: 60.0,
                    };
                    match scaletwin::trace::prometheus::import(&rq) {
                        Ok(t) => t,
                        Err(e) => return failed(&e, e.exit_code()),
                    }
                }
                (None, Some(f)) => match load_trace(f, &read, &transform) {
                    Ok((t, _)) => t,
                    Err(e) => return usage(e),
                },
                (None, None) => return usage("name a trace file or --prometheus URL".into()),
            };
            let file = file
                .clone()
                .unwrap_or_else(|| PathBuf::from(prometheus.clone().unwrap_or_default()));
            if let Err(e) = scaletwin::trace::read::write(&t, &output) {
                return failed(&e, e.exit_code());
            }
            println!(
                "{}: {} rows read ({} malformed, {} out of order, {} missing bins) -> {}",
                file.display(),
                t.report.rows,
                t.report.bad_lines,
                t.report.out_of_order,
                t.report.missing_bins,
                output.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}
