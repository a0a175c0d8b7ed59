//! `sessions bench-http`: the web app against Django, end to end, in requests per second.
//!
//! Each server in turn (`sessions serve` and `wasmtime serve`, each with a fresh instance
//! per request and with instance reuse; Django on gunicorn; the native floor) is started
//! on a loopback port over a session directory of its own, warmed up, loaded by `wrk` with
//! one flow, and stopped; then the next flow, the next server. The flows: the counter page
//! with the session cookie kept (every request loads and saves a session file), the same
//! with a fresh session per request, and a handler that only answers `hello`. The report
//! is raw JSON, which the one renderer (`report.rs`) turns into tables and a chart.

mod floor;
mod servers;
mod wrk;

pub use servers::{HELLO_WASM, Server};

use crate::failure::misconfigured;
use file_sessions_host::HostError;
use file_sessions_host::serve::WEB_APP_WASM;
use serde_json::{Value, json};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// The secret every server signs with.
const SECRET: &str = super::SECRET;

/// The session cookie's name (Django's default) on every server.
const COOKIE_NAME: &str = "sessionid";

/// What one run of `wrk` asks of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Flow {
    /// The counter page, the session cookie sent back: load, increment, save, cookie.
    Keep,
    /// The counter page without a cookie: a new session per request.
    Fresh,
    /// `hello`, no session.
    Hello,
}

impl Flow {
    /// Every flow, in report order.
    pub const ALL: [Flow; 3] = [Flow::Keep, Flow::Fresh, Flow::Hello];

    /// The name in reports, on the command line and in the wrk script.
    pub fn name(self) -> &'static str {
        match self {
            Flow::Keep => "keep",
            Flow::Fresh => "fresh",
            Flow::Hello => "hello",
        }
    }
}

/// How to run the benchmark.
pub struct Options {
    /// Seconds of load per server and flow.
    pub duration: u32,
    /// Seconds of load before that, not counted.
    pub warmup: u32,
    /// wrk's threads and connections.
    pub load: wrk::Load,
    /// Requests per instance in the reuse modes.
    pub reuse: usize,
    /// The servers to run, in order.
    pub servers: Vec<Server>,
    /// The flows to run on each.
    pub flows: Vec<Flow>,
    /// The wasmtime CLI (`None`: look for it; not found: its servers are left out).
    pub wasmtime: Option<PathBuf>,
    /// Python with Django and gunicorn (`None`: Django is left out).
    pub django: Option<PathBuf>,
    /// The Django project.
    pub django_app: PathBuf,
}

impl Options {
    /// wrk's load from its two numbers.
    pub fn load(threads: u32, connections: u32) -> wrk::Load {
        wrk::Load { threads, connections }
    }
}

/// Runs every server and flow in `work` (a private directory); the report.
pub fn run(work: &Path, opts: &Options) -> Result<Value, HostError> {
    let wrk = wrk::Wrk::new(work)?;
    let setup = setup(work, opts)?;
    let servers: Vec<Server> = opts.servers.iter().copied().filter(|s| available(*s, &setup)).collect();
    let mut runs = Vec::new();
    for server in &servers {
        for flow in &opts.flows {
            runs.push(one_run(&wrk, &setup, *server, *flow, work, opts)?);
        }
    }
    Ok(json!({
        "benchmark": "http",
        "filesystem": super::filesystem_type(work),
        "duration_s": opts.duration,
        "warmup_s": opts.warmup,
        "threads": opts.load.threads,
        "connections": opts.load.connections,
        "cores": std::thread::available_parallelism().map_or(1, |n| n.get()),
        "max_instance_reuse_count": opts.reuse,
        "django_workers": setup.django.as_ref().map(|d| d.workers),
        "wrk": wrk.version,
        "wasmtime": setup.wasmtime.as_ref().map(|w| version(&w.cli)),
        "web_app_bytes": WEB_APP_WASM.len(),
        "hello_bytes": HELLO_WASM.len(),
        "runs": runs,
    }))
}

/// One server, one flow: a fresh session directory, the warm-up, the measured load, the
/// files it left; the directory is removed afterwards.
fn one_run(
    wrk: &wrk::Wrk,
    setup: &servers::Setup,
    server: Server,
    flow: Flow,
    work: &Path,
    opts: &Options,
) -> Result<Value, HostError> {
    let dir = work.join(format!("{}-{}", server.name(), flow.name()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| HostError::io("cannot create", &dir, e))?;
    settle(work)?;
    let running = servers::start(server, flow, &dir, setup)?;
    let path = server.path(flow);
    if opts.warmup > 0 {
        wrk.run(running.addr, path, flow, opts.load, opts.warmup)?;
    }
    let started = Instant::now();
    let figures = wrk.run(running.addr, path, flow, opts.load, opts.duration)?;
    drop(running);
    let (sessions, temporary) = count_files(&dir);
    std::fs::remove_dir_all(&dir).map_err(|e| HostError::io("cannot remove", &dir, e))?;
    let requests = figures["requests"].as_u64().unwrap_or(0);
    let unexpected = figures["unexpected"].as_u64().unwrap_or(0);
    if requests == 0 || unexpected > 0 {
        return Err(misconfigured(format!(
            "{} / {}: {unexpected} of {requests} responses were not what the flow expects (a 200{}): {figures}",
            server.name(),
            flow.name(),
            if flow == Flow::Hello { "" } else { " setting the session cookie" }
        )));
    }
    let seconds = figures["duration_us"].as_f64().unwrap_or(0.0) / 1e6;
    let per_second = if seconds > 0.0 { requests as f64 / seconds } else { 0.0 };
    eprintln!(
        "{:<22} {:<6} {:>9.0} requests/s  p50 {:>6} µs  p99 {:>6} µs  ({:.1} s)",
        server.name(),
        flow.name(),
        per_second,
        figures["latency_us"]["p50"],
        figures["latency_us"]["p99"],
        started.elapsed().as_secs_f64()
    );
    Ok(json!({
        "server": server.name(),
        "flow": flow.name(),
        "path": path,
        "requests": requests,
        "requests_per_s": (per_second * 10.0).round() / 10.0,
        "latency_us": figures["latency_us"],
        "errors": figures["errors"],
        "instance_requests_max": figures["instance_requests_max"],
        "session_files": sessions,
        "temporary_files": temporary,
    }))
}

/// Flushes the filesystem under `work` (`syncfs`), so that the writeback, journal commits
/// and discards the runs before left behind (and the removal of their directories, up to a
/// few hundred thousand files) are done before the next server starts, not during its run.
fn settle(work: &Path) -> Result<(), HostError> {
    let dir = std::fs::File::open(work).map_err(|e| HostError::io("cannot open", work, e))?;
    rustix::fs::syncfs(&dir).map_err(|e| HostError::io("cannot flush", work, e.into()))
}

/// The session files in `dir`, and the temporary files of saves (Django's and ours have
/// `_out_` in their names) that a server stopped before it finished.
fn count_files(dir: &Path) -> (usize, usize) {
    let names = std::fs::read_dir(dir).into_iter().flatten().flatten().map(|e| e.file_name());
    let (temporary, sessions): (Vec<_>, Vec<_>) = names.partition(|n| n.to_string_lossy().contains("_out_"));
    (sessions.len(), temporary.len())
}

/// Finds what the servers need; writes the components out for the wasmtime CLI.
fn setup(work: &Path, opts: &Options) -> Result<servers::Setup, HostError> {
    let wants = |s: &[Server]| opts.servers.iter().any(|x| s.contains(x));
    let wasmtime = match wasmtime_cli(opts.wasmtime.as_deref()) {
        Some(cli) if wants(&[Server::WasmtimeServe, Server::WasmtimeServeReuse]) => {
            let (web_app, hello) = (work.join("web-app.wasm"), work.join("hello.wasm"));
            for (path, bytes) in [(&web_app, WEB_APP_WASM), (&hello, HELLO_WASM)] {
                std::fs::write(path, bytes).map_err(|e| HostError::io("cannot write", path, e))?;
            }
            Some(servers::Wasmtime { cli, web_app, hello })
        }
        _ => None,
    };
    let django = match &opts.django {
        Some(python) if wants(&[Server::Django]) => {
            // Absolute, not canonical: a virtualenv's python is a link that must stay one.
            let python = std::path::absolute(python).map_err(|e| HostError::io("cannot find", python, e))?;
            if !opts.django_app.join("sidebyside").is_dir() {
                return Err(misconfigured(format!(
                    "{} is not the Django app (examples/django-app): pass --django-app",
                    opts.django_app.display()
                )));
            }
            let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
            Some(servers::Django { python, app: opts.django_app.clone(), workers })
        }
        _ => None,
    };
    Ok(servers::Setup { reuse: opts.reuse, wasmtime, django })
}

/// Whether `server` can run here; says why not on stderr.
fn available(server: Server, setup: &servers::Setup) -> bool {
    let missing = match server {
        Server::WasmtimeServe | Server::WasmtimeServeReuse if setup.wasmtime.is_none() => {
            "the wasmtime CLI was not found (--wasmtime PATH)"
        }
        Server::Django if setup.django.is_none() => "no --django PYTHON",
        _ => return true,
    };
    eprintln!("{}: left out: {missing}", server.name());
    false
}

/// The CLI given, else `wasmtime` on `PATH`, else `~/.cargo/bin/wasmtime`.
fn wasmtime_cli(given: Option<&Path>) -> Option<PathBuf> {
    if let Some(path) = given {
        return Some(path.to_path_buf());
    }
    let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".cargo/bin/wasmtime"));
    let candidates = std::iter::once(PathBuf::from("wasmtime")).chain(home);
    candidates
        .into_iter()
        .find(|c| std::process::Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
}

/// `PROGRAM --version`, first line.
fn version(program: &Path) -> String {
    let out = std::process::Command::new(program).arg("--version").output();
    out.map(|o| String::from_utf8_lossy(&o.stdout).lines().next().unwrap_or("").trim().to_owned()).unwrap_or_default()
}
