//! `sessions bench`, `bench-async`, `bench-http` and `bench-report`: the benchmarks, each in
//! a private working directory, and the one renderer of their reports.

mod django;
mod fresh;
mod http;
mod latency;
mod report;
mod throughput;

pub use http::HELLO_WASM;

use crate::failure::{Failure, misconfigured};
use crate::{Format, place};
use clap::Args;
use file_sessions_host::HostError;
use serde_json::Value;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The secret the benchmarks sign with.
const SECRET: &str = "bench-secret";

/// The ~200-byte session every operation stores (`bench/session.json`).
const DATA: &str = include_str!("../../../../../bench/session.json");

/// A new session holding `DATA`, created through the portable component; its key.
fn create_session(guest: &mut file_sessions_host::Guest) -> Result<String, HostError> {
    let s = guest.session(None)?;
    guest.update(s, DATA)?;
    guest.create(s)?;
    let key = guest.session_key(s)?.unwrap_or_default();
    guest.drop_session(s)?;
    Ok(key)
}

/// Options of `bench`.
#[derive(Args, Debug)]
pub struct LatencyArgs {
    /// Operations per round.
    #[arg(long, default_value_t = 2000, value_parser = positive)]
    n: u64,
    /// Timed rounds (after one warm-up round).
    #[arg(long, default_value_t = 5, value_parser = positive)]
    rounds: u64,
    /// Directory sizes for clear_expired (half of each expired).
    #[arg(long, value_delimiter = ',', default_values_t = [1000, 10000, 100000], value_parser = positive)]
    clear_sizes: Vec<u64>,
    /// Also run real Django (bench/django_bench.py, embedded) with this Python, which must
    /// have Django installed (host-tests/django/ensure-venv.sh makes such a virtualenv).
    #[arg(long, value_name = "PYTHON")]
    django: Option<PathBuf>,
    /// Also write a bar chart of the medians, as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    /// Also write the fresh-instance breakdown (a request phase by phase, fresh and warm)
    /// as an SVG chart.
    #[arg(long, value_name = "FILE")]
    fresh_svg: Option<PathBuf>,
    #[command(flatten)]
    format: Format,
}

/// Options of `bench-async`.
#[derive(Args, Debug)]
pub struct ThroughputArgs {
    /// Sessions loaded per round.
    #[arg(long, default_value_t = 1000, value_parser = positive)]
    n: u64,
    /// Rounds; each figure is their median.
    #[arg(long, default_value_t = 5, value_parser = positive)]
    rounds: u64,
    #[command(flatten)]
    format: Format,
}

/// Options of `bench-http`.
#[derive(Args, Debug)]
pub struct HttpArgs {
    /// Seconds of load per server and flow.
    #[arg(long, default_value_t = 10, value_parser = positive_u32)]
    duration: u32,
    /// Seconds of load before each measurement, not counted (0: none).
    #[arg(long, default_value_t = 2)]
    warmup: u32,
    /// wrk's threads (-t).
    #[arg(long, default_value_t = 2, value_parser = positive_u32)]
    threads: u32,
    /// wrk's connections (-c), at least one per thread.
    #[arg(long, default_value_t = 4, value_parser = positive_u32)]
    connections: u32,
    /// Requests an instance serves in the reuse modes (--max-instance-reuse-count).
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = positive)]
    reuse: u64,
    /// The servers to run, in this order.
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = http::Server::ALL)]
    servers: Vec<http::Server>,
    /// The flows to run on each server: keep (the session cookie sent back), fresh (a new
    /// session per request), hello (no session).
    #[arg(long, value_enum, value_delimiter = ',', default_values_t = http::Flow::ALL)]
    flows: Vec<http::Flow>,
    /// The wasmtime CLI (default: `wasmtime` on PATH, else ~/.cargo/bin/wasmtime; its
    /// servers are left out when there is none).
    #[arg(long, value_name = "PATH")]
    wasmtime: Option<PathBuf>,
    /// Also run the Django app on gunicorn with this Python, which must have Django and
    /// gunicorn installed (host-tests/django/ensure-venv.sh makes such a virtualenv).
    #[arg(long, value_name = "PYTHON")]
    django: Option<PathBuf>,
    /// The Django project to serve.
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/django-app"))]
    django_app: PathBuf,
    /// Also write a chart of requests/s, p50 and p99, as SVG.
    #[arg(long, value_name = "FILE")]
    svg: Option<PathBuf>,
    #[command(flatten)]
    format: Format,
}

/// Options of `bench-report`.
#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Reports saved from `bench --json`, `bench-async --json` or `bench-http --json`.
    #[arg(required = true, value_name = "REPORT.json")]
    reports: Vec<PathBuf>,
    /// Rewrite this Markdown file's sections between `<!-- tables:begin -->` and
    /// `<!-- tables:end -->` (the bench reports), `<!-- async:begin -->` and
    /// `<!-- async:end -->` (the bench-async reports) and `<!-- http:begin -->` and
    /// `<!-- http:end -->` (the bench-http reports), instead of printing.
    #[arg(long, value_name = "FILE")]
    update: Option<PathBuf>,
    #[command(flatten)]
    format: Format,
}

/// A count given on the command line: a whole number above zero.
fn positive(text: &str) -> Result<u64, String> {
    text.parse().ok().filter(|&n| n > 0).ok_or_else(|| "expected a whole number above zero".to_owned())
}

/// A count given on the command line that fits wrk's: a whole number above zero.
fn positive_u32(text: &str) -> Result<u32, String> {
    text.parse().ok().filter(|&n| n > 0).ok_or_else(|| "expected a whole number above zero".to_owned())
}

/// `sessions bench`.
pub fn latency(place: &place::Options, args: &LatencyArgs) -> Result<(), Failure> {
    let work = WorkDir::create(&place.bench_parent(), "file-sessions-bench-")?;
    let options = latency::Options {
        n: args.n as usize,
        rounds: args.rounds as usize,
        clear_sizes: args.clear_sizes.iter().map(|&m| m as usize).collect(),
        django: args.django.clone(),
    };
    let report = latency::run(work.path(), &options)?;
    drop(work);
    if let Some(path) = &args.svg {
        std::fs::write(path, report::svg(&report)).map_err(|e| HostError::io("cannot write", path, e))?;
    }
    if let Some(path) = &args.fresh_svg {
        std::fs::write(path, report::fresh_svg(&report)).map_err(|e| HostError::io("cannot write", path, e))?;
    }
    print!("{}", report::render(&[report], args.format));
    Ok(())
}

/// `sessions bench-async`.
pub fn throughput(place: &place::Options, args: &ThroughputArgs) -> Result<(), Failure> {
    let work = WorkDir::create(&place.bench_parent(), "file-sessions-bench-async-")?;
    let report = throughput::run(work.path(), args.n as usize, args.rounds as usize)?;
    drop(work);
    print!("{}", report::render(&[report], args.format));
    Ok(())
}

/// `sessions bench-http`.
pub fn http(place: &place::Options, args: &HttpArgs) -> Result<(), Failure> {
    if args.connections < args.threads {
        return Err(Failure::usage("--connections must be at least --threads (wrk gives each thread one)".into()));
    }
    let work = WorkDir::create(&place.bench_parent(), "file-sessions-bench-http-")?;
    let options = http::Options {
        duration: args.duration,
        warmup: args.warmup,
        load: http::Options::load(args.threads, args.connections),
        reuse: args.reuse as usize,
        servers: args.servers.clone(),
        flows: args.flows.clone(),
        wasmtime: args.wasmtime.clone(),
        django: args.django.clone(),
        django_app: args.django_app.clone(),
    };
    let report = http::run(work.path(), &options)?;
    drop(work);
    if let Some(path) = &args.svg {
        std::fs::write(path, report::http_svg(&report)).map_err(|e| HostError::io("cannot write", path, e))?;
    }
    print!("{}", report::render(&[report], args.format));
    Ok(())
}

/// `sessions bench-report`.
pub fn report(args: &ReportArgs) -> Result<(), Failure> {
    let mut reports = Vec::new();
    for path in &args.reports {
        let text = std::fs::read_to_string(path).map_err(|e| HostError::io("cannot read", path, e))?;
        let report: Value = serde_json::from_str(&text)
            .map_err(|e| misconfigured(format!("{} is not a benchmark report: {e}", path.display())))?;
        reports.push(report);
    }
    match &args.update {
        Some(doc) => Ok(report::update(doc, &reports)?),
        None => {
            print!("{}", report::render(&reports, args.format));
            Ok(())
        }
    }
}

/// A benchmark's working directory: a fresh name (random, so nobody can plant a link
/// under it ahead of time), created exclusively with mode 0700 (an existing name, link or
/// not, is never reused), and removed at the end without following links. The parent must
/// not let others rename it away: writable only by its owner, or sticky like /tmp.
struct WorkDir {
    /// Removed (with what is left in it) when dropped.
    _dir: tempfile::TempDir,
    /// Its absolute path, as the component is given it.
    path: PathBuf,
}

impl WorkDir {
    fn create(parent: &Path, prefix: &str) -> Result<WorkDir, HostError> {
        let meta = std::fs::metadata(parent).map_err(|e| HostError::io("cannot open", parent, e))?;
        if !meta.is_dir() {
            return Err(misconfigured(format!("{} is not a directory", parent.display())));
        }
        let me = rustix::process::geteuid().as_raw();
        let sticky = meta.mode() & 0o1000 != 0;
        if !sticky && (meta.mode() & 0o022 != 0 || meta.uid() != me) {
            return Err(misconfigured(format!(
                "{} can be written by other users and is not sticky: they could swap the benchmark's directory for a link",
                parent.display()
            )));
        }
        let dir = tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(parent)
            .map_err(|e| HostError::io("cannot create a directory in", parent, e))?;
        let path = dir.path().canonicalize().map_err(|e| HostError::io("cannot open", dir.path(), e))?;
        Ok(WorkDir { _dir: dir, path })
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

/// The filesystem type of `path` (from /proc/self/mounts: the longest mount-point prefix).
fn filesystem_type(path: &Path) -> String {
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let mounts = std::fs::read_to_string("/proc/self/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, mount, fstype) = (f.next()?, f.next()?, f.next()?);
            path.starts_with(mount).then(|| (mount.len(), fstype.to_owned()))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, t)| t)
}
