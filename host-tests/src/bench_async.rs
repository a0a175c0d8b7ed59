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

use crate::twins::{AsyncGuest, AsyncRuntime};
use crate::{Runtime, SessionHandle, Tenant};
use serde_json::{Value, json};
use std::path::Path;
use std::time::Instant;

/// The secret the benchmark signs with.
const SECRET: &str = "bench-secret";

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

/// Runs the benchmark in a fresh subdirectory of `dir` and returns its JSON report.
pub fn run(dir: &Path, n: usize, rounds: usize) -> crate::Result<Value> {
    let root = dir.join(format!("file-sessions-bench-async-{}", std::process::id()));
    std::fs::create_dir_all(&root).map_err(|e| wasmtime::format_err!("creating {}: {e}", root.display()))?;
    let root = root.canonicalize().unwrap_or(root);
    let result = measure(&root, n, rounds.max(1));
    let _ = std::fs::remove_dir_all(&root);
    result
}

fn measure(root: &Path, n: usize, rounds: usize) -> crate::Result<Value> {
    let tenant = Tenant::new(root, SECRET);
    let data = crate::bench::DATA;

    // N saved sessions, written by the portable component.
    let mut guest = Runtime::new()?.instantiate(&tenant)?;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        let s = guest.session(None)?;
        guest.update(s, data)?;
        guest.create(s)?;
        keys.push(guest.session_key(s)?.unwrap_or_default());
        guest.drop_session(s)?;
    }

    // Sequential sync loads, one warm instance.
    let handles: Vec<SessionHandle> = keys.iter().map(|k| guest.session(Some(k))).collect::<crate::Result<_>>()?;
    let mut sync_us = Vec::new();
    for _ in 0..rounds {
        let start = Instant::now();
        for &s in &handles {
            std::hint::black_box(guest.load(s)?);
        }
        sync_us.push(start.elapsed().as_secs_f64() * 1e6);
    }

    // One instance is driven by one task: a current-thread executor (plus tokio's blocking
    // pool, where WASI 0.3 file calls run) saves waking a second worker on every hop
    // (measured here: 31 µs per `spawn_blocking` round trip against 45 µs).
    let executor = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| wasmtime::format_err!("starting the executor: {e}"))?;
    let (seq_us, conc_us, peak) = executor.block_on(async {
        let runtime = AsyncRuntime::new()?;
        let mut g: AsyncGuest = runtime.instantiate(&tenant).await?;
        let mut handles = Vec::with_capacity(n);
        for k in &keys {
            handles.push(g.session(Some(k)).await?);
        }
        let handles = &handles;
        let (mut seq, mut conc) = (Vec::new(), Vec::new());
        for _ in 0..rounds {
            let elapsed = g
                .run(async |a, t| {
                    let start = Instant::now();
                    for &s in handles {
                        std::hint::black_box(t.aload(a, s).await?);
                    }
                    Ok::<_, crate::HostError>(start.elapsed())
                })
                .await??;
            seq.push(elapsed.as_secs_f64() * 1e6);
            let elapsed = g
                .run(async |a, t| {
                    let start = Instant::now();
                    let loads = handles.iter().map(|&s| t.aload(a, s));
                    for r in futures::future::join_all(loads).await {
                        std::hint::black_box(r?);
                    }
                    Ok::<_, crate::HostError>(start.elapsed())
                })
                .await??;
            conc.push(elapsed.as_secs_f64() * 1e6);
        }
        Ok::<_, crate::HostError>((seq, conc, g.peak_memory()))
    })?;

    let (sync_us, seq_us, conc_us) = (median(sync_us), median(seq_us), median(conc_us));
    Ok(json!({
        "filesystem": crate::bench::filesystem_type(root),
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

/// The report as a small table.
pub fn table(report: &Value) -> String {
    let mut out = format!(
        "{} loads of a ~200-byte session on {} ({} threads), median of {} rounds\n\n",
        report["n"],
        report["filesystem"].as_str().unwrap_or("?"),
        report["threads"],
        report["rounds"]
    );
    out.push_str("| way | total ms | µs per load | loads/s |\n|---|---:|---:|---:|\n");
    for (name, key) in [
        ("sync `load`, sequential (portable, warm)", "sync_sequential"),
        ("`aload`, sequential (async)", "async_sequential"),
        ("`aload`, all concurrent in one instance", "async_concurrent"),
    ] {
        let f = &report[key];
        out.push_str(&format!(
            "| {name} | {:.2} | {:.1} | {:.0} |\n",
            f["total_ms"].as_f64().unwrap_or(0.0),
            f["us_per_load"].as_f64().unwrap_or(0.0),
            f["loads_per_s"].as_f64().unwrap_or(0.0)
        ));
    }
    out.push_str(&format!(
        "\nconcurrent aload vs sequential sync load: {:.2}x the throughput\n",
        report["concurrent_vs_sync"].as_f64().unwrap_or(0.0)
    ));
    out
}
