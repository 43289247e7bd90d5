//! The report page and its charts, end to end: a small sweep of the AMAS orchestrator run by
//! the binary, then the charts parsed as SVG and checked for the series they must show, the
//! PNG copies, and the page opened by a real browser (headless Chromium, networking off).

use crate::common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_scaletwin"))
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every chart the page of a finished sweep carries.
const CHARTS: [&str; 6] = [
    "timeline",
    "pareto",
    "heatmap",
    "latency-cdf",
    "replicas",
    "sensitivity",
];

const THRESHOLD: &str =
    "manifest.amas-orchestrator.spec.triggers[name=request_rate].metadata.threshold";
const WINDOW: &str = "manifest.amas-orchestrator.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds";

/// One sweep shared by the tests of this file: the orchestrator over two hours of the AMAS
/// day (the first spike included), threshold × scale-down window, two seeds.
fn sweep() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = common::fresh_dir("report-page", "sweep");
        let exp = d.join("exp.yaml");
        std::fs::write(
            &exp,
            format!(
                "format_version: 1\nname: page\nmodel: {}\ndeployments: [amas-orchestrator]\nduration_s: 43200\nseeds: [1, 2]\nload_margin: 0\nspike_check: false\naxes:\n  - path: {THRESHOLD}\n    values: ['10', '15', '20', '30']\n  - path: {WINDOW}\n    values: ['60', '300', '600']\nconstraints: {{p95_ms: 1500, success_rate: 0.99, window_attainment: 0.95, confidence: 0.9}}\n",
                repo().join("models/amas").display()
            ),
        )
        .unwrap();
        let out = d.join("out");
        let o = bin()
            .args(["tune", exp.to_str().unwrap(), "-o", out.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "tune failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        out
    })
}

fn svg(dir: &Path, id: &str) -> String {
    let p = dir.join("charts").join(format!("{id}.svg"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The texts of an SVG (after parsing it as XML) and its polylines' point counts.
fn parse(text: &str) -> (Vec<String>, Vec<usize>, usize) {
    let doc = roxmltree::Document::parse(text).expect("the chart is well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts = doc
        .descendants()
        .filter(|n| n.has_tag_name("text"))
        .map(|n| n.text().unwrap_or("").trim().to_string())
        .collect();
    let lines = doc
        .descendants()
        .filter(|n| n.has_tag_name("polyline"))
        .map(|n| {
            n.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .collect();
    let rects = doc.descendants().filter(|n| n.has_tag_name("rect")).count();
    (texts, lines, rects)
}

fn has(texts: &[String], needle: &str) -> bool {
    texts.iter().any(|t| t.contains(needle))
}

#[test]
fn every_chart_parses_and_shows_its_series() {
    let dir = sweep();
    let rows = |run: &str| {
        std::fs::read_to_string(dir.join("timelines").join(run).join("timeseries.csv"))
            .unwrap()
            .lines()
            .filter(|l| l.contains(",amas-orchestrator,"))
            .count()
    };
    let (base_rows, rec_rows) = (rows("baseline"), rows("recommended"));
    assert_eq!(base_rows, 720, "12 h at one row a minute");
    assert_eq!(rec_rows, base_rows);

    // Timeline: four panels, both runs, the SLO line, every row of each run drawn.
    let (t, lines, _) = parse(&svg(dir, "timeline"));
    for needle in [
        "current settings vs recommended",
        "Offered load",
        "Replicas",
        "p95 latency per window",
        "Queue length",
        "offered load (req/s)",
        "SLO: p95 ≤ 1500 ms",
        "current settings",
        "recommended",
        "time (h)",
        "req/s",
        "pods",
        "ms (log)",
    ] {
        assert!(has(&t, needle), "timeline lacks `{needle}`: {t:?}");
    }
    // Offered load once, ready and desired replicas and queue length for each run: every
    // one of them a polyline through every row.
    let full = lines.iter().filter(|n| **n == base_rows).count();
    assert!(
        full >= 1 + 2 + 2 + 2,
        "expected 7 series of {base_rows} points, found {full}: {lines:?}"
    );

    let (t, lines, _) = parse(&svg(dir, "latency-cdf"));
    assert!(has(&t, "latency (ms, log scale)") && has(&t, "requests at or below (%)"));
    assert!(has(&t, "current settings") && has(&t, "recommended"));
    let cdf_points = scaletwin::engine::outcome::CDF_QUANTILES.len();
    assert_eq!(
        lines.iter().filter(|n| **n == cdf_points).count(),
        2,
        "two CDF curves of {cdf_points} points: {lines:?}"
    );

    let (t, _, rects) = parse(&svg(dir, "replicas"));
    assert!(has(&t, "ready replicas") && has(&t, "time (%)"));
    assert!(has(&t, "current settings") && has(&t, "recommended"));
    assert!(rects >= 3, "bars are drawn: {rects} rects");

    let (t, _, _) = parse(&svg(dir, "pareto"));
    for needle in [
        "pod-hours",
        "SLO windows met (%)",
        "Pareto front",
        "current settings",
        "recommended",
        "scaling events",
    ] {
        assert!(has(&t, needle), "Pareto lacks `{needle}`: {t:?}");
    }

    // Heatmap: the two axes, one cell per pair of values (4 × 3), value printed in each.
    let (t, _, rects) = parse(&svg(dir, "heatmap"));
    assert!(has(&t, "metadata.threshold") && has(&t, "scaleDown.stabilizationWindowSeconds"));
    for v in ["10", "15", "20", "30", "60", "300", "600"] {
        assert!(
            t.iter().any(|x| x == v),
            "heatmap lacks the label {v}: {t:?}"
        );
    }
    assert!(has(&t, "meets the SLOs"));
    // 12 cells + 40 colour-bar steps + backgrounds.
    assert!(rects >= 12 + 40, "{rects} rects");
    assert!(
        t.iter()
            .filter(|x| x.parse::<f64>().is_ok_and(|v| v > 1.0) && x.contains('.'))
            .count()
            >= 12,
        "a value in every cell: {t:?}"
    );

    let (t, _, _) = parse(&svg(dir, "sensitivity"));
    assert!(has(&t, "share of variance (%)") && has(&t, "cost") && has(&t, "SLO windows met"));
    assert!(has(&t, "metadata.threshold"));
}

#[test]
fn the_page_is_self_contained_and_says_what_to_do() {
    let dir = sweep();
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("id=\"recommendation\"") && html.contains("Recommendation:"));
    assert!(html.contains("Against the current settings:"));
    for id in CHARTS {
        assert!(
            html.contains(&format!("<figure id=\"chart-{id}\">\n<svg ")),
            "chart {id} inline"
        );
    }
    assert!(html.contains("id=\"settings-diff\"") || html.contains("No recommendation"));
    assert!(html.contains("id=\"lint\""), "lint findings present");
    assert!(html.contains("ST001"), "the AMAS manifests' known finding");
    assert!(html.contains("id=\"why\""));
    assert!(html.contains("id=\"top-configs\""));
    assert!(html.contains("href=\"configs.csv\"") && html.contains("href=\"analysis.json\""));
    // Nothing fetched from elsewhere, nothing to run (text may mention addresses, such as
    // a trigger's Prometheus server, but nothing refers to one).
    for bad in [
        "href=\"http",
        "href=\"//",
        "src=",
        "<script",
        "<link",
        "@import",
        "url(",
        "<iframe",
    ] {
        assert!(!html.contains(bad), "the page must not reference `{bad}`");
    }
}

#[test]
fn png_charts_on_request() {
    // A copy: the other tests read the sweep's charts while this one rewrites them.
    let dir = &common::fresh_dir("report-page", "png");
    copy_dir(sweep(), dir);
    let o = bin()
        .args(["report", dir.to_str().unwrap(), "--png"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    if err.contains("need a system font") && std::env::var_os("SCALETWIN_REQUIRE_SHARED").is_none()
    {
        eprintln!("skipping the PNG test: no system font (Debian: fonts-dejavu-core)");
        return;
    }
    assert!(o.status.success(), "{err}");
    for id in ["timeline", "pareto", "heatmap", "latency-cdf"] {
        let b = std::fs::read(dir.join("charts").join(format!("{id}.png"))).unwrap();
        assert_eq!(&b[..8], b"\x89PNG\r\n\x1a\n", "{id}.png is a PNG");
        // Width and height from the IHDR chunk: the SVG's own size.
        let w = u32::from_be_bytes(b[16..20].try_into().unwrap());
        assert_eq!(w, 960, "{id}.png width");
        assert!(b.len() > 5_000, "{id}.png has content");
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dst);
        } else {
            std::fs::copy(e.path(), dst).unwrap();
        }
    }
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser"].iter().find_map(|c| {
        std::env::var_os("PATH").and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(c))
                .find(|f| f.is_file())
        })
    })
}

#[test]
fn a_real_browser_renders_the_page_offline() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("SCALETWIN_REQUIRE_SHARED").is_none(),
            "chromium is not installed (Debian: apt-get install chromium); .ci/run installs it"
        );
        eprintln!("skipping the browser test: chromium is not installed");
        return;
    };
    let dir = sweep();
    let url = format!("file://{}", dir.join("report.html").display());
    let profile = common::fresh_dir("report-page", "chromium-profile");
    // Networking off: every host resolves to nothing and any proxy use fails.
    let common_args = |c: &mut Command| {
        c.args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--proxy-server=127.0.0.1:9",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()));
    };
    let mut c = Command::new(&browser);
    common_args(&mut c);
    let o = c.args(["--dump-dom", &url]).output().unwrap();
    assert!(
        o.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let dom = String::from_utf8_lossy(&o.stdout);
    assert!(dom.contains("Recommendation:"), "rendered DOM: {dom:.500}");
    for id in CHARTS {
        let at = dom
            .find(&format!("id=\"chart-{id}\""))
            .unwrap_or_else(|| panic!("chart {id} missing from the rendered DOM"));
        assert!(
            dom[at..].find("<svg") < dom[at..].find("</figure>"),
            "chart {id} renders an <svg>"
        );
    }
    // Keep a screenshot as an artifact.
    let shots = repo().join("output").join("test-artifacts");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("report-page.png");
    let _ = std::fs::remove_file(&shot);
    let mut c = Command::new(&browser);
    common_args(&mut c);
    let o = c
        .args(["--window-size=1100,5200"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let b = std::fs::read(&shot).expect("the screenshot was written");
    assert_eq!(&b[..4], b"\x89PNG");
    assert!(b.len() > 50_000, "the screenshot shows the page");
}
