//! A recording bundle: the series `record` pulled from Prometheus, in a folder that
//! describes itself (`bundle.json`) and holds one CSV per query and deployment, so that
//! calibration and backtests run offline and the folder can be attached to a ticket.
//!
//! Layout: `bundle.json`, `series/<deployment>/<key>.csv` (columns `t_unix_s`, `value`, then
//! one column per label, sorted), and `manifests/` (the manifests given to `record`).

use super::TwinError;
use crate::prom::Series;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The bundle format this build writes and reads.
pub const BUNDLE_FORMAT_VERSION: u32 = 1;

/// `bundle.json`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleInfo {
    pub format_version: u32,
    /// The server recorded from (credentials never written).
    pub prometheus: String,
    pub namespace: String,
    pub deployments: Vec<String>,
    pub start_unix_s: f64,
    pub end_unix_s: f64,
    pub step_s: f64,
    /// The window of every `rate()` in the queries (`1m`).
    pub rate_window: String,
    /// Series found, one entry per query and deployment.
    pub series: Vec<SeriesEntry>,
    /// Queries that found nothing.
    pub absent: Vec<Absent>,
    /// Manifest files copied into `manifests/`.
    #[serde(default)]
    pub manifests: Vec<String>,
    /// The scaletwin version that recorded.
    pub recorded_by: String,
    /// Model seconds per wall-clock second of the recorded service (a testbed's
    /// `--time-scale`): times, steps, rates and latency buckets were mapped to model time.
    #[serde(default = "one")]
    pub time_scale: f64,
}

fn one() -> f64 {
    1.0
}

/// A query that answered, and where its series are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesEntry {
    pub deployment: String,
    pub key: String,
    /// What calibration or a backtest uses it for.
    pub purpose: String,
    pub query: String,
    /// Relative to the bundle.
    pub file: String,
    pub series: usize,
    pub points: usize,
}

/// A query that found nothing, with what it would have been used for.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Absent {
    pub deployment: String,
    pub key: String,
    pub purpose: String,
    pub query: String,
}

/// A bundle in memory: its description and its series by (deployment, key).
#[derive(Clone, Debug)]
pub struct Bundle {
    pub dir: PathBuf,
    pub info: BundleInfo,
    pub data: BTreeMap<(String, String), Vec<Series>>,
}

fn io_err(p: &Path, e: impl std::fmt::Display) -> TwinError {
    TwinError::Input(format!("{}: {e}", p.display()))
}

fn write_err(p: &Path, e: impl std::fmt::Display) -> TwinError {
    TwinError::Runtime(format!("writing {}: {e}", p.display()))
}

/// The CSV of one query's series: a row per sample.
pub fn series_csv(series: &[Series]) -> String {
    let mut names: Vec<&str> = series
        .iter()
        .flat_map(|s| s.labels.keys().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header = vec!["t_unix_s", "value"];
    header.extend(names.iter().copied());
    let _ = w.write_record(&header);
    for s in series {
        for (t, v) in &s.samples {
            let mut row = vec![format!("{t:.3}"), format!("{v}")];
            row.extend(
                names
                    .iter()
                    .map(|n| s.labels.get(*n).cloned().unwrap_or_default()),
            );
            let _ = w.write_record(&row);
        }
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Read one series CSV back, grouping rows by their labels.
pub fn read_series_csv(path: &Path) -> Result<Vec<Series>, TwinError> {
    let mut r = csv::Reader::from_path(path).map_err(|e| io_err(path, e))?;
    let header: Vec<String> = r
        .headers()
        .map_err(|e| io_err(path, e))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.len() < 2 || header[0] != "t_unix_s" || header[1] != "value" {
        return Err(io_err(
            path,
            "the header must begin `t_unix_s,value` (a series file written by `scaletwin record`)",
        ));
    }
    let mut by: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
    for (i, rec) in r.records().enumerate() {
        let line = i + 2;
        let rec = rec.map_err(|e| io_err(path, format!("line {line}: {e}")))?;
        let num = |k: usize| -> Result<f64, TwinError> {
            let s = rec.get(k).unwrap_or("");
            match s {
                "NaN" => Ok(f64::NAN),
                "inf" | "+Inf" => Ok(f64::INFINITY),
                "-inf" | "-Inf" => Ok(f64::NEG_INFINITY),
                _ => s.parse().map_err(|_| {
                    io_err(
                        path,
                        format!("line {line}: {} `{s}` is not a number", header[k]),
                    )
                }),
            }
        };
        let (t, v) = (num(0)?, num(1)?);
        let labels: BTreeMap<String, String> = header[2..]
            .iter()
            .enumerate()
            .filter_map(|(j, n)| {
                let v = rec.get(j + 2).unwrap_or("");
                (!v.is_empty()).then(|| (n.clone(), v.to_string()))
            })
            .collect();
        by.entry(labels).or_default().push((t, v));
    }
    Ok(by
        .into_iter()
        .map(|(labels, mut samples)| {
            samples.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series { labels, samples }
        })
        .collect())
}

/// The bundle keys whose queries must give per-second rates of counters.
pub const RATE_KEYS: &[&str] = &["requests", "latency", "jobs", "job_latency", "cpu"];

/// Why the query of a rate key does not give a rate: it has no `rate(`, `irate(` or
/// `increase(` and either names a counter (a metric ending `_total`, `_count`, `_sum` or
/// `_bucket`) or its values only ever climb (95 % of their changes are rises); a raw
/// counter's resets would be read as load. The first reset in `series` is named. None when
/// the query gives a rate (a recording rule's rate rises and falls).
pub fn raw_counter(key: &str, query: &str, series: &[crate::prom::Series]) -> Option<String> {
    let q = query.replace(' ', "");
    if !RATE_KEYS.contains(&key)
        || ["rate(", "irate(", "increase("]
            .iter()
            .any(|f| q.contains(f))
    {
        return None;
    }
    let names_counter = q
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .any(|t| {
            ["_total", "_count", "_sum", "_bucket"]
                .iter()
                .any(|x| t.ends_with(x))
        });
    let (mut ups, mut downs) = (0usize, 0usize);
    for s in series {
        for w in s.samples.windows(2) {
            ups += (w[1].1 > w[0].1) as usize;
            downs += (w[1].1 < w[0].1) as usize;
        }
    }
    let climbs = ups >= 10 && downs * 19 <= ups;
    if !(names_counter || climbs) {
        return None;
    }
    let reset = series.iter().find_map(|s| {
        s.samples.windows(2).find(|w| w[1].1 < w[0].1).map(|w| {
            format!(
                "; the counter resets at {:.3} ({} -> {}, {})",
                w[1].0,
                w[0].1,
                w[1].1,
                s.label_text()
            )
        })
    });
    Some(format!(
        "{key}: `{query}` reads a raw counter{}: give a per-second rate, e.g. rate(...[$rate_window]) (Prometheus's rate() takes resets into account)",
        reset.unwrap_or_default()
    ))
}

impl Bundle {
    /// Read a bundle folder: `bundle.json` of this format version and every series file it
    /// lists.
    pub fn read(dir: &Path) -> Result<Bundle, TwinError> {
        let p = dir.join("bundle.json");
        let text = std::fs::read_to_string(&p).map_err(|e| {
            io_err(
                &p,
                format!("cannot read ({e}); a bundle is the folder `scaletwin record -o` wrote"),
            )
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| io_err(&p, e))?;
        match v["format_version"].as_u64() {
            Some(n) if n == BUNDLE_FORMAT_VERSION as u64 => {}
            Some(n) => {
                return Err(io_err(
                    &p,
                    format!(
                        "format_version {n} is not supported (this scaletwin reads {BUNDLE_FORMAT_VERSION}); record the bundle again with this version"
                    ),
                ));
            }
            None => return Err(io_err(&p, "format_version is missing")),
        }
        let info: BundleInfo = serde_json::from_value(v).map_err(|e| io_err(&p, e))?;
        if !(info.step_s.is_finite() && info.step_s > 0.0) || info.end_unix_s <= info.start_unix_s {
            return Err(io_err(
                &p,
                format!(
                    "step_s {} and range {}..{} do not describe a recording",
                    info.step_s, info.start_unix_s, info.end_unix_s
                ),
            ));
        }
        let mut data = BTreeMap::new();
        for e in &info.series {
            if e.file.contains("..") || Path::new(&e.file).is_absolute() {
                return Err(io_err(
                    &p,
                    format!("series file `{}` must lie inside the bundle", e.file),
                ));
            }
            let s = read_series_csv(&dir.join(&e.file))?;
            if let Some(why) = raw_counter(&e.key, &e.query, &s) {
                return Err(io_err(
                    &p,
                    format!("{}: {why}; record the bundle again", e.deployment),
                ));
            }
            data.insert((e.deployment.clone(), e.key.clone()), s);
        }
        Ok(Bundle {
            dir: dir.to_path_buf(),
            info,
            data,
        })
    }

    /// The series of one query for one deployment (empty when absent).
    pub fn get(&self, deployment: &str, key: &str) -> &[Series] {
        self.data
            .get(&(deployment.to_string(), key.to_string()))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The query a key ran (or would have run) for a deployment, for messages.
    pub fn query(&self, deployment: &str, key: &str) -> String {
        self.info
            .series
            .iter()
            .map(|e| (&e.deployment, &e.key, &e.query))
            .chain(
                self.info
                    .absent
                    .iter()
                    .map(|a| (&a.deployment, &a.key, &a.query)),
            )
            .find(|(d, k, _)| *d == deployment && *k == key)
            .map(|(_, _, q)| q.clone())
            .unwrap_or_else(|| format!("({key}: not recorded)"))
    }

    /// Write the bundle: series files, then `bundle.json` last (a folder without it is not a
    /// bundle, so an interrupted write is never mistaken for one).
    pub fn write(&self) -> Result<Vec<PathBuf>, TwinError> {
        let mut files = Vec::new();
        for e in &self.info.series {
            let p = self.dir.join(&e.file);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|x| write_err(d, x))?;
            }
            let s = self.get(&e.deployment, &e.key);
            crate::io::write_atomic(&p, series_csv(s).as_bytes()).map_err(|x| write_err(&p, x))?;
            files.push(p);
        }
        let p = self.dir.join("bundle.json");
        let text = serde_json::to_string_pretty(&self.info).unwrap_or_default() + "\n";
        crate::io::write_atomic(&p, text.as_bytes()).map_err(|x| write_err(&p, x))?;
        files.push(p);
        Ok(files)
    }
}
