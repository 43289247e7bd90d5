//! A Grafana dashboard (JSON model, importable as is) over the load tester's metrics and the
//! scaling metrics of the service under test: a "Load Test Results" row and a "Scaling
//! Dashboard" row. The Prometheus data source is asked for on import (`DS_PROMETHEUS`);
//! `namespace`, `deployment` and `hpa` are dashboard variables.

use serde_json::{Value, json};

fn target(expr: &str, legend: &str, id: char) -> Value {
    json!({
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "expr": expr,
        "legendFormat": legend,
        "refId": id.to_string(),
    })
}

fn panel(id: u32, title: &str, unit: &str, pos: (u32, u32), targets: Vec<Value>) -> Value {
    json!({
        "id": id,
        "type": "timeseries",
        "title": title,
        "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
        "gridPos": {"x": pos.0, "y": pos.1, "w": 12, "h": 8},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}},
        "targets": targets,
    })
}

fn row(id: u32, title: &str, y: u32) -> Value {
    json!({"id": id, "type": "row", "title": title, "collapsed": false,
           "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}, "panels": []})
}

/// The dashboard for metrics prefixed with `ns` (a scenario's `namespace`).
pub fn dashboard(ns: &str) -> Value {
    let q = |s: &str| s.replace("NS", ns);
    let lt = |m: &str| q(&format!("NS_load_test_{m}"));
    let panels = vec![
        row(1, "Load Test Results", 0),
        panel(
            2,
            "Requests per second by status",
            "reqps",
            (0, 1),
            vec![target(
                &format!("sum by (status) (rate({}[1m]))", lt("requests_total")),
                "{{status}}",
                'A',
            )],
        ),
        panel(
            3,
            "Error rate",
            "percentunit",
            (12, 1),
            vec![target(
                &format!(
                    "sum(rate({r}{{status!~\"2..\"}}[1m])) / sum(rate({r}[1m]))",
                    r = lt("requests_total")
                ),
                "errors",
                'A',
            )],
        ),
        panel(
            4,
            "Latency (from intended send)",
            "s",
            (0, 9),
            ["0.5", "0.95", "0.99"]
                .iter()
                .zip(['A', 'B', 'C'])
                .map(|(p, id)| {
                    target(
                        &format!(
                            "histogram_quantile({p}, sum by (le) (rate({}[1m])))",
                            lt("request_duration_seconds_bucket")
                        ),
                        &format!("p{}", (p.parse::<f64>().unwrap_or(0.0) * 100.0).round()),
                        id,
                    )
                })
                .collect(),
        ),
        panel(
            5,
            "Active users / in flight, and completed per second",
            "short",
            (12, 9),
            vec![
                target(&format!("sum({})", lt("active_users")), "active", 'A'),
                target(
                    &format!("sum({})", lt("requests_per_second")),
                    "completed/s",
                    'B',
                ),
            ],
        ),
        row(6, "Scaling Dashboard", 17),
        panel(
            7,
            "Replicas: available and desired",
            "short",
            (0, 18),
            vec![
                target(
                    "sum by (deployment) (kube_deployment_status_replicas_available{namespace=\"$namespace\", deployment=~\"$deployment\"})",
                    "{{deployment}} available",
                    'A',
                ),
                target(
                    "sum by (deployment) (kube_deployment_status_replicas{namespace=\"$namespace\", deployment=~\"$deployment\"})",
                    "{{deployment}} replicas",
                    'B',
                ),
                target(
                    "sum by (horizontalpodautoscaler) (kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"$namespace\", horizontalpodautoscaler=~\"$hpa\"})",
                    "{{horizontalpodautoscaler}} desired",
                    'C',
                ),
            ],
        ),
        panel(
            8,
            "Queue depth (KEDA scaler metrics)",
            "short",
            (12, 18),
            vec![target(
                "sum by (scaledObject, scaler) (keda_scaler_metrics_value{exported_namespace=\"$namespace\"})",
                "{{scaledObject}} {{scaler}}",
                'A',
            )],
        ),
        panel(
            9,
            "Service p95 latency",
            "s",
            (0, 26),
            vec![target(
                "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket{namespace=\"$namespace\"}[1m])))",
                "service p95",
                'A',
            )],
        ),
        panel(
            10,
            "Requests per pod",
            "reqps",
            (12, 26),
            vec![target(
                "sum(rate(http_requests_total{namespace=\"$namespace\"}[1m])) / sum(kube_deployment_status_replicas_available{namespace=\"$namespace\", deployment=~\"$deployment\"})",
                "req/s per pod",
                'A',
            )],
        ),
    ];
    let var = |name: &str, query: &str| {
        json!({
            "name": name,
            "type": "query",
            "datasource": {"type": "prometheus", "uid": "${DS_PROMETHEUS}"},
            "query": {"query": query, "refId": "PrometheusVariableQueryEditor-VariableQuery"},
            "definition": query,
            "refresh": 2,
            "includeAll": name != "namespace",
            "multi": name != "namespace",
            "current": {},
        })
    };
    json!({
        "__inputs": [{
            "name": "DS_PROMETHEUS",
            "label": "Prometheus",
            "description": "The Prometheus server scraping the load test and the cluster",
            "type": "datasource",
            "pluginId": "prometheus",
            "pluginName": "Prometheus"
        }],
        "__requires": [
            {"type": "grafana", "id": "grafana", "name": "Grafana", "version": "9.0.0"},
            {"type": "datasource", "id": "prometheus", "name": "Prometheus", "version": "1.0.0"},
            {"type": "panel", "id": "timeseries", "name": "Time series", "version": ""}
        ],
        "title": format!("{ns}: load test and scaling"),
        "uid": format!("scaletwin-{}", ns.replace('_', "-")),
        "tags": ["scaletwin", "load-test", "autoscaling"],
        "timezone": "browser",
        "schemaVersion": 39,
        "version": 1,
        "editable": true,
        "refresh": "5s",
        "time": {"from": "now-30m", "to": "now"},
        "templating": {"list": [
            var("namespace", "label_values(kube_deployment_status_replicas, namespace)"),
            var("deployment", "label_values(kube_deployment_status_replicas{namespace=\"$namespace\"}, deployment)"),
            var("hpa", "label_values(kube_horizontalpodautoscaler_status_desired_replicas{namespace=\"$namespace\"}, horizontalpodautoscaler)"),
        ]},
        "annotations": {"list": []},
        "panels": panels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dashboard_queries_the_namespaced_metrics() {
        let d = dashboard("amas");
        let text = d.to_string();
        for m in [
            "amas_load_test_requests_total",
            "amas_load_test_request_duration_seconds_bucket",
            "amas_load_test_active_users",
            "amas_load_test_requests_per_second",
            "kube_horizontalpodautoscaler_status_desired_replicas",
        ] {
            assert!(text.contains(m), "{m}");
        }
        let panels = d["panels"].as_array().unwrap();
        let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
        assert!(titles.contains(&"Load Test Results") && titles.contains(&"Scaling Dashboard"));
        // Unique panel ids, as Grafana requires.
        let mut ids: Vec<u64> = panels.iter().filter_map(|p| p["id"].as_u64()).collect();
        let n = ids.len();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }
}
