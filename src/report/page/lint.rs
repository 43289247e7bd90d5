//! The page's lint section: the manifests' findings, a run's structural findings and the
//! share of syncs each trigger decided, from `lint.json`.

use super::*;

pub(super) fn lint_html(dir: &Path) -> Result<String, ReportError> {
    if !dir.join("lint.json").exists() {
        return Ok("<p class=\"muted\">No lint record in this folder (written by <code>tune</code> and <code>simulate</code> of this build).</p>".into());
    }
    let v: serde_json::Value = crate::report::read_json(dir, "lint.json")?;
    let findings = v
        .get("findings")
        .and_then(|f| f.as_array())
        .cloned()
        .unwrap_or_default();
    if findings.is_empty() {
        return Ok("<p id=\"lint\">No findings: the current manifests have none of the known pitfalls.</p>".into());
    }
    let mut s = String::from(
        "<table id=\"lint\"><colgroup><col class=\"w\"><col class=\"s\"><col class=\"f\"><col></colgroup><tr><th class=\"l\">rule</th><th class=\"l\">severity</th><th class=\"l\">where</th><th class=\"l\">finding</th></tr>",
    );
    for f in &findings {
        let g = |k: &str| f.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
        let at = f
            .get("objects")
            .and_then(|o| o.as_array())
            .and_then(|o| o.first())
            .map(|o| {
                format!(
                    "{}:{}",
                    o.get("file").and_then(|x| x.as_str()).unwrap_or(""),
                    o.get("line").and_then(|x| x.as_u64()).unwrap_or(0)
                )
            })
            .unwrap_or_default();
        let _ = write!(
            s,
            "<tr><td class=\"l\">{} {}</td><td class=\"l\">{}</td><td class=\"l\"><code>{}</code></td><td class=\"l\">{}<details><summary class=\"muted\">why, and what to do</summary><span class=\"muted\">{}</span></details></td></tr>",
            esc(&g("id")),
            esc(&g("name")),
            esc(&g("severity")),
            esc(&at),
            esc(&g("summary")),
            esc(&g("explanation"))
        );
    }
    s.push_str("</table>");
    let deciding = v
        .get("deciding")
        .and_then(|d| d.as_array())
        .cloned()
        .unwrap_or_default();
    if !deciding.is_empty() {
        s.push_str("<p>Share of the HPA's syncs each trigger decided (its proposal was the largest) in the current settings' run:</p><table id=\"deciding\"><tr><th class=\"l\">deployment</th><th class=\"l\">trigger</th><th>syncs</th><th>share</th></tr>");
        for d in &deciding {
            let g = |k: &str| d.get(k).and_then(|x| x.as_str()).unwrap_or("").to_string();
            let _ = write!(
                s,
                "<tr><td class=\"l\">{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.1}%</td></tr>",
                esc(&g("deployment")),
                esc(&g("trigger")),
                d.get("syncs").and_then(|x| x.as_u64()).unwrap_or(0),
                d.get("share").and_then(|x| x.as_f64()).unwrap_or(0.0) * 100.0
            );
        }
        s.push_str("</table>");
    }
    Ok(s)
}
