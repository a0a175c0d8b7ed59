//! `sessions bench`: per-operation latency of the component (one warm instance, and a fresh
//! instance per operation) against the same Rust logic compiled natively and, optionally,
//! real Django's file backend, on the same directory, in one run.
//!
//! Operations (identical in `bench/django_bench.py`):
//! * `create`: construct a store with no key, `update(DATA)`, `create()`.
//! * `save`: on a store whose data is loaded, change one value and `save()` (for a fresh
//!   instance the timing includes the load a request does first).
//! * `load`: construct a store for a live key and `load()`.
//! * `exists`: `exists(key)` of a live key.
//! * `delete`: `delete(key)` of a live session.
//! * `clear_expired`: one sweep over M files, half of them expired; reported per file.
//! * `request` (component only): what Spin and `wasmtime serve` do per request: construct
//!   for a key, load, change a value, save, drop; on a warm instance and on a fresh one.
//!
//! `fresh_instance` figures are timed from instantiation (through `InstancePre`, with the
//! pooling allocator) to the drop of the instance.

use super::{DATA, SECRET, create_session, filesystem_type};
use crate::progress;
use file_sessions::{ExpiredDeletion, FileStore, Session, Settings, run_sync};
use file_sessions_host::{Guest, HostError, Runtime, SessionHandle, Tenant};
use indicatif::ProgressBar;
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

type Result<T, E = HostError> = std::result::Result<T, E>;

/// What to run.
pub struct Options {
    /// Operations per round.
    pub n: usize,
    /// Timed rounds.
    pub rounds: usize,
    /// Directory sizes for `clear_expired`.
    pub clear_sizes: Vec<usize>,
    /// Python of a virtualenv with Django, to run `bench/django_bench.py` too.
    pub django: Option<PathBuf>,
}

/// The operations timed on every way, in the report's order.
const OPS: [&str; 5] = ["create", "save", "load", "exists", "delete"];

/// Runs the benchmark in `dir` (a private working directory) and returns its JSON report.
pub fn run(dir: &Path, opts: &Options) -> Result<Value> {
    let tenant = Tenant::new(dir, SECRET);
    let warm_rt = Runtime::new()?;
    let fresh_rt = Runtime::builder().config(Runtime::pooling_config()).build()?;
    let native = measure(opts, dir, "native", &mut || Native::new(dir), false)?;
    let component = measure(opts, dir, "component", &mut || instance(&warm_rt, &tenant), false)?;
    let guest_peak = sweep_peak(opts, dir, &warm_rt, &tenant)?;
    let fresh = measure(opts, dir, "fresh instance", &mut || instance(&fresh_rt, &tenant), true)?;
    let breakdown = request_figures(opts, &warm_rt, &tenant, dir)?;
    let django = opts.django.as_ref().map(|python| super::django::run(python, dir, opts)).transpose()?;
    let mut report = json!({
        "filesystem": filesystem_type(dir),
        "n": opts.n,
        "rounds": opts.rounds,
        "data_bytes": DATA.trim().len(),
        "request": {
            "component": breakdown["request_us"]["warm"], "fresh_instance": breakdown["request_us"]["fresh"],
            "component_p99": breakdown["request_us"]["warm_p99"], "fresh_instance_p99": breakdown["request_us"]["fresh_p99"],
        },
        "fresh_instance": breakdown,
        "memory": {"host_peak_rss_kib": peak_rss_kib(), "guest_peak_linear_memory_bytes": guest_peak},
        "wasm_bytes": file_sessions_host::GUEST_WASM.len(),
    });
    add_ways(&mut report, [&component, &fresh, &native], django.as_ref(), opts);
    Ok(report)
}

/// Median and 99th percentile of one operation, in microseconds.
#[derive(Clone, Copy, Debug)]
pub(super) struct Stats {
    pub(super) median: f64,
    pub(super) p99: f64,
}

pub(super) fn stats(mut ns: Vec<u64>) -> Stats {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Stats { median: at(0.5), p99: at(0.99) }
}

/// The second half of a save: change a value and save (timed apart from the load).
type Finish<W> = Box<dyn FnOnce(&mut W) -> Result<()>>;

/// One way of running the store.
trait Way {
    fn create(&mut self) -> Result<String>;
    /// Loads `key` untimed; the returned step changes a value and saves.
    fn save(&mut self, key: &str) -> Result<Finish<Self>>;
    fn load(&mut self, key: &str) -> Result<()>;
    fn exists(&mut self, key: &str) -> Result<()>;
    fn delete(&mut self, key: &str) -> Result<()>;
    fn clear_expired(&mut self) -> Result<()>;
}

/// The native build of the guest crate (the floor).
struct Native {
    store: Rc<FileStore>,
    data: file_sessions::Data,
    flip: bool,
}

impl Native {
    fn new(dir: &Path) -> Result<Native> {
        let settings = Settings::from_vars([
            ("SECRET_KEY".to_owned(), SECRET.to_owned()),
            ("SESSION_FILE_PATH".to_owned(), dir.to_string_lossy().into_owned()),
        ])
        .map_err(native)?;
        let data = serde_json::from_str(DATA).map_err(native)?;
        Ok(Native { store: Rc::new(FileStore::new(settings).map_err(native)?), data, flip: false })
    }
}

/// An error of the native store (which the benchmark never expects: a full disk, ...).
fn native(e: impl std::fmt::Display) -> HostError {
    HostError::Io { context: "the native store".into(), source: std::io::Error::other(e.to_string()) }
}

/// The component in wasmtime: one instance.
struct Component {
    guest: Guest,
    probe: SessionHandle,
    flip: bool,
}

fn instance(runtime: &Runtime, tenant: &Tenant) -> Result<Component> {
    let mut guest = runtime.instantiate(tenant)?;
    let probe = guest.session(None)?;
    Ok(Component { guest, probe, flip: false })
}

/// The value each save writes: alternating, so every save changes the file.
pub(super) fn theme(flip: &mut bool) -> &'static str {
    *flip = !*flip;
    if *flip { "\"light\"" } else { "\"dark\"" }
}

impl Way for Native {
    fn create(&mut self) -> Result<String> {
        let mut s = Session::new(self.store.clone(), None);
        run_sync(s.update(self.data.clone())).map_err(native)?;
        run_sync(s.create()).map_err(native)?;
        Ok(s.state.key().unwrap_or_default().to_owned())
    }
    fn save(&mut self, key: &str) -> Result<Finish<Self>> {
        let mut s = Session::new(self.store.clone(), Some(key.to_owned()));
        run_sync(s.keys()).map_err(native)?;
        Ok(Box::new(move |me: &mut Self| {
            let value: Value = serde_json::from_str(theme(&mut me.flip)).map_err(native)?;
            run_sync(s.set("theme", value)).map_err(native)?;
            run_sync(s.save(false)).map_err(native)
        }))
    }
    fn load(&mut self, key: &str) -> Result<()> {
        let mut s = Session::new(self.store.clone(), Some(key.to_owned()));
        std::hint::black_box(run_sync(s.load()).map_err(native)?);
        Ok(())
    }
    fn exists(&mut self, key: &str) -> Result<()> {
        std::hint::black_box(run_sync(file_sessions::Backend::exists(&*self.store, key)).map_err(native)?);
        Ok(())
    }
    fn delete(&mut self, key: &str) -> Result<()> {
        let state = file_sessions::State::default();
        run_sync(file_sessions::Backend::delete(&*self.store, &state, Some(key))).map_err(native)
    }
    fn clear_expired(&mut self) -> Result<()> {
        run_sync(self.store.clear_expired()).map(drop).map_err(native)
    }
}

impl Way for Component {
    fn create(&mut self) -> Result<String> {
        create_session(&mut self.guest)
    }
    fn save(&mut self, key: &str) -> Result<Finish<Self>> {
        let s = self.guest.session(Some(key))?;
        self.guest.keys(s)?;
        Ok(Box::new(move |me: &mut Self| {
            let value = theme(&mut me.flip);
            me.guest.set(s, "theme", value)?;
            me.guest.save(s, false)?;
            me.guest.drop_session(s)
        }))
    }
    fn load(&mut self, key: &str) -> Result<()> {
        let s = self.guest.session(Some(key))?;
        std::hint::black_box(self.guest.load(s)?);
        self.guest.drop_session(s)
    }
    fn exists(&mut self, key: &str) -> Result<()> {
        std::hint::black_box(self.guest.exists(self.probe, key)?);
        Ok(())
    }
    fn delete(&mut self, key: &str) -> Result<()> {
        self.guest.delete(self.probe, Some(key))
    }
    fn clear_expired(&mut self) -> Result<()> {
        self.guest.clear_expired().map(drop)
    }
}

/// Nanoseconds of each of `n` calls of `op`.
fn time_each(n: usize, mut op: impl FnMut(usize) -> Result<()>) -> Result<Vec<u64>> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            op(i)?;
            Ok(t.elapsed().as_nanos() as u64)
        })
        .collect()
}

/// Results for one way: µs statistics per op, and µs per file of each sweep.
struct WayResult {
    ops: Vec<Stats>,
    clear: Vec<(usize, f64)>,
}

/// How one way makes its instances: the warm one, and (when `fresh`) one per timed op,
/// timed from its creation.
struct Maker<'a, W> {
    make: &'a mut dyn FnMut() -> Result<W>,
    fresh: bool,
}

impl<W: Way> Maker<'_, W> {
    /// Runs `op` on the warm instance, or on a new one.
    fn on(&mut self, warm: &mut W, op: impl FnOnce(&mut W) -> Result<()>) -> Result<()> {
        if self.fresh { op(&mut (self.make)()?) } else { op(warm) }
    }
}

/// Runs every op on a way, one warm-up round and `rounds` timed ones, then the sweeps.
fn measure<W: Way>(
    opts: &Options,
    dir: &Path,
    name: &str,
    make: &mut dyn FnMut() -> Result<W>,
    fresh: bool,
) -> Result<WayResult> {
    let bar = progress::bar(name, (opts.rounds + 1 + opts.clear_sizes.len()) as u64);
    let mut maker = Maker { make, fresh };
    let mut warm = (maker.make)()?;
    let live: Vec<String> = (0..opts.n.min(500)).map(|_| warm.create()).collect::<Result<_>>()?;
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); OPS.len()];
    for round in 0..=opts.rounds {
        bar.set_message(if round == 0 { "warming up" } else { "rounds" });
        let timings = one_round(opts.n, dir, &mut maker, &mut warm, &live)?;
        if round > 0 {
            samples.iter_mut().zip(timings).for_each(|(s, t)| s.extend(t));
        }
        bar.inc(1);
    }
    // The sweeps run on a directory holding exactly the M files they are measured over.
    remove_sessions(dir, &live);
    drop(warm);
    let clear = sweeps(opts, dir, &mut maker, &bar)?;
    bar.finish_and_clear();
    Ok(WayResult { ops: samples.into_iter().map(stats).collect(), clear })
}

/// One round: n creates, saves, loads, exists, and a delete of each session created.
fn one_round<W: Way>(
    n: usize,
    dir: &Path,
    maker: &mut Maker<W>,
    warm: &mut W,
    live: &[String],
) -> Result<[Vec<u64>; 5]> {
    let key = |i: usize| &live[i % live.len()];
    let create = time_each(n, |_| maker.on(warm, |w| w.create().map(drop)))?;
    let created: Vec<String> = list_keys(dir).into_iter().filter(|k| !live.contains(k)).collect();
    let save = time_saves(n, maker, warm, live)?;
    let load = time_each(n, |i| maker.on(warm, |w| w.load(key(i))))?;
    let exists = time_each(n, |i| maker.on(warm, |w| w.exists(key(i))))?;
    let delete = time_each(created.len(), |i| maker.on(warm, |w| w.delete(&created[i])))?;
    Ok([create, save, load, exists, delete])
}

/// Saves: on a fresh instance the whole request (instantiate, load, set, save); on the
/// warm one only the set and save of an already loaded session.
fn time_saves<W: Way>(n: usize, maker: &mut Maker<W>, warm: &mut W, live: &[String]) -> Result<Vec<u64>> {
    if maker.fresh {
        return time_each(n, |i| {
            let mut w = (maker.make)()?;
            let finish = w.save(&live[i % live.len()])?;
            finish(&mut w)
        });
    }
    let mut ns = Vec::with_capacity(n);
    for i in 0..n {
        let finish = warm.save(&live[i % live.len()])?;
        let t = Instant::now();
        finish(warm)?;
        ns.push(t.elapsed().as_nanos() as u64);
    }
    Ok(ns)
}

/// One `clear_expired` per directory size, over M files of which half expired.
fn sweeps<W: Way>(opts: &Options, dir: &Path, maker: &mut Maker<W>, bar: &ProgressBar) -> Result<Vec<(usize, f64)>> {
    let mut out = Vec::new();
    for &m in &opts.clear_sizes {
        bar.set_message(format!("clear_expired over {m} files"));
        let expired = populate(dir, m)?;
        let mut w = (maker.make)()?;
        let t = Instant::now();
        w.clear_expired()?;
        out.push((m, t.elapsed().as_nanos() as f64 / 1000.0 / m as f64));
        let left = list_keys(dir);
        if left.len() != m - expired {
            return Err(native(format!(
                "clear_expired left {} of {m} files, not the {} unexpired",
                left.len(),
                m - expired
            )));
        }
        remove_sessions(dir, &left);
        bar.inc(1);
    }
    Ok(out)
}

/// Peak linear memory of one warm instance after a sweep of the largest directory.
fn sweep_peak(opts: &Options, dir: &Path, runtime: &Runtime, tenant: &Tenant) -> Result<usize> {
    populate(dir, opts.clear_sizes.iter().copied().max().unwrap_or(0))?;
    let mut guest = runtime.instantiate(tenant)?;
    guest.clear_expired()?;
    remove_sessions(dir, &list_keys(dir));
    Ok(guest.peak_memory())
}

/// The session keys in `dir`.
fn list_keys(dir: &Path) -> Vec<String> {
    let Ok(listing) = std::fs::read_dir(dir) else { return Vec::new() };
    listing
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_prefix("sessionid").map(str::to_owned))
        .collect()
}

fn remove_sessions(dir: &Path, keys: &[String]) {
    for k in keys {
        let _ = std::fs::remove_file(dir.join(format!("sessionid{k}")));
    }
}

/// Writes `m` signed sessions, half of them 15 days old (expired); returns how many expired.
fn populate(dir: &Path, m: usize) -> Result<usize> {
    let native_way = Native::new(dir)?;
    let text = native_way.store.encode(&native_way.data).map_err(native)?;
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(15 * 24 * 3600);
    for i in 0..m {
        let key = file_sessions::key::generate().map_err(native)?;
        let path = dir.join(format!("sessionid{key}"));
        std::fs::write(&path, &text).map_err(|e| HostError::io("cannot write", &path, e))?;
        if i % 2 == 0 {
            let file = std::fs::File::options().write(true).open(&path);
            file.and_then(|f| f.set_modified(old)).map_err(|e| HostError::io("cannot age", &path, e))?;
        }
    }
    Ok(m.div_ceil(2))
}

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

pub(super) fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The ways' figures into the report: `ops`, `p99`, `clear_expired_per_file_by_size`,
/// `ratios` (Django's taken from its own report when it ran).
fn add_ways(report: &mut Value, [component, fresh, native]: [&WayResult; 3], django: Option<&Value>, opts: &Options) {
    let (mut ops, mut p99) = (Map::new(), Map::new());
    for (i, name) in OPS.iter().enumerate() {
        let way = |pick: fn(&Stats) -> f64| {
            json!({"component": round(pick(&component.ops[i])), "fresh_instance": round(pick(&fresh.ops[i])),
                   "native": round(pick(&native.ops[i]))})
        };
        let (mut o, mut q) = (way(|s| s.median), way(|s| s.p99));
        if let Some(d) = django {
            o["django"] = d["ops"][name]["median_us"].clone();
            q["django"] = d["ops"][name]["p99_us"].clone();
        }
        ops.insert((*name).into(), o);
        p99.insert((*name).into(), q);
    }
    let mut by_size = Map::new();
    for (i, &(m, _)) in native.clear.iter().enumerate() {
        let mut o = json!({"component": round(component.clear[i].1), "fresh_instance": round(fresh.clear[i].1),
                           "native": round(native.clear[i].1)});
        if let Some(d) = django {
            o["django"] = d["ops"]["clear_expired"][m.to_string()]["per_file_us"].clone();
        }
        by_size.insert(m.to_string(), o);
    }
    if let Some(first) = opts.clear_sizes.first() {
        ops.insert("clear_expired".into(), by_size[&first.to_string()].clone());
    }
    report["ops"] = Value::Object(ops);
    report["p99"] = Value::Object(p99);
    report["clear_expired_per_file_by_size"] = Value::Object(by_size);
    if let Some(d) = django {
        report["memory"]["django_peak_rss_kib"] = d["peak_rss_kib"].clone();
        report["django"] = json!({"version": d["django"], "python": d["python"]});
    }
    report["ratios"] = ratios(report);
    fresh_over_warm(report);
}

/// The targets' ratios: Django over component, component over native, fresh over warm.
fn ratios(report: &Value) -> Value {
    let mut out = Map::new();
    for (name, o) in report["ops"].as_object().into_iter().flatten() {
        let get = |k: &str| o[k].as_f64();
        let mut r = Map::new();
        if let (Some(d), Some(c)) = (get("django"), get("component")) {
            r.insert("django_over_component".into(), json!(round(d / c)));
        }
        if let (Some(c), Some(n)) = (get("component"), get("native")) {
            r.insert("component_over_native".into(), json!(round(c / n)));
        }
        out.insert(name.clone(), Value::Object(r));
    }
    let request = &report["request"];
    if let (Some(f), Some(w)) = (request["fresh_instance"].as_f64(), request["component"].as_f64()) {
        out.insert("request".into(), json!({"fresh_over_warm": round(f / w)}));
    }
    Value::Object(out)
}

/// Fresh ÷ warm for the request, `exists` and `load`, into the `fresh_instance` section.
fn fresh_over_warm(report: &mut Value) {
    let mut r = Map::new();
    for (name, o) in
        [("request", &report["request"]), ("exists", &report["ops"]["exists"]), ("load", &report["ops"]["load"])]
    {
        if let (Some(f), Some(w)) = (o["fresh_instance"].as_f64(), o["component"].as_f64()) {
            r.insert(name.into(), json!(round(f / w)));
        }
    }
    report["fresh_instance"]["fresh_over_warm"] = Value::Object(r);
}

/// The `request` op on a warm instance and on a fresh instance per request, phase by phase
/// (the `fresh_instance` section).
fn request_figures(opts: &Options, warm_rt: &Runtime, tenant: &Tenant, dir: &Path) -> Result<Value> {
    let bar = progress::bar("request", 1);
    let mut warm = instance(warm_rt, tenant)?;
    let keys: Vec<String> = (0..opts.n.min(500)).map(|_| warm.create()).collect::<Result<_>>()?;
    let fresh_rt = super::fresh::Marked::new(Runtime::pooling_config())?;
    let breakdown = super::fresh::breakdown(&fresh_rt, &mut warm.guest, tenant, &keys, opts.n, opts.rounds)?;
    bar.finish_and_clear();
    remove_sessions(dir, &keys);
    Ok(breakdown)
}
