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

use crate::{Guest, Runtime, SessionHandle, Tenant};
use file_sessions::{ExpiredDeletion, FileStore, Session, Settings, run_sync};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Instant;

/// The ~200-byte session every operation stores (`bench/session.json`).
pub const DATA: &str = include_str!("../../bench/session.json");

/// The secret the benchmark signs with.
const SECRET: &str = "bench-secret";

/// What to run.
pub struct Options {
    /// The directory to benchmark in (a fresh subdirectory is made and removed).
    pub dir: PathBuf,
    /// Operations per round.
    pub n: usize,
    /// Rounds.
    pub rounds: usize,
    /// Directory sizes for `clear_expired`.
    pub clear_sizes: Vec<usize>,
    /// Python of the Django virtualenv, to run `bench/django_bench.py` too.
    pub django_python: Option<PathBuf>,
}

/// Median and 99th percentile of one operation, in microseconds.
#[derive(Clone, Copy, Debug)]
pub struct Stats {
    /// Median µs per operation.
    pub median: f64,
    /// 99th percentile µs per operation.
    pub p99: f64,
}

fn stats(mut ns: Vec<u64>) -> Stats {
    ns.sort_unstable();
    let at = |q: f64| ns[((ns.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    Stats { median: at(0.5), p99: at(0.99) }
}

/// One way of running the store.
trait Way {
    fn create(&mut self) -> String;
    fn save(&mut self, key: &str) -> Box<dyn FnOnce(&mut Self)>;
    fn load(&mut self, key: &str);
    fn exists(&mut self, key: &str);
    fn delete(&mut self, key: &str);
    fn clear_expired(&mut self);
}

/// The native build of the guest crate (the floor).
struct Native {
    store: Rc<FileStore>,
    data: file_sessions::Data,
    flip: bool,
}

impl Native {
    fn new(dir: &Path) -> Native {
        let settings = Settings::from_vars([
            ("SECRET_KEY".to_owned(), SECRET.to_owned()),
            ("SESSION_FILE_PATH".to_owned(), dir.to_string_lossy().into_owned()),
        ])
        .expect("settings");
        let data = serde_json::from_str(DATA).expect("bench/session.json is a JSON object");
        Native { store: Rc::new(FileStore::new(settings).expect("storage dir")), data, flip: false }
    }
}

/// The component in wasmtime: one warm instance.
struct Warm {
    guest: Guest,
    probe: SessionHandle,
    flip: bool,
}

fn theme(flip: &mut bool) -> &'static str {
    *flip = !*flip;
    if *flip { "\"light\"" } else { "\"dark\"" }
}

impl Way for Native {
    fn create(&mut self) -> String {
        let mut s = Session::new(self.store.clone(), None);
        run_sync(s.update(self.data.clone())).unwrap();
        run_sync(s.create()).unwrap();
        s.state.key().unwrap().to_owned()
    }
    fn save(&mut self, key: &str) -> Box<dyn FnOnce(&mut Self)> {
        let mut s = Session::new(self.store.clone(), Some(key.to_owned()));
        run_sync(s.keys()).unwrap();
        Box::new(move |me: &mut Self| {
            let value: Value = serde_json::from_str(theme(&mut me.flip)).unwrap();
            run_sync(s.set("theme", value)).unwrap();
            run_sync(s.save(false)).unwrap();
        })
    }
    fn load(&mut self, key: &str) {
        let mut s = Session::new(self.store.clone(), Some(key.to_owned()));
        std::hint::black_box(run_sync(s.load()).unwrap());
    }
    fn exists(&mut self, key: &str) {
        std::hint::black_box(run_sync(file_sessions::Backend::exists(&*self.store, key)).unwrap());
    }
    fn delete(&mut self, key: &str) {
        run_sync(file_sessions::Backend::delete(&*self.store, &file_sessions::State::default(), Some(key))).unwrap();
    }
    fn clear_expired(&mut self) {
        run_sync(self.store.clear_expired()).unwrap();
    }
}

impl Way for Warm {
    fn create(&mut self) -> String {
        let g = &mut self.guest;
        let s = g.session(None).unwrap();
        g.update(s, DATA).unwrap();
        g.create(s).unwrap();
        let key = g.session_key(s).unwrap().unwrap();
        g.drop_session(s).unwrap();
        key
    }
    fn save(&mut self, key: &str) -> Box<dyn FnOnce(&mut Self)> {
        let s = self.guest.session(Some(key)).unwrap();
        self.guest.keys(s).unwrap();
        Box::new(move |me: &mut Self| {
            let value = theme(&mut me.flip);
            me.guest.set(s, "theme", value).unwrap();
            me.guest.save(s, false).unwrap();
            me.guest.drop_session(s).unwrap();
        })
    }
    fn load(&mut self, key: &str) {
        let s = self.guest.session(Some(key)).unwrap();
        std::hint::black_box(self.guest.load(s).unwrap());
        self.guest.drop_session(s).unwrap();
    }
    fn exists(&mut self, key: &str) {
        std::hint::black_box(self.guest.exists(self.probe, key).unwrap());
    }
    fn delete(&mut self, key: &str) {
        self.guest.delete(self.probe, Some(key)).unwrap();
    }
    fn clear_expired(&mut self) {
        self.guest.clear_expired().unwrap();
    }
}

/// Times `op` over `keys` (one call each), `rounds` times; `setup` runs untimed first.
fn time_each(n: usize, mut op: impl FnMut(usize)) -> Vec<u64> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            op(i);
            t.elapsed().as_nanos() as u64
        })
        .collect()
}

/// Results for one way: µs statistics per op.
#[derive(Default)]
struct WayResult {
    ops: Vec<(&'static str, Stats)>,
    clear: Vec<(usize, f64)>,
}

const OPS: [&str; 5] = ["create", "save", "load", "exists", "delete"];

/// Runs every op on a way. `fresh` makes a new `W` for each timed op (the instance
/// per request), timed from its creation.
fn run_way<W: Way>(opts: &Options, dir: &Path, make: &mut dyn FnMut() -> W, fresh: bool) -> WayResult {
    let mut result = WayResult::default();
    let mut samples: Vec<Vec<u64>> = vec![Vec::new(); OPS.len()];
    let mut warm = make();
    let live: Vec<String> = (0..opts.n.min(500)).map(|_| warm.create()).collect();
    for round in 0..opts.rounds + 1 {
        let keep = round > 0; // round 0 warms up
        let create = if fresh {
            time_each(opts.n, |_| {
                let mut w = make();
                w.create();
            })
        } else {
            time_each(opts.n, |_| {
                warm.create();
            })
        };
        // The sessions just created are deleted below.
        let created: Vec<String> = list_keys(dir).into_iter().filter(|k| !live.contains(k)).collect();
        let save = if fresh {
            time_each(opts.n, |i| {
                let mut w = make();
                let finish = w.save(&live[i % live.len()]);
                finish(&mut w);
            })
        } else {
            let mut v = Vec::with_capacity(opts.n);
            for i in 0..opts.n {
                let finish = warm.save(&live[i % live.len()]);
                let t = Instant::now();
                finish(&mut warm);
                v.push(t.elapsed().as_nanos() as u64);
            }
            v
        };
        let load = time_each(opts.n, |i| {
            if fresh {
                make().load(&live[i % live.len()]);
            } else {
                warm.load(&live[i % live.len()]);
            }
        });
        let exists = time_each(opts.n, |i| {
            if fresh {
                make().exists(&live[i % live.len()]);
            } else {
                warm.exists(&live[i % live.len()]);
            }
        });
        let delete = time_each(created.len(), |i| {
            if fresh {
                make().delete(&created[i]);
            } else {
                warm.delete(&created[i]);
            }
        });
        if keep {
            for (s, v) in samples.iter_mut().zip([create, save, load, exists, delete]) {
                s.extend(v);
            }
        }
    }
    for (name, s) in OPS.iter().zip(samples) {
        result.ops.push((name, stats(s)));
    }
    // The sweeps run on a directory holding exactly the M files they are measured over.
    for k in &live {
        let _ = std::fs::remove_file(dir.join(format!("sessionid{k}")));
    }
    drop(warm);
    for &m in &opts.clear_sizes {
        let expired = populate(dir, m);
        let mut w = make();
        let t = Instant::now();
        w.clear_expired();
        let per_file = t.elapsed().as_nanos() as f64 / 1000.0 / m as f64;
        let left = list_keys(dir);
        assert_eq!(left.len(), m - expired, "clear_expired removed exactly the expired half");
        result.clear.push((m, per_file));
        for k in left {
            let _ = std::fs::remove_file(dir.join(format!("sessionid{k}")));
        }
    }
    result
}

/// The session keys in `dir`.
fn list_keys(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_prefix("sessionid").map(str::to_owned))
        .collect()
}

/// Writes `m` signed sessions, half of them 15 days old (expired); returns how many expired.
fn populate(dir: &Path, m: usize) -> usize {
    let native = Native::new(dir);
    let text = native.store.encode(&native.data).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(15 * 24 * 3600);
    for i in 0..m {
        let key = file_sessions::key::generate().unwrap();
        let path = dir.join(format!("sessionid{key}"));
        std::fs::write(&path, &text).unwrap();
        if i % 2 == 0 {
            std::fs::File::options().write(true).open(&path).unwrap().set_modified(old).unwrap();
        }
    }
    m.div_ceil(2)
}

/// The filesystem type of `path` (from /proc/self/mounts: the longest mount-point prefix).
pub fn filesystem_type(path: &Path) -> String {
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

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs the benchmark and returns its JSON report.
pub fn run(opts: &Options) -> crate::Result<Value> {
    let root = opts.dir.join(format!("file-sessions-bench-{}", std::process::id()));
    std::fs::create_dir_all(&root).map_err(|e| wasmtime::format_err!("creating {}: {e}", root.display()))?;
    let abs = root.canonicalize().unwrap_or(root.clone());
    let tenant = Tenant::new(&abs, SECRET);
    let warm_rt = Runtime::new()?;
    let fresh_rt = Runtime::with_config(Path::new(crate::GUEST_WASM), Runtime::pooling_config())?;

    let native = run_way(opts, &abs, &mut || Native::new(&abs), false);
    let mut guest_peak = 0usize;
    let component = run_way(
        opts,
        &abs,
        &mut || {
            let mut guest = warm_rt.instantiate(&tenant).unwrap();
            let probe = guest.session(None).unwrap();
            Warm { guest, probe, flip: false }
        },
        false,
    );
    // Peak linear memory of one warm instance after a sweep of the largest directory.
    {
        let m = opts.clear_sizes.iter().copied().max().unwrap_or(0);
        populate(&abs, m);
        let mut guest = warm_rt.instantiate(&tenant)?;
        guest.clear_expired()?;
        guest_peak = guest_peak.max(guest.peak_memory());
        for k in list_keys(&abs) {
            let _ = std::fs::remove_file(abs.join(format!("sessionid{k}")));
        }
    }
    let fresh = run_way(
        opts,
        &abs,
        &mut || {
            let mut guest = fresh_rt.instantiate(&tenant).unwrap();
            let probe = guest.session(None).unwrap();
            Warm { guest, probe, flip: false }
        },
        true,
    );
    let request = request_figures(opts, &warm_rt, &fresh_rt, &tenant, &abs);

    let django = match &opts.django_python {
        Some(python) => Some(run_django(python, opts)?),
        None => None,
    };
    let _ = std::fs::remove_dir_all(&root);

    let mut ops = serde_json::Map::new();
    let mut p99 = serde_json::Map::new();
    for (i, name) in OPS.iter().enumerate() {
        let mut o = json!({
            "component": round(component.ops[i].1.median),
            "fresh_instance": round(fresh.ops[i].1.median),
            "native": round(native.ops[i].1.median),
        });
        let mut q = json!({
            "component": round(component.ops[i].1.p99),
            "fresh_instance": round(fresh.ops[i].1.p99),
            "native": round(native.ops[i].1.p99),
        });
        if let Some(d) = &django {
            o["django"] = d["ops"][name]["median_us"].clone();
            q["django"] = d["ops"][name]["p99_us"].clone();
        }
        ops.insert((*name).into(), o);
        p99.insert((*name).into(), q);
    }
    let mut by_size = serde_json::Map::new();
    for (i, &(m, _)) in native.clear.iter().enumerate() {
        let mut o = json!({
            "component": round(component.clear[i].1),
            "fresh_instance": round(fresh.clear[i].1),
            "native": round(native.clear[i].1),
        });
        if let Some(d) = &django {
            o["django"] = d["ops"]["clear_expired"][m.to_string()]["per_file_us"].clone();
        }
        by_size.insert(m.to_string(), o);
    }
    if let Some(first) = opts.clear_sizes.first() {
        ops.insert("clear_expired".into(), by_size[&first.to_string()].clone());
    }
    let mut report = json!({
        "filesystem": filesystem_type(&opts.dir),
        "n": opts.n,
        "rounds": opts.rounds,
        "data_bytes": DATA.trim().len(),
        "ops": ops,
        "p99": p99,
        "clear_expired_per_file_by_size": by_size,
        "request": request,
        "memory": {
            "host_peak_rss_kib": peak_rss_kib(),
            "guest_peak_linear_memory_bytes": guest_peak,
        },
        "wasm_bytes": std::fs::metadata(crate::GUEST_WASM).map(|m| m.len()).unwrap_or(0),
    });
    if let Some(d) = django {
        report["memory"]["django_peak_rss_kib"] = d["peak_rss_kib"].clone();
        report["django"] = json!({"version": d["django"], "python": d["python"]});
    }
    report["ratios"] = ratios(&report);
    Ok(report)
}

fn round(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The targets' ratios: Django over component, component over native, fresh over warm.
fn ratios(report: &Value) -> Value {
    let mut out = serde_json::Map::new();
    let ops = report["ops"].as_object().cloned().unwrap_or_default();
    for (name, o) in ops {
        let get = |k: &str| o[k].as_f64();
        let mut r = serde_json::Map::new();
        if let (Some(d), Some(c)) = (get("django"), get("component")) {
            r.insert("django_over_component".into(), json!(round(d / c)));
        }
        if let (Some(c), Some(n)) = (get("component"), get("native")) {
            r.insert("component_over_native".into(), json!(round(c / n)));
        }
        out.insert(name, Value::Object(r));
    }
    if let (Some(f), Some(w)) = (report["request"]["fresh_instance"].as_f64(), report["request"]["component"].as_f64())
    {
        out.insert("request".into(), json!({"fresh_over_warm": round(f / w)}));
    }
    Value::Object(out)
}

/// The `request` op on a warm instance and on a fresh instance per request.
fn request_figures(opts: &Options, warm_rt: &Runtime, fresh_rt: &Runtime, tenant: &Tenant, dir: &Path) -> Value {
    let mut warm = warm_rt.instantiate(tenant).unwrap();
    let keys: Vec<String> = (0..opts.n.min(500))
        .map(|_| {
            let s = warm.session(None).unwrap();
            warm.update(s, DATA).unwrap();
            warm.create(s).unwrap();
            let k = warm.session_key(s).unwrap().unwrap();
            warm.drop_session(s).unwrap();
            k
        })
        .collect();
    let request = |g: &mut Guest, key: &str, flip: &mut bool| {
        let s = g.session(Some(key)).unwrap();
        g.keys(s).unwrap();
        g.set(s, "theme", theme(flip)).unwrap();
        g.save(s, false).unwrap();
        g.drop_session(s).unwrap();
    };
    let mut flip = false;
    let mut warm_ns = Vec::new();
    let mut fresh_ns = Vec::new();
    for round in 0..opts.rounds + 1 {
        let w = time_each(opts.n, |i| request(&mut warm, &keys[i % keys.len()], &mut flip));
        let f = time_each(opts.n, |i| {
            let mut g = fresh_rt.instantiate(tenant).unwrap();
            request(&mut g, &keys[i % keys.len()], &mut flip);
        });
        if round > 0 {
            warm_ns.extend(w);
            fresh_ns.extend(f);
        }
    }
    for k in &keys {
        let _ = std::fs::remove_file(dir.join(format!("sessionid{k}")));
    }
    let (w, f) = (stats(warm_ns), stats(fresh_ns));
    json!({"component": round(w.median), "fresh_instance": round(f.median),
           "component_p99": round(w.p99), "fresh_instance_p99": round(f.p99)})
}

/// Runs `bench/django_bench.py` on the same directory and returns its JSON.
fn run_django(python: &Path, opts: &Options) -> crate::Result<Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../bench/django_bench.py");
    let sizes: Vec<String> = opts.clear_sizes.iter().map(usize::to_string).collect();
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg("--dir")
        .arg(&opts.dir)
        .args(["--n", &opts.n.to_string(), "--rounds", &opts.rounds.to_string()])
        .args(["--clear-sizes", &sizes.join(","), "--json"])
        .output()
        .map_err(|e| wasmtime::format_err!("running {}: {e}", python.display()))?;
    if !out.status.success() {
        return Err(wasmtime::format_err!("django_bench.py failed: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(serde_json::from_slice(&out.stdout).map_err(|e| wasmtime::format_err!("django_bench.py output: {e}"))?)
}

/// The report as a table.
pub fn table(report: &Value) -> String {
    let mut s = format!(
        "file-sessions benchmark on {} (n={} x {} rounds, {}-byte session), median µs per op\n\n",
        report["filesystem"].as_str().unwrap_or("?"),
        report["n"],
        report["rounds"],
        report["data_bytes"]
    );
    s.push_str(&format!(
        "{:<14} {:>10} {:>10} {:>10} {:>10} {:>14} {:>16}\n",
        "op", "component", "fresh", "native", "django", "django/comp", "comp/native"
    ));
    let cell = |v: &Value| v.as_f64().map_or("-".to_owned(), |x| format!("{x:.2}"));
    let ops = report["ops"].as_object().cloned().unwrap_or_default();
    for (name, o) in &ops {
        let r = &report["ratios"][name];
        s.push_str(&format!(
            "{:<14} {:>10} {:>10} {:>10} {:>10} {:>14} {:>16}\n",
            name,
            cell(&o["component"]),
            cell(&o["fresh_instance"]),
            cell(&o["native"]),
            cell(&o["django"]),
            cell(&r["django_over_component"]),
            cell(&r["component_over_native"]),
        ));
    }
    s.push_str("\nclear_expired, µs per file, by directory size (half expired):\n");
    if let Some(by) = report["clear_expired_per_file_by_size"].as_object() {
        for (m, o) in by {
            s.push_str(&format!(
                "  {:>7} files: component {} fresh {} native {} django {}\n",
                m,
                cell(&o["component"]),
                cell(&o["fresh_instance"]),
                cell(&o["native"]),
                cell(&o["django"])
            ));
        }
    }
    let r = &report["request"];
    s.push_str(&format!(
        "\nrequest (construct, load, set, save, drop): warm {} µs, fresh instance {} µs ({}x)\n",
        cell(&r["component"]),
        cell(&r["fresh_instance"]),
        cell(&report["ratios"]["request"]["fresh_over_warm"])
    ));
    let m = &report["memory"];
    s.push_str(&format!(
        "memory: host peak RSS {} KiB, guest peak linear memory {} bytes, django peak RSS {} KiB; component {} bytes\n",
        m["host_peak_rss_kib"],
        m["guest_peak_linear_memory_bytes"],
        cell(&m["django_peak_rss_kib"]),
        report["wasm_bytes"]
    ));
    s
}

/// A bar chart of median latency per operation (log scale), as SVG.
pub fn svg(report: &Value) -> String {
    let ways = [("component", "#1f77b4"), ("fresh_instance", "#aec7e8"), ("native", "#2ca02c"), ("django", "#d62728")];
    let ops = report["ops"].as_object().cloned().unwrap_or_default();
    let (left, bar, gap, width) = (110.0, 11.0, 14.0, 560.0);
    let group = bar * ways.len() as f64 + gap;
    let height = 60.0 + group * ops.len() as f64 + 30.0;
    let max = ops.values().flat_map(|o| ways.iter().filter_map(|(w, _)| o[*w].as_f64())).fold(1.0, f64::max);
    let x = |v: f64| left + width * ((v.max(0.1) / 0.1).log10() / (max / 0.1).log10());
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"11\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"18\" font-size=\"13\">Median µs per operation ({}; log scale; shorter is faster)</text>\n",
        left + width + 80.0,
        report["filesystem"].as_str().unwrap_or("?")
    );
    for (i, (w, color)) in ways.iter().enumerate() {
        s.push_str(&format!(
            "<rect x=\"{}\" y=\"28\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"37\">{w}</text>\n",
            left + i as f64 * 120.0,
            left + i as f64 * 120.0 + 14.0
        ));
    }
    for (gi, (name, o)) in ops.iter().enumerate() {
        let y0 = 50.0 + gi as f64 * group;
        s.push_str(&format!("<text x=\"10\" y=\"{}\">{name}</text>\n", y0 + group / 2.0));
        for (wi, (w, color)) in ways.iter().enumerate() {
            if let Some(v) = o[*w].as_f64() {
                let y = y0 + wi as f64 * bar;
                s.push_str(&format!(
                    "<rect x=\"{left}\" y=\"{y}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{v:.2}</text>\n",
                    x(v) - left,
                    bar - 1.0,
                    x(v) + 3.0,
                    y + bar - 2.0
                ));
            }
        }
    }
    s.push_str("</svg>\n");
    s
}
