//! `sessions bench-async`: the throughput of N concurrent `aload`s on one instance of the
//! async component against N sequential sync `load`s on one warm instance of the portable
//! one, on the same directory, in one run.
//!
//! Three ways, each over the same N saved sessions (the ~200-byte `bench/session.json`),
//! with the N session resources made beforehand (so only loads are timed):
//! * `sync_sequential`: the portable component with the recommended (fast) settings, one
//!   `load` after another, each file call on the calling thread;
//! * `async_sequential`: the async component, one `aload` after another (what the async
//!   machinery and WASI 0.3 cost when nothing overlaps);
//! * `async_concurrent`: the async component, all N `aload`s in flight at once in one
//!   instance (each file call runs on the executor's blocking pool while the guest goes on
//!   with the others).
//!
//! Each figure is the median over rounds of the time for all N loads.

use super::{SECRET, create_session, filesystem_type};
use crate::progress;
use file_sessions_host::twins::{AsyncGuest, AsyncRuntime};
use file_sessions_host::{Guest, HostError, Runtime, SessionHandle, Tenant};
use indicatif::ProgressBar;
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

type Result<T, E = HostError> = std::result::Result<T, E>;

/// Runs the benchmark in `dir` (a private working directory) and returns its JSON report.
pub fn run(dir: &Path, n: usize, rounds: usize) -> Result<Value> {
    let tenant = Tenant::new(dir, SECRET);
    let bar = progress::bar("bench-async", 2 * rounds as u64);
    let mut guest = Runtime::new()?.instantiate(&tenant)?;
    let keys = save_sessions(&mut guest, n)?;
    bar.set_message("sync loads");
    let sync_us = median(sync_loads(&mut guest, &keys, rounds, &bar)?);
    bar.set_message("async loads");
    let (seq_us, conc_us, peak) = async_loads(&tenant, &keys, rounds, &bar)?;
    bar.finish_and_clear();
    let (seq_us, conc_us) = (median(seq_us), median(conc_us));
    Ok(json!({
        "filesystem": filesystem_type(dir),
        "n": n,
        "rounds": rounds,
        "threads": std::thread::available_parallelism().map_or(1, |p| p.get()),
        "sync_sequential": figures(sync_us, n),
        "async_sequential": figures(seq_us, n),
        "async_concurrent": figures(conc_us, n),
        "concurrent_vs_sync": sync_us / conc_us,
        "concurrent_vs_async_sequential": seq_us / conc_us,
        "async_guest_peak_memory_bytes": peak,
    }))
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn figures(total_us: f64, n: usize) -> Value {
    json!({
        "total_ms": total_us / 1000.0,
        "us_per_load": total_us / n as f64,
        "loads_per_s": n as f64 / (total_us / 1e6),
    })
}

/// N saved sessions, written by the portable component; their keys.
fn save_sessions(guest: &mut Guest, n: usize) -> Result<Vec<String>> {
    (0..n).map(|_| create_session(guest)).collect()
}

/// µs for all sequential sync loads, per round, on one warm instance.
fn sync_loads(guest: &mut Guest, keys: &[String], rounds: usize, bar: &ProgressBar) -> Result<Vec<f64>> {
    let handles: Vec<SessionHandle> = keys.iter().map(|k| guest.session(Some(k))).collect::<Result<_>>()?;
    let mut us = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for &s in &handles {
            std::hint::black_box(guest.load(s)?);
        }
        us.push(start.elapsed().as_secs_f64() * 1e6);
        bar.inc(1);
    }
    Ok(us)
}

/// µs for all sequential and all concurrent aloads, per round, on one instance of the async
/// component; and its peak linear memory.
fn async_loads(
    tenant: &Tenant,
    keys: &[String],
    rounds: usize,
    bar: &ProgressBar,
) -> Result<(Vec<f64>, Vec<f64>, usize)> {
    // One instance is driven by one task: a current-thread executor (plus tokio's blocking
    // pool, where WASI 0.3 file calls run) saves waking a second worker on every hop
    // (measured here: 31 µs per `spawn_blocking` round trip against 45 µs).
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| HostError::io("cannot start", Path::new("the executor"), e))?;
    executor.block_on(async {
        let mut g: AsyncGuest = AsyncRuntime::new()?.instantiate(tenant).await?;
        let mut handles = Vec::with_capacity(keys.len());
        for k in keys {
            handles.push(g.session(Some(k)).await?);
        }
        let (mut seq, mut conc) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            seq.push(sequential(&mut g, &handles).await?);
            conc.push(concurrent(&mut g, &handles).await?);
            bar.inc(1);
        }
        Ok((seq, conc, g.peak_memory()))
    })
}

/// µs for one `aload` after another.
async fn sequential(g: &mut AsyncGuest, handles: &[SessionHandle]) -> Result<f64> {
    let elapsed = g
        .run(async |a, t| {
            let start = Instant::now();
            for &s in handles {
                std::hint::black_box(t.aload(a, s).await?);
            }
            Ok::<_, HostError>(start.elapsed())
        })
        .await??;
    Ok(elapsed.as_secs_f64() * 1e6)
}

/// µs for all `aload`s in flight at once.
async fn concurrent(g: &mut AsyncGuest, handles: &[SessionHandle]) -> Result<f64> {
    let elapsed = g
        .run(async |a, t| {
            let start = Instant::now();
            let loads = handles.iter().map(|&s| t.aload(a, s));
            for r in futures::future::join_all(loads).await {
                std::hint::black_box(r?);
            }
            Ok::<_, HostError>(start.elapsed())
        })
        .await??;
    Ok(elapsed.as_secs_f64() * 1e6)
}
