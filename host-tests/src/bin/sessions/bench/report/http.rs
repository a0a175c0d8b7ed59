//! `bench-http` reports: requests/s, p50 and p99 for each server and flow, the targets of
//! issue 10 (section 2) checked against them, and the chart.

use super::{Doc, cell, ratio};
use serde_json::Value;
use std::fmt::Write as _;

/// The flows, in report order, and how the tables name them.
const FLOWS: [(&str, &str); 3] = [("keep", "session kept"), ("fresh", "fresh session"), ("hello", "hello")];

/// The servers, in report order.
const SERVERS: [&str; 6] =
    ["sessions-serve", "sessions-serve-reuse", "wasmtime-serve", "wasmtime-serve-reuse", "django", "native"];

/// A `bench-http` report.
pub fn is_http(report: &Value) -> bool {
    report["benchmark"] == "http"
}

/// How the tables name a server.
fn label(report: &Value, server: &str) -> String {
    let n = &report["max_instance_reuse_count"];
    match server {
        "sessions-serve" => "`sessions serve`, isolation".into(),
        "sessions-serve-reuse" => format!("`sessions serve`, reuse ({n})"),
        "wasmtime-serve" => "`wasmtime serve`, isolation".into(),
        "wasmtime-serve-reuse" => format!("`wasmtime serve`, reuse ({n})"),
        "django" => format!("Django + gunicorn ({} workers)", report["django_workers"]),
        "native" => "native Rust on hyper (floor)".into(),
        other => other.into(),
    }
}

/// The run of `server` on `flow`, if there was one.
fn find<'a>(report: &'a Value, server: &str, flow: &str) -> Option<&'a Value> {
    report["runs"].as_array()?.iter().find(|r| r["server"] == server && r["flow"] == flow)
}

fn per_second(report: &Value, server: &str, flow: &str) -> Option<f64> {
    find(report, server, flow)?["requests_per_s"].as_f64()
}

fn p99(report: &Value, server: &str, flow: &str) -> Option<f64> {
    find(report, server, flow)?["latency_us"]["p99"].as_f64()
}

/// The flows the report has, in order.
fn flows(report: &Value) -> Vec<(&'static str, &'static str)> {
    FLOWS.into_iter().filter(|(f, _)| SERVERS.iter().any(|s| find(report, s, f).is_some())).collect()
}

/// The servers the report has, in order.
fn servers(report: &Value) -> Vec<&'static str> {
    SERVERS.into_iter().filter(|s| FLOWS.iter().any(|(f, _)| find(report, s, f).is_some())).collect()
}

/// Milliseconds from microseconds, two decimals.
fn ms(us: Option<f64>) -> String {
    cell(us.map(|us| us / 1000.0))
}

/// `12345.6` as `12,346`.
fn whole(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| super::thousands(&Value::from(v.round() as u64)))
}

/// The reports' tables: for each, the figures and then the targets.
pub fn doc(reports: &[&Value]) -> Doc {
    let mut doc = Doc::default();
    for report in reports {
        tables(&mut doc, report);
    }
    doc
}

fn tables(doc: &mut Doc, report: &Value) {
    doc.heading(
        3,
        format!(
            "HTTP on {}: `wrk -t{} -c{}`, {} s per run after {} s of warm-up, {} cores",
            report["filesystem"].as_str().unwrap_or("?"),
            report["threads"],
            report["connections"],
            report["duration_s"],
            report["warmup_s"],
            report["cores"]
        ),
    );
    let flows = flows(report);
    let names: Vec<&str> = flows.iter().map(|(_, name)| *name).collect();
    doc.paragraph(format!(
        "Requests per second, then median and p99 latency in ms, per flow ({}). {}; {}.",
        names.join(", "),
        reuse_seen(report),
        report["wrk"].as_str().unwrap_or("wrk")
    ));
    let mut head = vec!["server".to_owned()];
    for (_, name) in &flows {
        head.extend([format!("{name}: req/s"), "p50".into(), "p99".into()]);
    }
    let head: Vec<&str> = head.iter().map(String::as_str).collect();
    let rows = servers(report).into_iter().map(|server| figures_row(report, server, &flows)).collect();
    doc.table(&head, "lrrrrrrrrr", rows);
    let targets = targets(report);
    if !targets.is_empty() {
        doc.paragraph(format!("Targets on {}:", report["filesystem"].as_str().unwrap_or("?")));
        doc.table(&["target", "flow", "`sessions serve`", "`wasmtime serve`", "goal"], "llrrr", targets);
    }
}

/// What the instance counter showed: that isolation gave every request a fresh instance
/// and reuse did reuse them.
fn reuse_seen(report: &Value) -> String {
    let most = |servers: &[&str]| {
        let runs = report["runs"].as_array().into_iter().flatten();
        let runs = runs.filter(|r| servers.iter().any(|s| r["server"] == *s));
        runs.filter_map(|r| r["instance_requests_max"].as_u64()).max()
    };
    let show = |n: Option<u64>| n.map_or_else(|| "-".into(), |n| n.to_string());
    format!(
        "Most requests one instance served: {} in isolation, {} with reuse",
        show(most(&["sessions-serve", "wasmtime-serve"])),
        show(most(&["sessions-serve-reuse", "wasmtime-serve-reuse"]))
    )
}

fn figures_row(report: &Value, server: &str, flows: &[(&str, &str)]) -> Vec<String> {
    let mut row = vec![label(report, server)];
    for (flow, _) in flows {
        let run = find(report, server, flow);
        let latency = |p: &str| ms(run.and_then(|r| r["latency_us"][p].as_f64()));
        row.extend([whole(run.and_then(|r| r["requests_per_s"].as_f64())), latency("p50"), latency("p99")]);
    }
    row
}

/// The targets, for each session flow: isolation ≥ 3× Django's requests/s and ≤ 1/3 of its
/// p99; reuse ≥ 5× and ≤ 1/5, and within 1.5× of the native floor; `sessions serve` no
/// slower than `wasmtime serve` in either mode.
fn targets(report: &Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for (flow, name) in FLOWS.into_iter().filter(|(f, _)| *f != "hello") {
        if find(report, "django", flow).is_none() && find(report, "native", flow).is_none() {
            continue;
        }
        let rps = |s: &str| per_second(report, s, flow);
        let late = |s: &str| p99(report, s, flow);
        let hosts = |reuse: bool| {
            let suffix = if reuse { "-reuse" } else { "" };
            [format!("sessions-serve{suffix}"), format!("wasmtime-serve{suffix}")]
        };
        for (mode, reuse, goal) in [("isolation", false, 3.0), ("reuse", true, 5.0)] {
            let [ours, theirs] = hosts(reuse);
            let faster = |s: &str| ratio(rps(s), rps("django"));
            let quicker = |s: &str| ratio(late("django"), late(s));
            rows.push(row(&format!("{mode}: requests/s ÷ Django's"), name, [faster(&ours), faster(&theirs)], goal));
            rows.push(row(&format!("{mode}: Django's p99 ÷ p99"), name, [quicker(&ours), quicker(&theirs)], goal));
        }
        let [ours, theirs] = hosts(true);
        let floor = |s: &str| ratio(rps("native"), rps(s));
        let values = [floor(&ours), floor(&theirs)];
        rows.push(verdicts("reuse: native floor's requests/s ÷ reuse's", name, values, "≤ 1.5×", |r| r <= 1.5));
        for (mode, reuse) in [("isolation", false), ("reuse", true)] {
            let [ours, theirs] = hosts(reuse);
            let what = format!("{mode}: `sessions serve` ÷ `wasmtime serve` requests/s");
            let mut r = verdicts(&what, name, [ratio(rps(&ours), rps(&theirs)), None], "≥ 1×", |r| r >= 1.0);
            r[3] = String::new();
            rows.push(r);
        }
    }
    rows
}

/// A "≥ goal×" row.
fn row(what: &str, flow: &str, values: [Option<f64>; 2], goal: f64) -> Vec<String> {
    verdicts(what, flow, values, &format!("≥ {goal}×"), |r| r >= goal)
}

/// A target row: each host's value and whether it meets `met`.
fn verdicts(what: &str, flow: &str, values: [Option<f64>; 2], goal: &str, met: impl Fn(f64) -> bool) -> Vec<String> {
    let judged = values.map(|v| match v {
        None => "-".to_owned(),
        Some(v) if met(v) => format!("{}× met", cell(Some(v))),
        Some(v) => format!("{}× **not met**", cell(Some(v))),
    });
    let [ours, theirs] = judged;
    vec![what.to_owned(), flow.to_owned(), ours, theirs, goal.to_owned()]
}

/// The colours of the flows' bars, and the chart's geometry.
const COLOURS: [&str; 3] = ["#1f77b4", "#ff7f0e", "#2ca02c"];
const LEFT: f64 = 250.0;
const BAR: f64 = 14.0;
const WIDTH: f64 = 420.0;

/// A bar chart of requests/s per server and flow (linear scale), each bar labelled with
/// its p50 and p99, as SVG.
pub fn svg(report: &Value) -> String {
    let (servers, flows) = (servers(report), flows(report));
    let group = BAR * flows.len() as f64 + 12.0;
    let height = 70.0 + group * servers.len() as f64;
    let runs = report["runs"].as_array().into_iter().flatten();
    let max = runs.filter_map(|r| r["requests_per_s"].as_f64()).fold(1.0, f64::max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">Requests per second on {} (wrk -t{} -c{}; longer is better; p50 and p99 in ms)</text>\n",
        LEFT + WIDTH + 190.0,
        report["filesystem"].as_str().unwrap_or("?"),
        report["threads"],
        report["connections"]
    );
    for (i, (_, name)) in flows.iter().enumerate() {
        let at = LEFT + i as f64 * 130.0;
        let _ = writeln!(
            s,
            "<rect x=\"{at}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"37\">{name}</text>",
            COLOURS[i % COLOURS.len()],
            at + 14.0
        );
    }
    for (gi, server) in servers.iter().enumerate() {
        let y0 = 50.0 + gi as f64 * group;
        let name = label(report, server).replace('`', "");
        let _ = writeln!(s, "<text x=\"10\" y=\"{}\">{name}</text>", y0 + group / 2.0);
        for (fi, (flow, flow_name)) in flows.iter().enumerate() {
            let Some(run) = find(report, server, flow) else { continue };
            let v = run["requests_per_s"].as_f64().unwrap_or(0.0);
            let (w, y) = (WIDTH * v / max, y0 + fi as f64 * BAR);
            let lat = |p: &str| ms(run["latency_us"][p].as_f64());
            let _ = writeln!(
                s,
                "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{w:.1}\" height=\"{}\" fill=\"{}\"><title>{name}: {flow_name}</title></rect><text x=\"{:.1}\" y=\"{}\">{} · {} · {}</text>",
                BAR - 2.0,
                COLOURS[fi % COLOURS.len()],
                LEFT + w + 4.0,
                y + BAR - 4.0,
                whole(Some(v)),
                lat("p50"),
                lat("p99")
            );
        }
    }
    s.push_str("</svg>\n");
    s
}
