//! `sessions bench-http` end to end at the smallest duration: every server starts, wrk
//! loads it with every flow, each run's counts say the flow was what it claims (the cookie
//! kept, a session per request, no session; a fresh instance per request, or reuse), and
//! the one renderer turns the report into the tables, the chart and PERFORMANCE.md's
//! section. The plumbing only: no figure is asserted (the full benchmark is not run here).

mod common;

use common::web::wasmtime_cli;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

fn sessions(args: &[&str]) -> Output {
    Command::new(SESSIONS).args(args).output().expect("running sessions")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn assert_wrk() {
    let found = Command::new("wrk").arg("--version").output().is_ok();
    assert!(found, "wrk is missing: `apt-get install wrk` (.ci/run installs it)");
}

/// The run of `server` on `flow`.
fn run<'a>(report: &'a Value, server: &str, flow: &str) -> &'a Value {
    let runs = report["runs"].as_array().unwrap();
    runs.iter().find(|r| r["server"] == server && r["flow"] == flow).unwrap_or_else(|| panic!("no {server}/{flow}"))
}

#[test]
fn every_server_and_flow_runs_and_the_report_renders() {
    assert_wrk();
    let work = tempfile::tempdir().unwrap();
    let svg = work.path().join("http.svg");
    let python = common::venv::python().to_str().unwrap();
    let dir = work.path().to_str().unwrap();
    let args = ["--dir", dir, "bench-http", "--duration", "1", "--warmup", "0", "--django", python, "--json"];
    let out = Command::new(SESSIONS).args(args).arg("--svg").arg(&svg).output().unwrap();
    assert!(out.status.success(), "{}\n{}", out.status, text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out.stdout)));

    let mut servers = vec!["sessions-serve", "sessions-serve-reuse", "django", "native"];
    if wasmtime_cli().is_some() {
        servers.extend(["wasmtime-serve", "wasmtime-serve-reuse"]);
    }
    let connections = report["connections"].as_u64().unwrap();
    for server in &servers {
        for flow in ["keep", "fresh", "hello"] {
            let r = run(&report, server, flow);
            let requests = r["requests"].as_u64().unwrap();
            assert!(requests > 0 && r["requests_per_s"].as_f64().unwrap() > 0.0, "{r}");
            let files = r["session_files"].as_u64().unwrap();
            // Every server stops gracefully: no save is cut short.
            assert_eq!(r["temporary_files"], 0, "{r}");
            match flow {
                // One session per connection at most: the cookie was sent back.
                "keep" => assert!((1..=connections).contains(&files), "{server}/keep left {files} files: {r}"),
                // A session per request (those still in flight at the end add theirs).
                "fresh" => assert!(files >= requests, "{server}/fresh left {files} files for {requests}: {r}"),
                _ => assert_eq!(files, 0, "{server}/hello touched the directory: {r}"),
            }
            // The handlers count the requests their instance served.
            let most = r["instance_requests_max"].as_u64().unwrap();
            match *server {
                "sessions-serve" | "wasmtime-serve" => assert_eq!(most, 1, "isolation reused an instance: {r}"),
                "sessions-serve-reuse" | "wasmtime-serve-reuse" => assert!(most > 1, "reuse never reused: {r}"),
                _ => assert_eq!(most, 0, "{r}"),
            }
        }
    }
    assert_eq!(report["runs"].as_array().unwrap().len(), servers.len() * 3);
    assert!(std::fs::read_dir(work.path()).unwrap().all(|e| e.unwrap().path() == svg), "the work dir was not removed");

    // The chart: a bar per run, each named.
    let chart = std::fs::read_to_string(&svg).unwrap();
    assert!(chart.starts_with("<svg") && chart.trim_end().ends_with("</svg>"), "{chart}");
    assert_eq!(chart.matches("<title>").count(), servers.len() * 3, "{chart}");
    assert!(chart.contains("<title>sessions serve, isolation: session kept"), "{chart}");

    // The renderer: the figures and the targets, as Markdown and as text.
    let saved = work.path().join("http.json");
    std::fs::write(&saved, &out.stdout).unwrap();
    let markdown = sessions(&["bench-report", "--markdown", saved.to_str().unwrap()]);
    let markdown = text(&markdown.stdout);
    for needle in [
        "### HTTP on ",
        "| `sessions serve`, isolation |",
        "| `sessions serve`, reuse (1000) |",
        "| Django + gunicorn (",
        "| native Rust on hyper (floor) |",
        "| isolation: requests/s ÷ Django's | session kept |",
        "| reuse: native floor's requests/s ÷ reuse's | fresh session |",
        "Most requests one instance served: 1 in isolation,",
    ] {
        assert!(markdown.contains(needle), "{needle:?} missing from:\n{markdown}");
    }
    let plain = text(&sessions(&["bench-report", saved.to_str().unwrap()]).stdout);
    assert!(plain.contains("native Rust on hyper (floor)") && !plain.contains("|---"), "{plain}");

    // PERFORMANCE.md's section, and only it, is rewritten.
    let doc = work.path().join("doc.md");
    std::fs::write(&doc, "before\n<!-- http:begin -->\nold\n<!-- http:end -->\nafter\n").unwrap();
    let update = sessions(&["bench-report", "--update", doc.to_str().unwrap(), saved.to_str().unwrap()]);
    assert!(update.status.success(), "{}", text(&update.stderr));
    let updated = std::fs::read_to_string(&doc).unwrap();
    assert!(updated.starts_with("before\n<!-- http:begin -->\n### HTTP on "), "{updated}");
    assert!(updated.ends_with("<!-- http:end -->\nafter\n") && !updated.contains("old"), "{updated}");
}

#[test]
fn usage_and_setup_errors_are_clear() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().to_str().unwrap();
    let bench = |extra: &[&str]| {
        let out = Command::new(SESSIONS).args(["--dir", dir, "bench-http", "--duration", "1"]).args(extra).output();
        let out = out.unwrap();
        (out.status.code(), text(&out.stderr))
    };
    for (args, code, message) in [
        (&["--threads", "2", "--connections", "1"][..], 2, "--connections must be at least --threads"),
        (&["--warmup", "-1"][..], 2, "unexpected argument '-1'"),
        (&["--reuse", "0"][..], 2, "expected a whole number above zero"),
        (&["--servers", "apache"][..], 2, "invalid value 'apache' for '--servers"),
        (&["--flows", "keep,bounce"][..], 2, "invalid value 'bounce' for '--flows"),
        (
            &["--servers", "django", "--django", "/bin/true", "--django-app", "/nonexistent"][..],
            1,
            "/nonexistent is not the Django app (examples/django-app): pass --django-app",
        ),
        // A server that exits: what it said is quoted.
        (&["--servers", "django", "--django", "/usr/bin/python3"][..], 1, "No module named gunicorn"),
        (
            &["--servers", "wasmtime-serve", "--wasmtime", "/nonexistent/wasmtime"][..],
            1,
            "cannot run /nonexistent/wasmtime",
        ),
    ] {
        let (got, stderr) = bench(args);
        assert_eq!(got, Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {message:?} not in {stderr}");
    }
    assert_eq!(std::fs::read_dir(work.path()).unwrap().count(), 0, "a work dir was left behind");
}

#[test]
fn without_wrk_it_says_how_to_get_it() {
    let work = tempfile::tempdir().unwrap();
    let empty = tempfile::tempdir().unwrap();
    let out = Command::new(SESSIONS)
        .args(["--dir", work.path().to_str().unwrap(), "bench-http", "--servers", "native"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("cannot run wrk") && stderr.contains("apt-get install wrk"), "{stderr}");
    assert!(Path::new(work.path()).read_dir().unwrap().next().is_none(), "a work dir was left behind");
}
