//! deploy/grafana/wework-dashboard.json: valid JSON with panels on a
//! Prometheus datasource variable, and every metric a query names is one the
//! code records (a renamed metric breaks this test, not the dashboard).

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::{Failures, root};

/// Metrics the gateway is contracted to record (route, method, status). They
/// are required in its code as soon as it records any metric at all.
const GATEWAY_CONTRACT: &[&str] = &["gateway_http_requests_total", "gateway_http_request_duration_seconds"];

fn dashboard() -> Value {
    let path = root().join("deploy/grafana/wework-dashboard.json");
    let text = std::fs::read_to_string(&path).expect("deploy/grafana/wework-dashboard.json");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("deploy/grafana/wework-dashboard.json is not JSON: {e}"))
}

/// Every panel, rows' nested panels included.
fn panels(dash: &Value) -> Vec<&Value> {
    let mut out = Vec::new();
    for p in dash["panels"].as_array().into_iter().flatten() {
        out.push(p);
        out.extend(p["panels"].as_array().into_iter().flatten());
    }
    out
}

/// Text of every `.rs` file under `dir`, this crate excluded.
fn source_text(dir: &Path, out: &mut String) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() && !path.ends_with("deploy-check") && !path.ends_with("target") {
            source_text(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push_str(&std::fs::read_to_string(&path).unwrap_or_default());
        }
    }
}

/// Metric names in a PromQL expression: identifiers that are not functions,
/// keywords, label names or Grafana variables. `_bucket`/`_sum`/`_count`
/// series map to their histogram.
pub fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut text = String::new();
    let mut depth_brace = 0;
    let mut depth_bracket = 0;
    let mut in_string = false;
    for ch in expr.chars() {
        match ch {
            '"' => in_string = !in_string,
            _ if in_string => {}
            '{' => depth_brace += 1,
            '}' => depth_brace -= 1,
            '[' => depth_bracket += 1,
            ']' => depth_bracket -= 1,
            _ if depth_brace > 0 || depth_bracket > 0 => {}
            c => text.push(c),
        }
        if matches!(ch, '{' | '}' | '[' | ']') {
            text.push(' ');
        }
    }
    const KEYWORDS: &[&str] =
        &["by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset"];
    // `sum by (x) (…)`: an aggregation need not be followed by its parenthesis.
    const AGGREGATIONS: &[&str] = &[
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
    ];
    let mut names = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !(c.is_ascii_alphabetic() || c == '_' || c == ':') {
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == ':') {
            i += 1;
        }
        let word: String = chars[start..i].iter().collect();
        let next = (i..chars.len()).find(|&j| !chars[j].is_whitespace());
        let opens = next.is_some_and(|j| chars[j] == '(');
        if KEYWORDS.contains(&word.as_str()) {
            // `by (a, b)`, `on (a)`, `group_left (a)`: a list of labels, skipped whole.
            if let (true, Some(j)) = (opens, next) {
                i = (j..chars.len()).find(|&k| chars[k] == ')').map_or(chars.len(), |k| k + 1);
            }
            continue;
        }
        let is_variable = start > 0 && chars[start - 1] == '$';
        if !opens && !is_variable && !AGGREGATIONS.contains(&word.as_str()) {
            let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| word.strip_suffix(s)).unwrap_or(&word);
            names.insert(base.to_owned());
        }
    }
    names
}

#[test]
fn dashboard_is_json_with_panels_on_a_prometheus_datasource_variable() {
    let dash = dashboard();
    let mut f = Failures::default();
    let vars = dash["templating"]["list"].as_array().cloned().unwrap_or_default();
    let ds = vars.iter().find(|v| v["type"] == "datasource" && v["query"] == "prometheus");
    f.check(ds.is_some(), "wework-dashboard.json: templating.list has no datasource variable of type prometheus");
    let ds_name = ds.and_then(|v| v["name"].as_str()).unwrap_or("datasource");
    let graphs: Vec<&Value> = panels(&dash).into_iter().filter(|p| p["type"] != "row").collect();
    f.check(!graphs.is_empty(), "wework-dashboard.json: no panels");
    let mut ids = BTreeSet::new();
    for p in panels(&dash) {
        let title = p["title"].as_str().unwrap_or("?");
        f.check(
            ids.insert(p["id"].as_u64()),
            format!("wework-dashboard.json: panel {title:?}: duplicate or missing id"),
        );
    }
    for p in graphs {
        let title = p["title"].as_str().unwrap_or("?");
        f.check(
            p["datasource"]["uid"] == format!("${{{ds_name}}}").as_str(),
            format!("wework-dashboard.json: panel {title:?}: datasource.uid must be ${{{ds_name}}}"),
        );
        let targets = p["targets"].as_array().cloned().unwrap_or_default();
        f.check(!targets.is_empty(), format!("wework-dashboard.json: panel {title:?} has no targets"));
        for t in targets {
            f.check(
                t["expr"].as_str().is_some_and(|e| !e.trim().is_empty()),
                format!("wework-dashboard.json: panel {title:?} target {} has no expr", t["refId"]),
            );
        }
    }
    f.assert_none("dashboard");
}

#[test]
fn every_dashboard_query_names_a_metric_the_code_records() {
    let dash = dashboard();
    let mut code = String::new();
    source_text(&root().join("crates"), &mut code);
    let mut gateway = String::new();
    source_text(&root().join("crates/gateway"), &mut gateway);
    let gateway_records_metrics = gateway.contains("metrics::");
    let mut f = Failures::default();
    let mut seen = 0;
    for p in panels(&dash) {
        let title = p["title"].as_str().unwrap_or("?");
        for t in p["targets"].as_array().into_iter().flatten() {
            for name in metric_names(t["expr"].as_str().unwrap_or("")) {
                seen += 1;
                let recorded = code.contains(&format!("\"{name}\""));
                let contracted = GATEWAY_CONTRACT.contains(&name.as_str()) && !gateway_records_metrics;
                f.check(
                    recorded || contracted,
                    format!(
                        "wework-dashboard.json: panel {title:?}: metric {name} is not recorded anywhere in crates/"
                    ),
                );
            }
        }
    }
    f.check(seen > 0, "wework-dashboard.json: no metric names found in any query");
    f.assert_none("dashboard metrics");
}

#[test]
fn metric_names_skip_functions_labels_and_variables() {
    let expr = r#"histogram_quantile(0.99, sum by (service, le) (rate(grpc_server_request_duration_seconds_bucket{service=~"$service"}[$__rate_interval]))) / on (service) group_left sum(cache_requests_total)"#;
    let names: Vec<String> = metric_names(expr).into_iter().collect();
    assert_eq!(names, ["cache_requests_total", "grpc_server_request_duration_seconds"]);
}
