//! The one renderer of the benchmarks' reports. The benchmarks (and Django's script) print
//! raw JSON; this turns any number of those reports into one document, as aligned text or
//! as Markdown (what PERFORMANCE.md holds), or the SVG charts. `bench-http` reports have
//! their own module ([`http`]).

mod http;

use crate::Format;
use crate::failure::misconfigured;
use file_sessions_host::HostError;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// The ops of a `bench` report, in the order the tables list them.
const OPS: [&str; 6] = ["create", "save", "load", "exists", "delete", "clear_expired"];

/// `reports` as the format asks: JSON as given (one object per line), else a document.
pub fn render(reports: &[Value], format: Format) -> String {
    if format.json {
        return reports.iter().map(|r| format!("{r}\n")).collect();
    }
    let [latency, throughput, http] = kinds(reports);
    let mut doc = latency_doc(&latency);
    doc.0.extend(throughput_doc(&throughput).0);
    doc.0.extend(http::doc(&http).0);
    if format.markdown { doc.markdown() } else { doc.text() }
}

/// The `bench`, `bench-async` and `bench-http` reports among `reports`.
fn kinds(reports: &[Value]) -> [Vec<&Value>; 3] {
    let (http, rest): (Vec<&Value>, Vec<&Value>) = reports.iter().partition(|r| http::is_http(r));
    let (throughput, latency) = rest.into_iter().partition(|r| is_throughput(r));
    [latency, throughput, http]
}

/// The chart of a `bench-http` report, as SVG.
pub fn http_svg(report: &Value) -> String {
    http::svg(report)
}

/// Rewrites the marked sections of a Markdown document: `tables` with the `bench` reports,
/// `async` with the `bench-async` reports, `http` with the `bench-http` reports.
pub fn update(path: &Path, reports: &[Value]) -> Result<(), HostError> {
    let mut text = std::fs::read_to_string(path).map_err(|e| HostError::io("cannot read", path, e))?;
    let [latency, throughput, http] = kinds(reports);
    for (section, reports, doc) in [
        ("tables", &latency, latency_doc(&latency)),
        ("async", &throughput, throughput_doc(&throughput)),
        ("http", &http, http::doc(&http)),
    ] {
        if !reports.is_empty() {
            text = replace_section(&text, section, &doc.markdown()).ok_or_else(|| {
                misconfigured(format!("{} has no <!-- {section}:begin/end --> markers", path.display()))
            })?;
        }
    }
    std::fs::write(path, text).map_err(|e| HostError::io("cannot write", path, e))
}

/// `text` with what lies between `<!-- NAME:begin -->` and `<!-- NAME:end -->` replaced.
fn replace_section(text: &str, name: &str, body: &str) -> Option<String> {
    let (begin, end) = (format!("<!-- {name}:begin -->\n"), format!("<!-- {name}:end -->"));
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    Some(format!("{}{body}{}", &text[..start], &text[stop..]))
}

/// A `bench-async` report (the others come from `bench`).
fn is_throughput(report: &Value) -> bool {
    report.get("async_concurrent").is_some()
}

/// A document: headings, paragraphs and tables, printable two ways.
#[derive(Default)]
struct Doc(Vec<Block>);

enum Block {
    /// A heading and its Markdown level.
    Heading(usize, String),
    Paragraph(String),
    Table(Table),
}

/// A table, with each column's alignment: `l`eft (text) or `r`ight (numbers).
struct Table {
    head: Vec<String>,
    align: &'static str,
    rows: Vec<Vec<String>>,
}

impl Doc {
    fn heading(&mut self, level: usize, text: String) {
        self.0.push(Block::Heading(level, text));
    }

    fn paragraph(&mut self, text: String) {
        self.0.push(Block::Paragraph(text));
    }

    fn table(&mut self, head: &[&str], align: &'static str, rows: Vec<Vec<String>>) {
        let head = head.iter().map(|h| (*h).to_owned()).collect();
        self.0.push(Block::Table(Table { head, align, rows }));
    }

    /// The blocks, a blank line between each two.
    fn markdown(&self) -> String {
        let blocks = self.0.iter().map(|block| match block {
            Block::Heading(level, text) => format!("{} {text}\n", "#".repeat(*level)),
            Block::Paragraph(text) => format!("{text}\n"),
            Block::Table(t) => t.markdown(),
        });
        blocks.collect::<Vec<_>>().join("\n")
    }

    fn text(&self) -> String {
        let blocks = self.0.iter().map(|block| match block {
            Block::Heading(_, text) | Block::Paragraph(text) => format!("{text}\n"),
            Block::Table(t) => t.text(),
        });
        blocks.collect::<Vec<_>>().join("\n")
    }
}

impl Table {
    fn right(&self, column: usize) -> bool {
        self.align.as_bytes().get(column) == Some(&b'r')
    }

    fn markdown(&self) -> String {
        let line = |cells: &[String]| {
            let cells: Vec<String> =
                cells.iter().map(|c| if c.is_empty() { " ".into() } else { format!(" {c} ") }).collect();
            format!("|{}|\n", cells.join("|"))
        };
        let rule: Vec<&str> = (0..self.head.len()).map(|i| if self.right(i) { "---:" } else { "---" }).collect();
        let mut out = line(&self.head);
        out.push_str(&format!("|{}|\n", rule.join("|")));
        self.rows.iter().for_each(|row| out.push_str(&line(row)));
        out
    }

    fn text(&self) -> String {
        let width = |i: usize| {
            let cells = std::iter::once(&self.head).chain(&self.rows).filter_map(|r| r.get(i));
            cells.map(|c| c.chars().count()).max().unwrap_or(0)
        };
        let widths: Vec<usize> = (0..self.head.len()).map(width).collect();
        let line = |cells: &[String]| {
            let padded = cells.iter().enumerate().map(|(i, c)| {
                let pad = " ".repeat(widths[i].saturating_sub(c.chars().count()));
                if self.right(i) { format!("{pad}{c}") } else { format!("{c}{pad}") }
            });
            format!("{}\n", padded.collect::<Vec<_>>().join("  ").trim_end())
        };
        std::iter::once(&self.head).chain(&self.rows).map(|r| line(r)).collect()
    }
}

/// A figure with two decimals, `-` when absent.
fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.2}"))
}

fn ratio(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) if b != 0.0 => Some(a / b),
        _ => None,
    }
}

/// `1234567` as `1,234,567`.
fn thousands(v: &Value) -> String {
    let digits = v.as_u64().map_or_else(|| "-".into(), |n| n.to_string());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) && c.is_ascii_digit() {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `bench` reports: the targets (from the first), then each report's tables.
fn latency_doc(reports: &[&Value]) -> Doc {
    let mut doc = Doc::default();
    if let Some(first) = reports.first() {
        doc.heading(4, "Targets (from the first report)".into());
        doc.table(&["target", "measured", "goal", ""], "lrrl", targets(first));
    }
    for report in reports {
        latency_tables(&mut doc, report);
    }
    doc
}

/// One `bench` report: the ops, the sweeps by size, the request, memory.
fn latency_tables(doc: &mut Doc, report: &Value) {
    doc.heading(
        3,
        format!(
            "{} (n = {} × {} rounds, {}-byte session)",
            report["filesystem"].as_str().unwrap_or("?"),
            report["n"],
            report["rounds"],
            report["data_bytes"]
        ),
    );
    let sizes = report["clear_expired_per_file_by_size"].as_object().into_iter().flatten();
    let smallest = sizes.filter_map(|(m, _)| m.parse::<u64>().ok()).min();
    doc.paragraph(format!(
        "Median µs per operation (p99 in parentheses; `clear_expired` per file at {} files).",
        smallest.unwrap_or(0)
    ));
    let head = ["op", "component", "fresh instance", "native", "Django", "Django ÷ component", "component ÷ native"];
    doc.table(&head, "lrrrrrr", OPS.iter().map(|op| op_row(report, op)).collect());
    doc.paragraph("`clear_expired`, µs per file, by directory size (half the sessions expired):".into());
    doc.table(&["files", "component", "fresh instance", "native", "Django"], "rrrrr", sweep_rows(report));
    let r = &report["request"];
    let (fresh, warm) = (r["fresh_instance"].as_f64(), r["component"].as_f64());
    doc.paragraph(format!(
        "A request (construct, load, set, save, drop): warm instance {} µs, fresh instance {} µs ({}×).",
        cell(warm),
        cell(fresh),
        cell(ratio(fresh, warm))
    ));
    fresh_tables(doc, &report["fresh_instance"]);
    let m = &report["memory"];
    doc.paragraph(format!(
        "Memory: host peak RSS {} KiB; guest peak linear memory {} bytes (after sweeping the largest directory); Django peak RSS {} KiB. Component: {} bytes.",
        thousands(&m["host_peak_rss_kib"]),
        thousands(&m["guest_peak_linear_memory_bytes"]),
        thousands(&m["django_peak_rss_kib"]),
        thousands(&report["wasm_bytes"])
    ));
}

/// What each phase of the breakdown is, for its table.
const PHASES: [(&str, &str); 8] = [
    ("store", "build the `Store` (WASI context, preopen)"),
    ("instantiate", "instantiate (`InstancePre`, pooling)"),
    ("construct", "construct the session (on a fresh instance: its first call)"),
    ("load", "load"),
    ("set", "set one value"),
    ("save", "save"),
    ("drop_session", "drop the session"),
    ("drop_instance", "drop the instance (memory reset)"),
];

/// The fresh-instance breakdown: each phase fresh and warm, with page faults.
fn fresh_tables(doc: &mut Doc, fresh: &Value) {
    let Some(phases) = fresh["phases"].as_object() else { return };
    let f = &fresh["fresh_over_warm"];
    doc.paragraph(format!(
        "Fresh instance ÷ warm: request {}×, `exists` {}×, `load` {}×. The request phase by phase (median µs; \
         minor page faults per request, mean):",
        cell(f["request"].as_f64()),
        cell(f["exists"].as_f64()),
        cell(f["load"].as_f64())
    ));
    let rows = PHASES
        .iter()
        .filter_map(|(name, about)| {
            let p = phases.get(*name)?;
            let (fresh_us, warm_us) = (p["fresh_us"].as_f64(), p["warm_us"].as_f64());
            let extra = fresh_us.map(|f| f - warm_us.unwrap_or(0.0));
            Some(vec![
                (*about).to_owned(),
                cell(fresh_us),
                cell(warm_us),
                cell(extra),
                cell(p["fresh_page_faults"].as_f64()),
                cell(p["warm_page_faults"].as_f64()),
            ])
        })
        .collect();
    let head = ["phase", "fresh µs", "warm µs", "fresh − warm", "faults, fresh", "faults, warm"];
    doc.table(&head, "lrrrrr", rows);
}

/// One op: each way's median (and p99), and the two ratios.
fn op_row(report: &Value, op: &str) -> Vec<String> {
    let (o, q) = (&report["ops"][op], &report["p99"][op]);
    let both = |way: &str| match q[way].as_f64() {
        Some(p99) => format!("{} ({})", cell(o[way].as_f64()), cell(Some(p99))),
        None => cell(o[way].as_f64()),
    };
    let get = |way: &str| o[way].as_f64();
    vec![
        op.to_owned(),
        both("component"),
        both("fresh_instance"),
        both("native"),
        both("django"),
        format!("{}×", cell(ratio(get("django"), get("component")))),
        format!("{}×", cell(ratio(get("component"), get("native")))),
    ]
}

/// `clear_expired` per file, one row per directory size, smallest first.
fn sweep_rows(report: &Value) -> Vec<Vec<String>> {
    let mut sizes: Vec<(u64, &Value)> = report["clear_expired_per_file_by_size"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(m, o)| Some((m.parse().ok()?, o)))
        .collect();
    sizes.sort_by_key(|(m, _)| *m);
    let ways = ["component", "fresh_instance", "native", "django"];
    sizes
        .into_iter()
        .map(|(m, o)| std::iter::once(thousands(&m.into())).chain(ways.map(|w| cell(o[w].as_f64()))).collect())
        .collect()
}

/// The targets, checked against one report.
fn targets(report: &Value) -> Vec<Vec<String>> {
    let ops = &report["ops"];
    let mut rows = Vec::new();
    let mut row = |what: String, value: Option<f64>, unit: &str, goal: &str, met: bool| {
        let verdict = if met { "met" } else { "**not met**" };
        rows.push(vec![what, format!("{}{unit}", cell(value)), goal.to_owned(), verdict.to_owned()]);
    };
    for (op, goal) in [("load", 5.0), ("save", 3.0), ("create", 6.0), ("clear_expired", 4.0), ("exists", 4.0)] {
        let r = ratio(ops[op]["django"].as_f64(), ops[op]["component"].as_f64());
        row(format!("{op}: Django ÷ component"), r, "×", &format!("≥ {goal}×"), r.is_some_and(|r| r >= goal));
    }
    for op in OPS {
        let r = ratio(ops[op]["component"].as_f64(), ops[op]["native"].as_f64());
        row(format!("{op}: component ÷ native"), r, "×", "≤ 1.3×", r.is_some_and(|r| r <= 1.3));
    }
    let req = &report["request"];
    let r = ratio(req["fresh_instance"].as_f64(), req["component"].as_f64());
    row("request: fresh instance ÷ warm".into(), r, "×", "≤ 1.5×", r.is_some_and(|r| r <= 1.5));
    for op in ["exists", "load"] {
        let r = ratio(ops[op]["fresh_instance"].as_f64(), ops[op]["component"].as_f64());
        row(format!("{op}: fresh instance ÷ warm"), r, "×", "≤ 1.5×", r.is_some_and(|r| r <= 1.5));
    }
    let by = sweep_rows(report);
    if let (Some(lo), Some(hi)) = (by.first(), by.last()) {
        let r = ratio(hi[1].parse().ok(), lo[1].parse().ok());
        let what = format!("clear_expired per file, {} ÷ {} files", hi[0], lo[0]);
        row(what, r, "×", "≈ 1× (linear)", r.is_some_and(|r| r <= 1.5));
    }
    let kb = report["wasm_bytes"].as_f64().map(|b| b / 1000.0);
    rows.push(vec![
        "portable .wasm".into(),
        format!("{:.0} KB", kb.unwrap_or(0.0)),
        "≤ 200 KB".into(),
        if kb.is_some_and(|kb| kb <= 200.0) { "met" } else { "**not met**" }.into(),
    ]);
    rows
}

/// `bench-async` reports: one row each.
fn throughput_doc(reports: &[&Value]) -> Doc {
    let mut doc = Doc::default();
    if reports.is_empty() {
        return doc;
    }
    let head = [
        "filesystem",
        "N",
        "sync `load`, sequential (µs/load)",
        "`aload`, sequential",
        "`aload`, N concurrent",
        "concurrent ÷ sync throughput",
    ];
    let per_load = |r: &Value, way: &str| format!("{:.1}", r[way]["us_per_load"].as_f64().unwrap_or(0.0));
    let rows = reports
        .iter()
        .map(|r| {
            vec![
                r["filesystem"].as_str().unwrap_or("?").to_owned(),
                r["n"].to_string(),
                per_load(r, "sync_sequential"),
                per_load(r, "async_sequential"),
                per_load(r, "async_concurrent"),
                format!("{:.2}×", r["concurrent_vs_sync"].as_f64().unwrap_or(0.0)),
            ]
        })
        .collect();
    doc.table(&head, "lrrrrr", rows);
    doc
}

/// The chart's ways and their colours, and its geometry.
const WAYS: [(&str, &str); 4] =
    [("component", "#1f77b4"), ("fresh_instance", "#aec7e8"), ("native", "#2ca02c"), ("django", "#d62728")];
const LEFT: f64 = 110.0;
const BAR: f64 = 11.0;
const WIDTH: f64 = 560.0;

/// A bar chart of median latency per operation (log scale), as SVG.
pub fn svg(report: &Value) -> String {
    let ops = report["ops"].as_object().cloned().unwrap_or_default();
    let group = BAR * WAYS.len() as f64 + 14.0;
    let height = 90.0 + group * ops.len() as f64;
    let max = ops.values().flat_map(|o| WAYS.iter().filter_map(|(w, _)| o[*w].as_f64())).fold(1.0, f64::max);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">Median µs per operation ({}; log scale; shorter is faster)</text>\n",
        LEFT + WIDTH + 80.0,
        report["filesystem"].as_str().unwrap_or("?")
    );
    for (i, (way, color)) in WAYS.iter().enumerate() {
        let at = LEFT + i as f64 * 120.0;
        let _ = writeln!(
            s,
            "<rect x=\"{at}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"37\">{way}</text>",
            at + 14.0
        );
    }
    for (gi, (name, o)) in ops.iter().enumerate() {
        let y0 = 50.0 + gi as f64 * group;
        let _ = writeln!(s, "<text x=\"10\" y=\"{}\">{name}</text>", y0 + group / 2.0);
        bars(&mut s, o, y0, max);
    }
    s.push_str("</svg>\n");
    s
}

/// One op's bars, one per way that has a figure, on a log scale up to `max`.
fn bars(s: &mut String, op: &Value, y0: f64, max: f64) {
    let x = |v: f64| LEFT + WIDTH * ((v.max(0.1) / 0.1).log10() / (max / 0.1).log10());
    for (wi, (way, color)) in WAYS.iter().enumerate() {
        let Some(v) = op[*way].as_f64() else { continue };
        let y = y0 + wi as f64 * BAR;
        let _ = writeln!(
            s,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{v:.2}</text>",
            x(v) - LEFT,
            BAR - 1.0,
            x(v) + 3.0,
            y + BAR - 2.0
        );
    }
}

/// Each phase's colour in the breakdown chart.
const PHASE_COLORS: [&str; 8] =
    ["#8c564b", "#d62728", "#ff7f0e", "#1f77b4", "#aec7e8", "#2ca02c", "#9467bd", "#7f7f7f"];

/// The fresh-instance breakdown as SVG: one stacked bar per way (fresh, warm), a segment
/// per phase, to scale in µs.
pub fn fresh_svg(report: &Value) -> String {
    let phases = &report["fresh_instance"]["phases"];
    let sum = |key: &str| PHASES.iter().filter_map(|(p, _)| phases[*p][key].as_f64()).sum::<f64>();
    let max = sum("fresh_us").max(sum("warm_us")).max(1.0);
    let scale = WIDTH / max;
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"190\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">One request, phase by phase: median µs ({})</text>\n",
        LEFT + WIDTH + 80.0,
        report["filesystem"].as_str().unwrap_or("?")
    );
    for (row, (label, key)) in [("fresh instance", "fresh_us"), ("warm instance", "warm_us")].iter().enumerate() {
        let y = 40.0 + row as f64 * 34.0;
        let _ = writeln!(s, "<text x=\"10\" y=\"{}\">{label}</text>", y + 16.0);
        let mut x = LEFT;
        for (i, (phase, _)) in PHASES.iter().enumerate() {
            let Some(us) = phases[*phase][*key].as_f64() else { continue };
            let _ = writeln!(
                s,
                "<rect x=\"{x:.1}\" y=\"{y}\" width=\"{:.1}\" height=\"24\" fill=\"{}\"><title>{phase}: {us:.2} µs</title></rect>",
                us * scale,
                PHASE_COLORS[i]
            );
            x += us * scale;
        }
        let _ = writeln!(s, "<text x=\"{:.1}\" y=\"{}\">{:.1} µs</text>", x + 4.0, y + 16.0, sum(key));
    }
    for (i, (phase, _)) in PHASES.iter().enumerate() {
        let (col, line) = (i % 4, i / 4);
        let (x, y) = (LEFT + col as f64 * 140.0, 130.0 + line as f64 * 20.0);
        let _ = writeln!(
            s,
            "<rect x=\"{x}\" y=\"{y}\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{phase}</text>",
            PHASE_COLORS[i],
            x + 14.0,
            y + 9.0
        );
    }
    s.push_str("</svg>\n");
    s
}
