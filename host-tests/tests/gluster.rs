//! Two hosts, one session directory on a real distributed filesystem (issue #12).
//!
//! `host-tests/gluster/gluster.sh` runs GlusterFS on loopback: one volume with the coherent
//! options and one with the defaults, each mounted twice. Each mount stands in for a
//! machine: a host is its own wasmtime `Runtime` whose instances preopen its own mount. On
//! both volumes the reliability suite's checks run across the two hosts:
//!
//! * exclusive create: exactly one winner per key;
//! * both hosts loading, saving, creating and deleting on shared keys: no torn or partial
//!   session, no session lost, no temporary file left;
//! * a session handed from one host to the other (a save, a new login, a logout), read at
//!   once by the other host: fresh, or stale;
//! * a logout on one host while the other saves (Django's #37249): the resurrection window;
//! * `clear-expired` on one host while the other serves: never a live session removed;
//! * transient errors are not logouts: loads and `exists` while the other host renames over
//!   the file (through both components), and every call while the volume's brick is down;
//! * clock skew (`common/skew.rs`, also run locally by `clock_skew.rs`).
//!
//! On the coherent volume every check asserts; on the default one the test measures what
//! goes wrong and asserts only what still holds (one winner per create, no torn read), so
//! that DEPLOYMENT.md can say which settings are required. Each check prints a
//! `RELIABILITY |` line (`host-tests/reliability-report.sh` puts them into RELIABILITY.md).
//!
//! The two tests take a machine-wide lock (one glusterd per machine), bring the bed up and
//! tear it down on drop, also when a check fails. They are skipped, with the reason printed,
//! only where GlusterFS is not installed, FUSE is unavailable or the user is not root.
//! `GLUSTER_SECS` sets the seconds each timed check runs (default 4; the figures in
//! RELIABILITY.md come from longer runs); `GLUSTER_CHECKS=renames,brick` runs only the
//! checks named (create, shared, handoff, logout, sweep, renames, async, brick, skew).

mod common;

use common::skew;
use common::stress::*;
use common::*;
use file_sessions_host::{Guest, HostError, Runtime, Tenant};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Barrier, OnceLock};
use std::time::{Duration, Instant};

// ---------------------------------------------------------------------------------------
// The test bed
// ---------------------------------------------------------------------------------------

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/gluster/gluster.sh");

/// The two volumes of the bed.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Volume {
    /// open-behind, quick-read and stat-prefetch off; mounts without attribute, entry or
    /// negative caching and without keeping the page cache across opens.
    Coherent,
    /// GlusterFS's defaults, default mounts.
    Default,
}

impl Volume {
    fn name(self) -> &'static str {
        match self {
            Volume::Coherent => "coherent",
            Volume::Default => "default",
        }
    }

    /// Whether every check must hold here (else it is measured).
    fn strict(self) -> bool {
        self == Volume::Coherent && std::env::var_os("GLUSTER_MEASURE").is_none()
    }
}

/// The bed, up while this lives: `down` on drop, also when a check panics.
struct Bed {
    state: PathBuf,
    _lock: std::fs::File,
}

impl Bed {
    /// Brings the bed up, or says why it cannot run here and returns `None`.
    fn up() -> Option<Bed> {
        let state = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gluster");
        let check = Command::new("bash").arg(SCRIPT).arg("check").arg(&state).output().unwrap();
        let why = String::from_utf8_lossy(&check.stdout).trim().to_owned();
        match check.status.code() {
            Some(0) => {}
            Some(3) => {
                eprintln!("SKIPPED: the GlusterFS two-host suite cannot run here: {why}");
                report("two hosts on GlusterFS", "skipped", &why.replace('|', "/"));
                return None;
            }
            _ => panic!("the GlusterFS test bed cannot run here: {why}"),
        }
        // One glusterd per machine: the other test (and other checkouts) wait here.
        let lock = std::fs::File::create(std::env::temp_dir().join("file-sessions-gluster.lock")).unwrap();
        lock.lock().unwrap();
        let bed = Bed { state, _lock: lock };
        let started = Instant::now();
        bed.script(&["up"]);
        eprintln!("gluster bed up in {:.1} s", started.elapsed().as_secs_f64());
        Some(bed)
    }

    fn script(&self, args: &[&str]) {
        let out = Command::new("bash").arg(SCRIPT).args(args).arg(&self.state).output().unwrap();
        assert!(
            out.status.success(),
            "gluster.sh {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// A fresh directory on `volume`, as each of the two mounts shows it.
    fn pair(&self, volume: Volume, check: &str) -> Pair {
        let name = format!("{check}-{:x}", Rng::new(Rng::seed()).next());
        let on = |side: &str| self.state.join("mnt").join(format!("{}-{side}", volume.name())).join(&name);
        let (a, b) = (on("a"), on("b"));
        std::fs::create_dir(&a).unwrap();
        // A default mount may cache the name's absence for a moment.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !b.is_dir() {
            assert!(Instant::now() < deadline, "{} never appeared on the other mount", b.display());
            std::thread::sleep(Duration::from_millis(20));
        }
        Pair { volume, a: Host::new("A", 0, a), b: Host::new("B", 1, b) }
    }
}

impl Drop for Bed {
    fn drop(&mut self) {
        let started = Instant::now();
        let out = Command::new("bash").arg(SCRIPT).arg("down").arg(&self.state).output();
        match out {
            Ok(o) if o.status.success() => {
                eprintln!("gluster bed down in {:.1} s", started.elapsed().as_secs_f64())
            }
            Ok(o) => eprintln!("gluster.sh down failed: {}", String::from_utf8_lossy(&o.stderr)),
            Err(e) => eprintln!("gluster.sh down did not run: {e}"),
        }
    }
}

/// One wasmtime `Runtime` (engine and linked component) per host.
fn runtimes() -> &'static [Runtime; 2] {
    static RUNTIMES: OnceLock<[Runtime; 2]> = OnceLock::new();
    RUNTIMES.get_or_init(|| [Runtime::new().unwrap(), Runtime::new().unwrap()])
}

/// A host: its runtime and its view of the shared directory (through its own mount).
struct Host {
    label: &'static str,
    runtime: &'static Runtime,
    tenant: Tenant,
    dir: PathBuf,
}

impl Host {
    fn new(label: &'static str, runtime: usize, dir: PathBuf) -> Host {
        Host { label, runtime: &runtimes()[runtime], tenant: Tenant::new(&dir, SECRET), dir }
    }

    fn guest(&self) -> Guest {
        self.runtime.instantiate(&self.tenant).unwrap_or_else(|e| panic!("host {}: instantiating: {e}", self.label))
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("sessionid{key}"))
    }
}

/// The two hosts of a check, on one directory of one volume.
struct Pair {
    volume: Volume,
    a: Host,
    b: Host,
}

impl Pair {
    /// Host A for even `i`, B for odd.
    fn host(&self, i: usize) -> &Host {
        if i.is_multiple_of(2) { &self.a } else { &self.b }
    }

    fn report(&self, check: &str, tried: &str, held: &str) {
        report(&format!("two hosts, GlusterFS {} volume: {check}", self.volume.name()), tried, held);
    }

    /// Asserts (coherent volume) or lets the figures speak (default volume).
    fn expect(&self, ok: bool, what: impl FnOnce() -> String) {
        if self.volume.strict() {
            assert!(ok, "{}", what());
        }
    }
}

/// Seconds each timed check runs.
fn secs() -> u64 {
    std::env::var("GLUSTER_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(4)
}

/// A loop's count for [`secs`]: `n` at the default 4 s, in proportion for longer runs.
fn scaled(n: u64) -> u64 {
    n.saturating_mul(secs().max(4)) / 4
}

/// A deadline: loops stop at their count or at this, whichever comes first.
struct Budget(Instant);

impl Budget {
    fn secs(s: u64) -> Budget {
        Budget(Instant::now() + Duration::from_secs(s))
    }
    fn left(&self) -> bool {
        Instant::now() < self.0
    }
}

/// A store error as `kind: detail`; a trap or a host error fails the test (the guest must
/// never trap, and the host's own calls are not what is measured).
fn call<T>(r: Result<T, HostError>) -> Result<T, String> {
    match r {
        Ok(v) => Ok(v),
        Err(HostError::Store(e)) => Err(format!("{}: {}", e.kind(), e.detail())),
        Err(e) => panic!("{e}"),
    }
}

/// Counts of what went wrong, by name.
#[derive(Default)]
struct Tally(BTreeMap<String, u64>);

impl Tally {
    fn add(&mut self, what: &str) {
        *self.0.entry(what.to_owned()).or_default() += 1;
    }
    fn get(&self, what: &str) -> u64 {
        self.0.get(what).copied().unwrap_or(0)
    }
    fn merge(&mut self, other: &Tally) {
        for (k, v) in &other.0 {
            *self.0.entry(k.clone()).or_default() += v;
        }
    }
    /// `name n, ...`, or `none`.
    fn list(&self) -> String {
        if self.0.is_empty() {
            return "none".into();
        }
        self.0.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
    }
}

/// An error's kind, for tallies (`io`, `update-error`, ...). Prints the error the first
/// time a kind is seen in this process, to see what went wrong.
fn kind_of(e: &str) -> String {
    static SEEN: std::sync::Mutex<Vec<String>> = std::sync::Mutex::new(Vec::new());
    let kind = e.split(':').next().unwrap_or(e).to_owned();
    let mut seen = SEEN.lock().unwrap();
    if !seen.contains(&kind) {
        eprintln!("first {kind} error: {e}");
        seen.push(kind.clone());
    }
    kind
}

// ---------------------------------------------------------------------------------------
// The tests: every check on each volume
// ---------------------------------------------------------------------------------------

#[test]
fn two_hosts_on_the_coherent_volume() {
    let Some(bed) = Bed::up() else { return };
    let started = Instant::now();
    run_checks(&bed, Volume::Coherent);
    if selected("brick") {
        brick_down_is_an_error_not_a_logout(&bed);
    }
    if selected("skew") {
        let p = bed.pair(Volume::Coherent, "skew");
        let runtimes = [&runtimes()[0], &runtimes()[1]];
        skew::check(&p.a.tenant, &p.b.tenant, runtimes, "two hosts, GlusterFS coherent volume");
    }
    eprintln!("coherent volume checks: {:.1} s", started.elapsed().as_secs_f64());
}

#[test]
fn two_hosts_on_the_default_volume() {
    let Some(bed) = Bed::up() else { return };
    let started = Instant::now();
    run_checks(&bed, Volume::Default);
    eprintln!("default volume checks: {:.1} s", started.elapsed().as_secs_f64());
}

/// A check on one pair of hosts.
type Check = fn(&Pair);

/// The checks each volume runs, by name (`GLUSTER_CHECKS=name,name` runs only those).
const CHECKS: [(&str, Check); 7] = [
    ("create", exclusive_create),
    ("shared", shared_keys),
    ("handoff", handoff),
    ("logout", logout_racing_a_save),
    ("sweep", sweep_while_serving),
    ("renames", loads_while_the_other_host_renames),
    ("async", async_twins_while_the_other_host_renames),
];

/// Whether `GLUSTER_CHECKS` (unset: all) selects a check.
fn selected(name: &str) -> bool {
    std::env::var("GLUSTER_CHECKS").map_or(true, |list| list.split(',').any(|n| n.trim() == name))
}

fn run_checks(bed: &Bed, volume: Volume) {
    for (name, check) in CHECKS {
        if selected(name) {
            check(&bed.pair(volume, name));
        }
    }
}

// ---------------------------------------------------------------------------------------
// Exclusive create
// ---------------------------------------------------------------------------------------

/// Two instances on each host call `save(must_create)` on the same new key at a barrier.
fn exclusive_create(p: &Pair) {
    const THREADS: usize = 4;
    let max_rounds = scaled(400);
    let seed = Rng::seed();
    let barrier = Barrier::new(THREADS);
    let budget = Budget::secs(secs());
    let stop = AtomicBool::new(false);
    let results: Vec<Vec<Result<(), String>>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (host, barrier, budget, stop) = (p.host(t), &barrier, &budget, &stop);
                sc.spawn(move || {
                    let mut g = host.guest();
                    let mut keys = Rng::new(seed); // the same keys in every thread
                    let mut out = Vec::new();
                    loop {
                        let s = g.session(Some(&keys.key())).unwrap();
                        g.clear(s).unwrap(); // data without loading, so the key is kept
                        g.set(s, "winner", &t.to_string()).unwrap();
                        barrier.wait();
                        out.push(call(g.save(s, true)));
                        g.drop_session(s).unwrap();
                        if t == 0 && (!budget.left() || out.len() as u64 == max_rounds) {
                            stop.store(true, Ordering::Relaxed);
                        }
                        barrier.wait();
                        if stop.load(Ordering::Relaxed) {
                            break out;
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let rounds = results[0].len();
    let mut keys = Rng::new(seed);
    let (mut bad_rounds, mut wrong_file, mut losers) = (0, 0, 0);
    let mut errors = Tally::default();
    for round in 0..rounds {
        let key = keys.key();
        let column: Vec<&Result<(), String>> = results.iter().map(|r| &r[round]).collect();
        let winners: Vec<usize> = (0..THREADS).filter(|&t| column[t].is_ok()).collect();
        for r in &column {
            match r {
                Err(e) if e.starts_with("create-error") => losers += 1,
                Err(e) => errors.add(&kind_of(e)),
                Ok(()) => {}
            }
        }
        if winners.len() != 1 {
            bad_rounds += 1;
        } else if on_disk(&p.a.file(&key)).ok().flatten() != Some(json!({"winner": winners[0]})) {
            wrong_file += 1;
        }
    }
    let temps = temps(&p.a.dir).len();
    // One winner holds even without coherence: the link is decided on the brick.
    assert_eq!(bad_rounds, 0, "rounds without exactly one winner");
    assert_eq!(errors.get("io"), 0, "{}", errors.list());
    p.expect(wrong_file == 0 && temps == 0, || format!("{wrong_file} files without the winner's data, {temps} temps"));
    assert!(rounds >= 20, "the time budget cut the run to {rounds} rounds");
    p.report(
        "exclusive create across hosts",
        &format!(
            "{rounds} rounds of 4 instances (2 on each host, each host its own runtime and mount) calling save(must_create) on the same new key at a barrier"
        ),
        &format!(
            "exactly 1 winner in each of the {rounds} rounds, {losers} create-error for the others, other errors: {}; {wrong_file} files not holding the winner's data as read on host A; {temps} temporary files",
            errors.list()
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Both hosts on shared keys
// ---------------------------------------------------------------------------------------

/// What one worker saw.
#[derive(Default)]
struct Seen {
    ops: u64,
    loads: u64,
    saves: u64,
    exists: u64,
    creates: u64,
    deletes: u64,
    own_loads: u64,
    /// What went wrong, by name.
    wrong: Tally,
    live: Vec<(String, Value)>,
}

/// Two workers per host (each its own instance) load, save and check the shared sessions,
/// and create, reload and delete their own.
fn shared_keys(p: &Pair) {
    const THREADS: usize = 4;
    const SHARED: usize = 8;
    let max_ops = scaled(3000);
    let shared = shared_sessions(&mut p.a.guest(), SHARED);
    let written = written_for(&shared);
    let budget = Budget::secs(secs());
    let seed = Rng::seed();
    let started = Instant::now();
    let seen: Vec<Seen> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (host, shared, written, budget) = (p.host(t), &shared, &written, &budget);
                sc.spawn(move || shared_keys_worker(host, t as u64, seed, shared, written, budget, max_ops))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a worker failed")).collect()
    });
    let elapsed = started.elapsed().as_secs_f64();
    let live: Vec<(String, Value)> = seen.iter().flat_map(|s| s.live.iter().cloned()).collect();
    let sum = |f: fn(&Seen) -> u64| seen.iter().map(f).sum::<u64>();
    let mut wrong = Tally::default();
    for s in &seen {
        wrong.merge(&s.wrong);
    }
    // Looked at through host B's mount: what the other machine sees at the end, once the
    // default volume's caches (1 s) have expired.
    if !p.volume.strict() {
        std::thread::sleep(Duration::from_secs(2));
    }
    let problems = final_directory_problems(&p.b.dir, &shared, &written, &live);
    p.expect(wrong.0.is_empty() && problems.is_empty(), || format!("{}; {problems:#?}", wrong.list()));
    assert_eq!(wrong.get("torn or foreign load"), 0, "a load returned a session nobody saved");
    assert!(sum(|s| s.ops) >= 100, "the time budget cut the run short");
    p.report(
        "both hosts on shared keys",
        &format!(
            "4 instances (2 per host) for {elapsed:.1} s (seed {seed:#x}): {} loads and {} exists of {SHARED} shared sessions, {} saves to them (a quarter compressed), {} creates, {} reloads and {} deletes of their own sessions",
            sum(|s| s.loads),
            sum(|s| s.exists),
            sum(|s| s.saves),
            sum(|s| s.creates),
            sum(|s| s.own_loads),
            sum(|s| s.deletes),
        ),
        &format!(
            "went wrong: {}; at the end, through host B's mount: {}",
            wrong.list(),
            if problems.is_empty() {
                format!("every shared session complete, {} own sessions intact, 0 temporary files", live.len())
            } else {
                problems.join("; ")
            }
        ),
    );
}

fn shared_keys_worker(
    host: &Host,
    t: u64,
    seed: u64,
    shared: &[String],
    written: &Written,
    budget: &Budget,
    max_ops: u64,
) -> Seen {
    let mut g = host.guest();
    let mut rng = Rng::new(seed ^ (t + 1).wrapping_mul(0x9e37_79b9));
    let mut seen = Seen::default();
    let mut seq = 0;
    while seen.ops < max_ops && budget.left() {
        seen.ops += 1;
        seq += 1;
        let k = shared[rng.below(shared.len() as u64) as usize].clone();
        match rng.below(100) {
            0..=34 => {
                seen.loads += 1;
                let s = g.session(Some(&k)).unwrap();
                match call(g.load(s)) {
                    Ok(v) if v == "{}" => seen.wrong.add("shared session loaded as {} (a logout)"),
                    Ok(v) if check_payload(&k, &json(&v)).is_err() => seen.wrong.add("torn or foreign load"),
                    Ok(_) => {}
                    Err(e) => seen.wrong.add(&format!("load {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
            35..=59 => {
                seen.saves += 1;
                let s = g.session(Some(&k)).unwrap();
                // Read first, as a request does: a save after a load that found nothing
                // would start a new session.
                match call(g.get(s, "key")) {
                    Ok(Some(_)) => {
                        g.update(s, &payload(&k, t, seq).to_string()).unwrap();
                        written.lock().unwrap().get_mut(&k).unwrap().insert((t, seq));
                        if let Err(e) = call(g.save(s, false)) {
                            seen.wrong.add(&format!("save {}", kind_of(&e)));
                        }
                    }
                    Ok(None) => seen.wrong.add("shared session loaded as {} (a logout)"),
                    Err(e) => seen.wrong.add(&format!("load {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
            60..=64 => {
                seen.exists += 1;
                let s = g.session(None).unwrap();
                match call(g.exists(s, &k)) {
                    Ok(true) => {}
                    Ok(false) => seen.wrong.add("exists false for a shared session"),
                    Err(e) => seen.wrong.add(&format!("exists {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
            65..=79 => {
                seen.creates += 1;
                let data = json!({"owner": t, "n": seq});
                let s = g.session(None).unwrap();
                g.update(s, &data.to_string()).unwrap();
                match call(g.create(s)) {
                    Ok(()) => seen.live.push((g.session_key(s).unwrap().unwrap(), data)),
                    Err(e) => seen.wrong.add(&format!("create {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
            80..=87 if !seen.live.is_empty() => {
                seen.deletes += 1;
                let (k, data) = seen.live.swap_remove(rng.below(seen.live.len() as u64) as usize);
                let s = g.session(None).unwrap();
                if let Err(e) = call(g.delete(s, Some(&k))) {
                    seen.wrong.add(&format!("delete {}", kind_of(&e)));
                    seen.live.push((k, data));
                }
                g.drop_session(s).unwrap();
            }
            _ if !seen.live.is_empty() => {
                seen.own_loads += 1;
                let (k, data) = &seen.live[rng.below(seen.live.len() as u64) as usize];
                let s = g.session(Some(k)).unwrap();
                match call(g.load(s)) {
                    Ok(v) if &json(&v) == data => {}
                    Ok(v) if v == "{}" => seen.wrong.add("own session loaded as {} (a logout)"),
                    Ok(_) => seen.wrong.add("torn or foreign load"),
                    Err(e) => seen.wrong.add(&format!("load {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
            _ => {}
        }
    }
    seen
}

// ---------------------------------------------------------------------------------------
// Hand-offs: what the other host reads right after a save, a login, a logout
// ---------------------------------------------------------------------------------------

/// One host logs in (create), saves in turns with the other, and logs out (delete); after
/// each step the other host loads at once, as the next request of the same browser would
/// when a load balancer sends it to the other machine.
fn handoff(p: &Pair) {
    let max_rounds = scaled(200);
    const SAVES: u64 = 4;
    let (mut a, mut b) = (p.a.guest(), p.b.guest());
    let budget = Budget::secs(secs());
    let mut wrong = Tally::default();
    let (mut rounds, mut saves, mut reads) = (0u64, 0u64, 0u64);
    // What `reader` loads for `key`: the value of "n", or None for {}.
    fn n_of(g: &mut Guest, key: &str) -> Result<Option<u64>, String> {
        let s = g.session(Some(key)).unwrap();
        let v = call(g.load(s)).map(|t| json(&t).get("n").and_then(Value::as_u64));
        g.drop_session(s).unwrap();
        v
    }
    while rounds < max_rounds && budget.left() {
        rounds += 1;
        let (first, second) = if rounds.is_multiple_of(2) { (&mut a, &mut b) } else { (&mut b, &mut a) };
        // A login on one host...
        let s = first.session(None).unwrap();
        first.set(s, "n", "0").unwrap();
        first.create(s).unwrap();
        let key = first.session_key(s).unwrap().unwrap();
        first.drop_session(s).unwrap();
        // ...seen by the other at once.
        reads += 1;
        match n_of(second, &key) {
            Ok(Some(0)) => {}
            Ok(None) => wrong.add("a new session read as {} on the other host (a logout)"),
            other => wrong.add(&format!("a new session read as {other:?}")),
        }
        // Saves in turns: each host loads (the other's last save must be there) and saves.
        let mut hosts = [first, second];
        for n in 1..=SAVES {
            let (writer, rest) = hosts.split_at_mut(1);
            let (writer, reader) =
                if n % 2 == 1 { (&mut *writer[0], &mut *rest[0]) } else { (&mut *rest[0], &mut *writer[0]) };
            let s = writer.session(Some(&key)).unwrap();
            match call(writer.get(s, "n")) {
                Ok(Some(v)) if v == (n - 1).to_string() => {}
                Ok(Some(_)) => wrong.add("stale load before a save (the save then loses an update)"),
                Ok(None) => wrong.add("{} before a save (a logout)"),
                Err(e) => wrong.add(&format!("load {}", kind_of(&e))),
            }
            // `set` loads the session first when `get` could not: a failed load is counted.
            if let Err(e) = call(writer.set(s, "n", &n.to_string())) {
                wrong.add(&format!("load {} (at the set)", kind_of(&e)));
                writer.drop_session(s).unwrap();
                continue;
            }
            match call(writer.save(s, false)) {
                Ok(()) => saves += 1,
                Err(e) => wrong.add(&format!("save {}", kind_of(&e))),
            }
            writer.drop_session(s).unwrap();
            reads += 1;
            match n_of(reader, &key) {
                Ok(Some(v)) if v == n => {}
                Ok(Some(_)) => wrong.add("stale load right after the other host's save"),
                Ok(None) => wrong.add("{} right after the other host's save (a logout)"),
                Err(e) => wrong.add(&format!("load {}", kind_of(&e))),
            }
        }
        // A logout on one host, seen by the other at once.
        let [first, second] = hosts;
        let s = first.session(None).unwrap();
        call(first.delete(s, Some(&key))).unwrap();
        first.drop_session(s).unwrap();
        reads += 1;
        match n_of(second, &key) {
            Ok(None) => {}
            Ok(Some(_)) => wrong.add("the session still loads on the other host after a logout"),
            Err(e) => wrong.add(&format!("load {}", kind_of(&e))),
        }
        // Whatever a stale view left behind, the next round starts clean.
        let _ = std::fs::remove_file(p.a.file(&key));
    }
    p.expect(wrong.0.is_empty(), || wrong.list());
    assert!(rounds >= 10, "the time budget cut the run to {rounds} rounds");
    p.report(
        "hand-offs between hosts",
        &format!(
            "{rounds} rounds: a create on one host, {SAVES} saves in turns (each host loading the other's save first), a delete; after each step the other host loads at once ({reads} loads, {saves} saves)"
        ),
        &format!("went wrong: {}", wrong.list()),
    );
}

// ---------------------------------------------------------------------------------------
// A logout on one host while the other saves (#37249)
// ---------------------------------------------------------------------------------------

/// Host A saves a loaded session while host B deletes it after a random delay spread over
/// the save, as `reliability.rs` measures on one host.
fn logout_racing_a_save(p: &Pair) {
    let max_rounds = scaled(300);
    let old = json!({"v": "old"});
    let new = json!({"v": "new"});
    let old_bytes = signer().dumps(&old, now_unix());
    let seed = Rng::seed();
    let keys: Vec<String> = {
        let mut r = Rng::new(seed);
        (0..max_rounds).map(|_| r.key()).collect()
    };
    // The median of a few saves, to spread the delete over one.
    let save_us = {
        let mut g = p.a.guest();
        let mut times: Vec<u64> = (0..9)
            .map(|i| {
                let k = &keys[i];
                std::fs::write(p.a.file(k), &old_bytes).unwrap();
                let s = g.session(Some(k)).unwrap();
                g.set(s, "v", "\"new\"").unwrap();
                let t = Instant::now();
                g.save(s, false).unwrap();
                let us = t.elapsed().as_micros() as u64;
                std::fs::remove_file(p.a.file(k)).unwrap();
                us
            })
            .collect();
        times.sort_unstable();
        times[4].clamp(50, 100_000)
    };
    let barrier = Barrier::new(2);
    let budget = Budget::secs(secs());
    let stop = AtomicBool::new(false);
    let saves: Vec<Result<(), String>> = std::thread::scope(|sc| {
        let saver = sc.spawn(|| {
            let mut g = p.a.guest();
            let mut out = Vec::new();
            for k in &keys {
                std::fs::write(p.a.file(k), &old_bytes).unwrap();
                let s = g.session(Some(k)).unwrap();
                g.set(s, "v", "\"new\"").unwrap(); // loaded, changed
                barrier.wait();
                out.push(call(g.save(s, false)));
                g.drop_session(s).unwrap();
                if !budget.left() {
                    stop.store(true, Ordering::Relaxed);
                }
                barrier.wait();
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            out
        });
        sc.spawn(|| {
            let mut g = p.b.guest();
            let s = g.session(None).unwrap();
            let mut rng = Rng::new(seed ^ 1);
            for k in &keys {
                barrier.wait();
                let delay = rng.below(save_us * 3 / 2);
                let t = Instant::now();
                while (t.elapsed().as_micros() as u64) < delay {
                    std::hint::spin_loop();
                }
                g.delete(s, Some(k)).unwrap();
                barrier.wait();
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
        });
        saver.join().unwrap()
    });
    let mut outcomes = Tally::default();
    for (i, r) in saves.iter().enumerate() {
        // Read through host B's mount, the one that deleted.
        let file = on_disk(&p.b.file(&keys[i])).unwrap();
        outcomes.add(&match race_outcome(r, &file, &new) {
            Some(RaceOutcome::Refused) => "refused with update-error".to_owned(),
            Some(RaceOutcome::Resurrected) => "resurrected".to_owned(),
            Some(RaceOutcome::DeletedAfter) => "deleted after the save".to_owned(),
            None => format!(
                "unexplained (save {}, then the file {})",
                r.as_ref().map_or_else(|e| kind_of(e), |()| "ok".to_owned()),
                match &file {
                    None => "gone",
                    Some(v) if v == &old => "old",
                    Some(v) if v == &new => "new",
                    Some(_) => "other",
                }
            ),
        });
    }
    let rounds = saves.len();
    let temps = temps(&p.a.dir).len();
    let unexplained: u64 = outcomes.0.iter().filter(|(k, _)| k.starts_with("unexplained")).map(|(_, v)| v).sum();
    p.expect(unexplained == 0 && temps == 0, || format!("{}; {temps} temps", outcomes.list()));
    assert!(rounds >= 20, "the time budget cut the run to {rounds} rounds");
    let resurrected = outcomes.get("resurrected");
    p.report(
        "logout on one host while the other saves (#37249 window)",
        &format!(
            "{rounds} rounds: host A saves a loaded session while host B deletes it after a random delay spread over 1.5 saves (a save takes about {:.1} ms here, seed {seed:#x})",
            save_us as f64 / 1000.0
        ),
        &format!(
            "{} ({:.1}% resurrected, so the window is about {:.1} ms of wall time); {temps} temporary files",
            outcomes.list(),
            100.0 * resurrected as f64 / rounds as f64,
            resurrected as f64 / rounds as f64 * (save_us * 3 / 2) as f64 / 1000.0
        ),
    );
}

// ---------------------------------------------------------------------------------------
// clear-expired on one host while the other serves
// ---------------------------------------------------------------------------------------

/// Host B sweeps in a loop while host A loads and saves live sessions, creates new ones
/// and leaves expired ones (files aged past the cookie age) for the sweep.
fn sweep_while_serving(p: &Pair) {
    const LIVE: usize = 12;
    let max_rounds = scaled(400);
    let mut a = p.a.guest();
    let create = |g: &mut Guest, data: &Value| {
        let s = g.session(None).unwrap();
        g.update(s, &data.to_string()).unwrap();
        g.create(s).unwrap();
        let k = g.session_key(s).unwrap().unwrap();
        g.drop_session(s).unwrap();
        k
    };
    let aged = |k: &str| age_file(&p.a.file(k), 15 * 24 * 3600);
    let mut live: Vec<(String, Value)> =
        (0..LIVE).map(|i| json!({"live": i, "n": 0})).map(|d| (create(&mut a, &d), d)).collect();
    let mut expired: Vec<String> = (0..LIVE).map(|i| create(&mut a, &json!({"expired": i}))).collect();
    expired.iter().for_each(|k| aged(k));
    let budget = Budget::secs(secs());
    let done = AtomicBool::new(false);
    let sweeps = AtomicU64::new(0);
    let mut wrong = Tally::default();
    let mut rounds = 0;
    let swept = std::thread::scope(|sc| {
        let sweeper = sc.spawn(|| {
            let mut g = p.b.guest();
            let mut removed = 0;
            let mut errors = Tally::default();
            while !done.load(Ordering::Relaxed) {
                match call(g.clear_expired()) {
                    Ok(r) => removed += r.expired_sessions,
                    Err(e) => errors.add(&format!("clear-expired {}", kind_of(&e))),
                }
                sweeps.fetch_add(1, Ordering::Relaxed);
            }
            (removed, errors)
        });
        while rounds < max_rounds && budget.left() {
            rounds += 1;
            let i = (rounds as usize) % live.len();
            let (k, data) = live[i].clone();
            let s = a.session(Some(&k)).unwrap();
            match call(a.load(s)) {
                Ok(v) if json(&v) == data => {
                    let next = json!({"live": data["live"], "n": rounds});
                    a.update(s, &next.to_string()).unwrap();
                    match call(a.save(s, false)) {
                        Ok(()) => live[i].1 = next,
                        Err(e) => wrong.add(&format!("save {}", kind_of(&e))),
                    }
                }
                Ok(v) if v == "{}" => wrong.add("a live session loaded as {} (removed by the sweep?)"),
                Ok(_) => wrong.add("a live session loaded with other data"),
                Err(e) => wrong.add(&format!("load {}", kind_of(&e))),
            }
            a.drop_session(s).unwrap();
            // New sessions keep coming, live ones and ones that expire at once.
            if rounds.is_multiple_of(4) {
                let d = json!({"live": 1000 + rounds, "n": 0});
                live.push((create(&mut a, &d), d));
                let k = create(&mut a, &json!({"expired": rounds}));
                aged(&k);
                expired.push(k);
            }
        }
        done.store(true, Ordering::Relaxed);
        sweeper.join().unwrap()
    });
    let (removed_during, sweep_errors) = swept;
    wrong.merge(&sweep_errors);
    // A last sweep, after the serving stopped, takes what is left of the expired ones.
    let last = call(p.b.guest().clear_expired()).unwrap();
    let left: Vec<&String> = expired.iter().filter(|k| p.b.file(k).exists()).collect();
    let problems = final_directory_problems(&p.b.dir, &[], &written_for(&[]), &live);
    p.expect(wrong.0.is_empty() && problems.is_empty() && left.is_empty(), || {
        format!("{}; {problems:#?}; {} expired left", wrong.list(), left.len())
    });
    p.report(
        "clear-expired on one host while the other serves",
        &format!(
            "host B swept {} times while host A made {rounds} load+save rounds over {} live sessions (created as it went) and created {} sessions aged past the cookie age",
            sweeps.load(Ordering::Relaxed),
            live.len(),
            expired.len()
        ),
        &format!(
            "went wrong: {}; {removed_during} expired removed during the run and {} by a last sweep, {} left; at the end: {}",
            wrong.list(),
            last.expired_sessions,
            left.len(),
            if problems.is_empty() { "every live session holding its last save".to_owned() } else { problems.join("; ") }
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Transient errors are not logouts
// ---------------------------------------------------------------------------------------

/// Host B saves one session in a loop (each save renames a new file over it) while host A
/// loads it and asks whether it exists: the rename makes A's open or fstat fail now and
/// then (`ESTALE`), which must never read as "no session".
fn loads_while_the_other_host_renames(p: &Pair) {
    let max_loads = scaled(5000);
    let key = shared_sessions(&mut p.a.guest(), 1).remove(0);
    let done = AtomicBool::new(false);
    let budget = Budget::secs(secs());
    let mut g = p.a.guest();
    let mut wrong = Tally::default();
    let (mut loads, mut exists) = (0u64, 0u64);
    let (saves, save_errors) = std::thread::scope(|sc| {
        let saver = sc.spawn(|| {
            let mut g = p.b.guest();
            let (mut n, mut errors) = (0u64, Tally::default());
            while !done.load(Ordering::Relaxed) {
                n += 1;
                let s = g.session(Some(&key)).unwrap();
                g.clear(s).unwrap(); // no load: B only renames over the file
                g.update(s, &payload(&key, 1, n).to_string()).unwrap();
                if let Err(e) = call(g.save(s, false)) {
                    errors.add(&format!("save {}", kind_of(&e)));
                }
                g.drop_session(s).unwrap();
            }
            (n, errors)
        });
        while loads < max_loads && budget.left() {
            let s = g.session(Some(&key)).unwrap();
            loads += 1;
            match call(g.load(s)) {
                Ok(v) if v == "{}" => wrong.add("load {} (a logout)"),
                Ok(v) if check_payload(&key, &json(&v)).is_err() => wrong.add("torn load"),
                Ok(_) => {}
                Err(e) => wrong.add(&format!("load {}", kind_of(&e))),
            }
            g.drop_session(s).unwrap();
            if loads.is_multiple_of(4) {
                exists += 1;
                let s = g.session(None).unwrap();
                match call(g.exists(s, &key)) {
                    Ok(true) => {}
                    Ok(false) => wrong.add("exists false"),
                    Err(e) => wrong.add(&format!("exists {}", kind_of(&e))),
                }
                g.drop_session(s).unwrap();
            }
        }
        done.store(true, Ordering::Relaxed);
        saver.join().unwrap()
    });
    assert_eq!(wrong.get("torn load"), 0);
    p.expect(wrong.0.is_empty() && save_errors.0.is_empty(), || format!("{}; {}", wrong.list(), save_errors.list()));
    assert!(loads >= 50, "the time budget cut the run to {loads} loads");
    p.report(
        "loads while the other host renames over the session",
        &format!("host A: {loads} loads and {exists} exists of one session while host B saved it {saves} times"),
        &format!("went wrong: {}; host B's saves: {} errors", wrong.list(), save_errors.0.values().sum::<u64>()),
    );
}

/// The async component on host A (`aload`, `aexists`, and `aclear-expired` now and then)
/// while host B saves one session in a loop: the same retries in the async core, and the
/// sweep over WASI 0.3 while files come and go.
fn async_twins_while_the_other_host_renames(p: &Pair) {
    let max_loads = scaled(3000);
    let key = shared_sessions(&mut p.a.guest(), 1).remove(0);
    let live = shared_sessions(&mut p.a.guest(), 4);
    let expired = shared_sessions(&mut p.a.guest(), 4);
    expired.iter().for_each(|k| age_file(&p.a.file(k), 15 * 24 * 3600));
    let done = AtomicBool::new(false);
    let executor = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    executor.block_on(async_runtime().instantiate(&p.a.tenant)).unwrap(); // compiled before the clock starts
    let budget = Budget::secs(secs());
    let mut wrong = Tally::default();
    let (mut loads, mut sweeps) = (0u64, 0u64);
    let saves = std::thread::scope(|sc| {
        let saver = sc.spawn(|| {
            let mut g = p.b.guest();
            let mut n = 0u64;
            while !done.load(Ordering::Relaxed) {
                n += 1;
                let s = g.session(Some(&key)).unwrap();
                g.clear(s).unwrap();
                g.update(s, &payload(&key, 1, n).to_string()).unwrap();
                call(g.save(s, false)).unwrap();
                g.drop_session(s).unwrap();
            }
            n
        });
        executor.block_on(async {
            let mut g = async_runtime().instantiate(&p.a.tenant).await.unwrap();
            while loads < max_loads && budget.left() {
                loads += 1;
                let s = g.session(Some(&key)).await.unwrap();
                match call(g.aload(s).await) {
                    Ok(v) if v == "{}" => wrong.add("aload {} (a logout)"),
                    Ok(v) if check_payload(&key, &json(&v)).is_err() => wrong.add("torn aload"),
                    Ok(_) => {}
                    Err(e) => wrong.add(&format!("aload {}", kind_of(&e))),
                }
                match call(g.aexists(s, &key).await) {
                    Ok(true) => {}
                    Ok(false) => wrong.add("aexists false"),
                    Err(e) => wrong.add(&format!("aexists {}", kind_of(&e))),
                }
                g.drop_session(s).await.unwrap();
                if loads.is_multiple_of(20) {
                    sweeps += 1;
                    if let Err(e) = call(g.aclear_expired().await) {
                        wrong.add(&format!("aclear-expired {}", kind_of(&e)));
                    }
                }
            }
        });
        done.store(true, Ordering::Relaxed);
        saver.join().unwrap()
    });
    let swept_live = live.iter().filter(|k| !p.b.file(k).exists()).count();
    assert_eq!(swept_live, 0, "the async sweep removed live sessions");
    let expired_left = expired.iter().filter(|k| p.b.file(k).exists()).count();
    p.expect(expired_left == 0, || format!("{expired_left} expired sessions outlived {sweeps} sweeps"));
    assert_eq!(wrong.get("torn aload"), 0);
    p.expect(wrong.0.is_empty(), || wrong.list());
    assert!(loads >= 50, "the time budget cut the run to {loads} loads");
    p.report(
        "the async component while the other host renames over the session",
        &format!(
            "host A's async instance: {loads} aload + aexists of one session and {sweeps} aclear-expired while host B saved it {saves} times (each save a temporary file created and renamed)"
        ),
        &format!("went wrong: {}; 0 of 4 live sessions swept, {expired_left} of 4 expired ones left", wrong.list()),
    );
}

/// Every call of a host whose volume's brick is down: an `io` error, never an answer that
/// the session is gone (`{}`, `false`, a new key); once the brick is back, all is there.
fn brick_down_is_an_error_not_a_logout(bed: &Bed) {
    let p = bed.pair(Volume::Coherent, "brick");
    let mut g = p.a.guest(); // a live instance: its preopen is open before the outage
    let shared = shared_sessions(&mut g, 2);
    let (key, other) = (&shared[0], &shared[1]);
    let before = on_disk(&p.a.file(key)).unwrap();
    bed.script(&["brick-stop", "coherent"]);
    let outage = Instant::now();
    let mut first = None;
    let mut io = |what: &str, r: Result<String, String>| match r {
        Err(e) if e.starts_with("io") => {
            first.get_or_insert(e);
        }
        other => panic!("{what} with the brick down: expected an io error, got {other:?}"),
    };
    let s = g.session(Some(key)).unwrap();
    io("load", call(g.load(s)));
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(key.as_str()), "the failed load dropped the key");
    io("exists", call(g.exists(s, key)).map(|b| b.to_string()));
    let t = g.session(Some(key)).unwrap();
    g.clear(t).unwrap();
    g.set(t, "during", "true").unwrap();
    io("save", call(g.save(t, false)).map(|()| "saved".into()));
    let n = g.session(None).unwrap();
    io("create", call(g.create(n)).map(|()| "created".into()));
    io("delete", call(g.delete(s, Some(other))).map(|()| "deleted".into()));
    io("clear-expired", call(g.clear_expired()).map(|r| format!("{r:?}")));
    let outage_ms = outage.elapsed().as_millis();
    bed.script(&["brick-start", "coherent"]);
    assert_eq!(on_disk(&p.a.file(key)).unwrap(), before, "the session changed during the outage");
    assert!(p.a.file(other).exists(), "the failed delete removed the file");
    let s = g.session(Some(key)).unwrap();
    check_payload(key, &json(&g.load(s).unwrap())).unwrap();
    report(
        "two hosts, GlusterFS coherent volume: the brick down",
        "the volume's only brick process stopped under a live instance on host A: load, exists, save, create, delete and clear-expired; then the brick started again",
        &format!(
            "each call returned io ({outage_ms} ms for all six, retries included; the first: {}), never {{}}, false or a new key; the load kept the session key; afterwards the session loaded unchanged and the file the failed delete aimed at was still there",
            first.unwrap_or_default().replace('|', "/")
        ),
    );
}
