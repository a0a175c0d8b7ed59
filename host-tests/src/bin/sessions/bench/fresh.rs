//! The fresh-instance breakdown of `sessions bench`: where a request on a fresh instance
//! (as `wasmtime serve` and Spin run a WASI 0.2 handler) spends its time, phase by phase,
//! against the same request on a warm instance.
//!
//! A request is: build the `Store` (WASI context: preopen, environment), instantiate,
//! construct the session for a live key (the instance's first call: the guest reads its
//! settings and opens its directory on first use), load, set a value, save, drop the
//! session, drop the instance (the pooling allocator resets its memory). A warm request
//! skips the first two and the last, and finds the settings and directory already there.
//!
//! Each phase is timed on its own, and its minor page faults are counted in a separate,
//! untimed pass (`getrusage` is a system call of its own).

use super::latency::{Stats, round, stats, theme};
use file_sessions_host::{Guest, HostError, Runtime, Tenant};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

type Result<T, E = HostError> = std::result::Result<T, E>;

/// The phases of a request, in order; the first two and the last happen only on a fresh
/// instance.
pub const PHASES: [&str; 8] =
    ["store", "instantiate", "construct", "load", "set", "save", "drop_session", "drop_instance"];

/// Nanoseconds since `base`, for the store hook's mark.
fn since(base: Instant) -> u64 {
    base.elapsed().as_nanos() as u64
}

/// A fresh-instance runtime built with `config` whose store hook takes a reading (the
/// clock's) when the `Store` is ready, so instantiation is measured apart from building it.
pub struct Marked {
    runtime: Runtime,
    base: Instant,
    mark: Arc<AtomicU64>,
    count_faults: Arc<AtomicBool>,
}

impl Marked {
    /// The runtime, with `config` (the benchmark's: [`Runtime::pooling_config`]).
    pub fn new(config: wasmtime::Config) -> Result<Marked> {
        let (base, mark, count_faults) =
            (Instant::now(), Arc::new(AtomicU64::new(0)), Arc::new(AtomicBool::new(false)));
        let (hook_mark, hook_faults) = (mark.clone(), count_faults.clone());
        let runtime = Runtime::builder()
            .config(config)
            .configure_store(move |_| {
                let faults = hook_faults.load(Ordering::Relaxed);
                hook_mark.store(if faults { minor_faults() } else { since(base) }, Ordering::Relaxed);
                Ok(())
            })
            .build()?;
        Ok(Marked { runtime, base, mark, count_faults })
    }

    /// A fresh instance, and the reading taken when its store was ready.
    fn instantiate(&self, tenant: &Tenant, clock: Clock) -> Result<(Guest, u64)> {
        self.count_faults.store(clock == Clock::Faults, Ordering::Relaxed);
        let guest = self.runtime.instantiate(tenant)?;
        Ok((guest, self.mark.load(Ordering::Relaxed)))
    }
}

/// A clock for the phases: nanoseconds (timed pass) or minor page faults (counting pass).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Clock {
    Nanos,
    Faults,
}

/// Minor page faults of this thread so far.
fn minor_faults() -> u64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `usage` is a valid, writable `rusage`; RUSAGE_THREAD only reads this thread's.
    let ok = unsafe { libc::getrusage(libc::RUSAGE_THREAD, usage.as_mut_ptr()) } == 0;
    // SAFETY: zero-initialised, and filled in when the call succeeded.
    if ok { unsafe { usage.assume_init() }.ru_minflt as u64 } else { 0 }
}

/// Records the readings at each phase boundary.
struct Marks {
    clock: Clock,
    base: Instant,
    at: Vec<u64>,
}

impl Marks {
    fn new(clock: Clock, base: Instant) -> Marks {
        let mut marks = Marks { clock, base, at: Vec::with_capacity(PHASES.len() + 1) };
        marks.now();
        marks
    }

    fn now(&mut self) {
        let reading = match self.clock {
            Clock::Nanos => since(self.base),
            Clock::Faults => minor_faults(),
        };
        self.at.push(reading);
    }

    /// Each phase's share: differences of consecutive readings.
    fn phases(&self) -> Vec<u64> {
        self.at.windows(2).map(|w| w[1].saturating_sub(w[0])).collect()
    }
}

/// One request on `guest` for `key`, marking after construct, load, set, save and drop.
fn request(guest: &mut Guest, key: &str, flip: &mut bool, marks: &mut Marks) -> Result<()> {
    let s = guest.session(Some(key))?;
    marks.now();
    guest.keys(s)?;
    marks.now();
    guest.set(s, "theme", theme(flip))?;
    marks.now();
    guest.save(s, false)?;
    marks.now();
    guest.drop_session(s)?;
    marks.now();
    Ok(())
}

/// One fresh request: the marks of all eight phases.
fn fresh_request(rt: &Marked, tenant: &Tenant, key: &str, flip: &mut bool, clock: Clock) -> Result<Vec<u64>> {
    let mut marks = Marks::new(clock, rt.base);
    let (mut guest, store_ready) = rt.instantiate(tenant, clock)?;
    marks.at.push(store_ready);
    marks.now();
    request(&mut guest, key, flip, &mut marks)?;
    drop(guest);
    marks.now();
    Ok(marks.phases())
}

/// One warm request: construct, load, set, save, drop_session.
fn warm_request(guest: &mut Guest, base: Instant, key: &str, flip: &mut bool, clock: Clock) -> Result<Vec<u64>> {
    let mut marks = Marks::new(clock, base);
    request(guest, key, flip, &mut marks)?;
    Ok(marks.phases())
}

/// Per phase, the samples of `n` requests (`rows[i][phase]`), transposed.
fn columns(rows: &[Vec<u64>], width: usize) -> Vec<Vec<u64>> {
    (0..width).map(|p| rows.iter().map(|r| r[p]).collect()).collect()
}

fn mean(v: &[u64]) -> f64 {
    v.iter().sum::<u64>() as f64 / v.len().max(1) as f64
}

/// The breakdown: `n` fresh and `n` warm requests per round (interleaved by round), phases
/// timed; then one untimed pass counting page faults. `keys` are live sessions.
pub fn breakdown(
    rt: &Marked,
    warm: &mut Guest,
    tenant: &Tenant,
    keys: &[String],
    n: usize,
    rounds: usize,
) -> Result<Value> {
    let key = |i: usize| keys[i % keys.len()].as_str();
    let mut flip = false;
    let (mut fresh, mut hot) = (Vec::new(), Vec::new());
    for round in 0..=rounds {
        let f: Vec<Vec<u64>> =
            (0..n).map(|i| fresh_request(rt, tenant, key(i), &mut flip, Clock::Nanos)).collect::<Result<_>>()?;
        let w: Vec<Vec<u64>> =
            (0..n).map(|i| warm_request(warm, rt.base, key(i), &mut flip, Clock::Nanos)).collect::<Result<_>>()?;
        if round > 0 {
            fresh.extend(f);
            hot.extend(w);
        }
    }
    let faults_n = n.min(500);
    let fresh_faults: Vec<Vec<u64>> =
        (0..faults_n).map(|i| fresh_request(rt, tenant, key(i), &mut flip, Clock::Faults)).collect::<Result<_>>()?;
    let warm_faults: Vec<Vec<u64>> =
        (0..faults_n).map(|i| warm_request(warm, rt.base, key(i), &mut flip, Clock::Faults)).collect::<Result<_>>()?;
    Ok(report(&fresh, &hot, &fresh_faults, &warm_faults))
}

/// The `fresh_instance` section: per phase the fresh and warm medians (µs) and mean page
/// faults; the request's total both ways.
fn report(fresh: &[Vec<u64>], warm: &[Vec<u64>], fresh_faults: &[Vec<u64>], warm_faults: &[Vec<u64>]) -> Value {
    let total = |rows: &[Vec<u64>]| stats(rows.iter().map(|r| r.iter().sum()).collect());
    let (f_cols, w_cols) = (columns(fresh, PHASES.len()), columns(warm, PHASES.len() - 3));
    let (ff_cols, wf_cols) = (columns(fresh_faults, PHASES.len()), columns(warm_faults, PHASES.len() - 3));
    let mut phases = Map::new();
    for (i, name) in PHASES.iter().enumerate() {
        // The warm request's phases are the fresh one's third to seventh.
        let w = i.checked_sub(2).filter(|&w| w < w_cols.len());
        let f: Stats = stats(f_cols[i].clone());
        let mut o = json!({"fresh_us": round(f.median), "fresh_page_faults": round(mean(&ff_cols[i]))});
        if let Some(w) = w {
            o["warm_us"] = json!(round(stats(w_cols[w].clone()).median));
            o["warm_page_faults"] = json!(round(mean(&wf_cols[w])));
        }
        phases.insert((*name).into(), o);
    }
    let (f, w) = (total(fresh), total(warm));
    json!({
        "phases": phases,
        "request_us": {"fresh": round(f.median), "warm": round(w.median),
                       "fresh_p99": round(f.p99), "warm_p99": round(w.p99)},
        "request_page_faults": {"fresh": round(mean(&fresh_faults.iter().map(|r| r.iter().sum()).collect::<Vec<u64>>())),
                                "warm": round(mean(&warm_faults.iter().map(|r| r.iter().sum()).collect::<Vec<u64>>()))},
    })
}
