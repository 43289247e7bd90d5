//! Writing a run's results: `outcome.json`, `timeseries.csv`, `decisions.jsonl`,
//! `summary.txt`. Every file is written to a temporary name and renamed into place, so an
//! interrupted run never leaves a half-written result.

use super::outcome::Outcome;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Write `bytes` to `path` through a temporary file in the same folder.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)
}

/// The time series as CSV.
pub fn timeseries_csv(o: &Outcome) -> String {
    let mut s = String::from(
        "t_s,deployment,offered_rps,desired_replicas,current_replicas,ready_replicas,queue_length,utilization,p95_ms,success_rate\n",
    );
    for r in &o.series {
        s.push_str(&format!(
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
        ));
    }
    s
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
