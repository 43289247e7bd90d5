//! Writing a run's results: `outcome.json`, `timeseries.csv`, `decisions.jsonl`,
//! `summary.txt`. Every file is written to a temporary name and renamed into place, so an
//! interrupted run never leaves a half-written result.

use super::outcome::{DecisionRecord, Outcome, SeriesRow};
use super::sim::RecordSink;
use crate::io::write_atomic;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

const SERIES_HEADER: &str = "t_s,deployment,offered_rps,desired_replicas,current_replicas,ready_replicas,queue_length,utilization,p95_ms,success_rate\n";

fn series_line(r: &SeriesRow) -> String {
    format!(
        "{},{},{:.4},{},{},{},{},{:.4},{:.3},{:.5}\n",
        r.t_s,
        r.deployment,
        r.offered_rps,
        r.desired_replicas,
        r.current_replicas,
        r.ready_replicas,
        r.queue_length,
        r.utilization,
        r.p95_ms,
        r.success_rate
    )
}

/// The time series as CSV.
pub fn timeseries_csv(o: &Outcome) -> String {
    let mut s = String::from(SERIES_HEADER);
    for r in &o.series {
        s.push_str(&series_line(r));
    }
    s
}

/// Streams `timeseries.csv` and `decisions.jsonl` into temporary files of a results folder
/// during a run; [`FileSink::finish`] renames them into place.
pub struct FileSink {
    series: BufWriter<std::fs::File>,
    decisions: BufWriter<std::fs::File>,
    files: Vec<(PathBuf, PathBuf)>,
    error: Option<std::io::Error>,
}

impl FileSink {
    /// Open the temporary files in `dir`.
    pub fn create(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let tmp = |name: &str| {
            (
                dir.join(format!(".{name}.tmp-{}", std::process::id())),
                dir.join(name),
            )
        };
        let (s_tmp, s_final) = tmp("timeseries.csv");
        let (d_tmp, d_final) = tmp("decisions.jsonl");
        let mut series = BufWriter::new(std::fs::File::create(&s_tmp)?);
        series.write_all(SERIES_HEADER.as_bytes())?;
        let decisions = BufWriter::new(std::fs::File::create(&d_tmp)?);
        Ok(FileSink {
            series,
            decisions,
            files: vec![(s_tmp, s_final), (d_tmp, d_final)],
            error: None,
        })
    }

    /// Flush and move the files into place; returns their final paths.
    pub fn finish(mut self) -> std::io::Result<Vec<PathBuf>> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.series.flush()?;
        self.decisions.flush()?;
        self.series.get_ref().sync_all()?;
        self.decisions.get_ref().sync_all()?;
        let mut out = Vec::new();
        for (tmp, fin) in &self.files {
            std::fs::rename(tmp, fin)?;
            out.push(fin.clone());
        }
        Ok(out)
    }
}

impl RecordSink for FileSink {
    fn series(&mut self, row: &SeriesRow) {
        if let Err(e) = self.series.write_all(series_line(row).as_bytes()) {
            self.error.get_or_insert(e);
        }
    }
    fn decision(&mut self, d: &DecisionRecord) {
        let mut line = serde_json::to_string(d).unwrap_or_default();
        line.push('\n');
        if let Err(e) = self.decisions.write_all(line.as_bytes()) {
            self.error.get_or_insert(e);
        }
    }
}

/// Write `outcome.json` and `summary.txt` (the streamed files are written by [`FileSink`]).
pub fn write_outcome(dir: &Path, o: &Outcome) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for (name, text) in [
        (
            "outcome.json",
            serde_json::to_string_pretty(o).map_err(std::io::Error::other)? + "\n",
        ),
        ("summary.txt", o.summary()),
    ] {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

/// The decision log as JSON lines.
pub fn decisions_jsonl(o: &Outcome) -> String {
    let mut s = String::new();
    for d in &o.decisions {
        s.push_str(&serde_json::to_string(d).unwrap_or_default());
        s.push('\n');
    }
    s
}

/// Write every output file of a run into `dir`; returns the paths written.
pub fn write_outputs(dir: &Path, o: &Outcome) -> std::io::Result<Vec<PathBuf>> {
    let files = [
        (
            "outcome.json",
            serde_json::to_string_pretty(o).map_err(std::io::Error::other)? + "\n",
        ),
        ("timeseries.csv", timeseries_csv(o)),
        ("decisions.jsonl", decisions_jsonl(o)),
        ("summary.txt", o.summary()),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

/// Parse a duration: `3600`, `90s`, `15m`, `24h`, `2d`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mult) = match t.chars().last() {
        Some('s') => (&t[..t.len() - 1], 1.0),
        Some('m') => (&t[..t.len() - 1], 60.0),
        Some('h') => (&t[..t.len() - 1], 3600.0),
        Some('d') => (&t[..t.len() - 1], 86400.0),
        _ => (t, 1.0),
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * mult),
        _ => Err(format!(
            "`{s}` is not a duration > 0 (write e.g. 3600, 90s, 15m, 24h, 2d)"
        )),
    }
}
