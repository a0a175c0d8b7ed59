//! The async component under concurrency: many `asave`/`aload` calls in flight at once,
//! in one instance (one `run`, many session resources) and across instances (each driven
//! by its own tokio task) on one directory, lose nothing and never read a partial file.
//!
//! Every session holds one self-checking payload under `"p"` (its key, its writer, a
//! sequence number and filler determined by the two, over 1 KiB and so stored compressed
//! every fourth save). A load must return exactly one complete payload for the key it
//! asked for, never `{}` for a session that exists, never older than a save that had
//! finished before the load began and never newer than a save that had begun. At the end
//! every session file is on disk, verifies natively, holds the last value saved, and the
//! directory holds nothing else (no `*_out_*` temporary file).
//!
//! Every test prints `RELIABILITY | <check> | <what was tried> | <what held>` to stderr,
//! as `reliability.rs` does. Figures are reported, never asserted as timings.

mod common;

use common::stress::*;
use common::*;
use file_sessions_host::twins::{AsyncGuest, Twins};
use file_sessions_host::{HostError, HostState, SessionHandle, StoreError, Tenant};
use futures::future::join_all;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use wasmtime::component::Accessor;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// The whole session data of a session holding `payload(key, writer, seq)`.
fn data(key: &str, writer: u64, seq: u64) -> Value {
    json!({"p": payload(key, writer, seq)})
}

/// Checks loaded session data is exactly `{"p": <complete payload for key>}`.
fn check_data(key: &str, text: &str) -> Result<(u64, u64), String> {
    let v: Value = serde_json::from_str(text).map_err(|e| format!("invalid JSON for {key}: {e}: {text}"))?;
    let obj = v.as_object().ok_or_else(|| format!("not an object for {key}: {text}"))?;
    if obj.is_empty() {
        return Err(format!("{key} loaded as {{}} although the session exists"));
    }
    if obj.len() != 1 {
        return Err(format!("{key}: unexpected keys in {}", text.chars().take(200).collect::<String>()));
    }
    check_payload(key, obj.get("p").ok_or_else(|| format!("{key}: no \"p\" in {text}"))?)
}

/// A failed call, with what was being done.
fn fail(what: impl std::fmt::Display, e: HostError) -> String {
    format!("{what}: {e}")
}

/// The saves of one session, as its only writer makes them (one after the other): the
/// sequence number of the last save begun and of the last save finished. A load begun
/// after `completed` was read must see at least that; a load can never see more than
/// `attempted` read after it.
#[derive(Default)]
struct Progress {
    attempted: AtomicU64,
    completed: AtomicU64,
}

/// Loads `key` through a fresh resource and checks it against its writer's progress.
/// Returns the resource (dropped after the run) and the sequence number seen.
async fn load_checked(
    a: &Accessor<HostState>,
    t: &Twins<'_>,
    key: &str,
    writer: u64,
    progress: &Progress,
    who: &str,
) -> Result<(SessionHandle, u64), String> {
    let floor = progress.completed.load(Ordering::SeqCst);
    let r = t.session(a, Some(key.to_owned())).await.map_err(|e| fail(format!("{who}: opening {key}"), e))?;
    let text = t.aload(a, r).await.map_err(|e| fail(format!("{who}: aload of {key}"), e))?;
    let ceiling = progress.attempted.load(Ordering::SeqCst);
    let (w, seq) = check_data(key, &text).map_err(|e| format!("{who}: {e}"))?;
    if w != writer {
        return Err(format!("{who}: {key} holds writer {w}'s payload; only {writer} writes it"));
    }
    if seq < floor {
        return Err(format!("{who}: {key} loaded seq {seq} after save {floor} had finished (a lost or stale save)"));
    }
    if seq > ceiling {
        return Err(format!("{who}: {key} loaded seq {seq}, but only {ceiling} saves were begun"));
    }
    Ok((r, seq))
}

/// Creates a session holding `data(key, writer, 0)`; returns the resource and its key.
async fn create_session(
    a: &Accessor<HostState>,
    t: &Twins<'_>,
    writer: u64,
) -> Result<(SessionHandle, String), String> {
    let who = format!("writer {writer}");
    let s = t.session(a, None).await.map_err(|e| fail(format!("{who}: new session"), e))?;
    t.acreate(a, s).await.map_err(|e| fail(format!("{who}: acreate"), e))?;
    let key = t
        .session_key(a, s)
        .await
        .map_err(|e| fail(format!("{who}: session_key"), e))?
        .ok_or_else(|| format!("{who}: no key after acreate"))?;
    t.aset(a, s, "p", &payload(&key, writer, 0).to_string()).await.map_err(|e| fail(format!("{who}: aset"), e))?;
    t.asave(a, s, false).await.map_err(|e| fail(format!("{who}: asave of {key}"), e))?;
    Ok((s, key))
}

/// One round of a session's only writer: `aset` + `asave` of the next payload, then an
/// `aload` through the same resource, which must give exactly what was saved.
async fn save_round(
    a: &Accessor<HostState>,
    t: &Twins<'_>,
    s: SessionHandle,
    key: &str,
    writer: u64,
    seq: u64,
    progress: &Progress,
) -> Result<(), String> {
    let who = format!("writer {writer}, round {seq}");
    progress.attempted.store(seq, Ordering::SeqCst);
    t.aset(a, s, "p", &payload(key, writer, seq).to_string()).await.map_err(|e| fail(format!("{who}: aset"), e))?;
    t.asave(a, s, false).await.map_err(|e| fail(format!("{who}: asave of {key}"), e))?;
    progress.completed.store(seq, Ordering::SeqCst);
    let text = t.aload(a, s).await.map_err(|e| fail(format!("{who}: own aload of {key}"), e))?;
    let got: Value = serde_json::from_str(&text).map_err(|e| format!("{who}: invalid JSON: {e}"))?;
    if got != data(key, writer, seq) {
        return Err(format!(
            "{who}: own aload of {key} right after its save gave {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    Ok(())
}

/// The directory holds exactly the files of `keys`, and no temporary file.
fn check_directory_holds_exactly(env: &Env, keys: impl IntoIterator<Item = String>) {
    assert_eq!(temps(env.path()), Vec::<String>::new(), "temporary files left behind");
    let mut expected: Vec<String> = keys.into_iter().map(|k| format!("sessionid{k}")).collect();
    expected.sort();
    assert_eq!(env.files(), expected, "the directory holds exactly the sessions (nothing lost, nothing extra)");
}

/// Counts calls in flight (reported, not asserted).
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl Gauge {
    async fn track<F: Future>(&self, f: F) -> F::Output {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(n, Ordering::SeqCst);
        let out = f.await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        out
    }
}

/// Lists the directory over and over on a thread of its own while a test runs: the most
/// temporary files seen at once, i.e. how many saves were in progress together (reported,
/// not asserted: it depends on timing).
struct TempSampler {
    stop: Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<(u64, usize)>,
}

impl TempSampler {
    fn start(dir: &Path) -> TempSampler {
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (flag, dir) = (stop.clone(), dir.to_path_buf());
        let thread = std::thread::spawn(move || {
            let (mut samples, mut max) = (0u64, 0usize);
            while !flag.load(Ordering::SeqCst) {
                // Entries can vanish between the listing and the look: ignore errors.
                if let Ok(entries) = std::fs::read_dir(&dir) {
                    let n =
                        entries.filter_map(Result::ok).filter(|e| is_temp(&e.file_name().to_string_lossy())).count();
                    max = max.max(n);
                    samples += 1;
                }
            }
            (samples, max)
        });
        TempSampler { stop, thread }
    }

    fn stop(self) -> (u64, usize) {
        self.stop.store(true, Ordering::SeqCst);
        self.thread.join().expect("the sampler thread")
    }
}

// ---------------------------------------------------------------------------------------
// One instance, many calls in flight
// ---------------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn one_instance_many_concurrent_asave_and_aload() {
    const SESSIONS: usize = 64;
    const ROUNDS: u64 = 12;
    const CROSS: usize = 3; // loads of other sessions per round
    let env = Env::new();
    let mut g = env.async_guest().await;
    let seed = Rng::seed();
    let progress: Vec<Progress> = (0..SESSIONS).map(|_| Progress::default()).collect();
    let gauge = Gauge::default();
    let sampler = TempSampler::start(env.path());
    let started = Instant::now();

    let outcome = g
        .run(async |a, t| -> Result<_, String> {
            // Phase 1: every session created and given its first payload, all at once.
            let created = join_all((0..SESSIONS).map(|i| gauge.track(create_session(a, t, i as u64)))).await;
            let created: Vec<(SessionHandle, String)> = created.into_iter().collect::<Result<_, _>>()?;
            let keys: Vec<String> = created.iter().map(|(_, k)| k.clone()).collect();

            // Phase 2: every session saves round after round, and loads itself and others,
            // all sessions at once.
            let workers = created.iter().enumerate().map(|(i, (s, key))| {
                let (progress, gauge, keys) = (&progress, &gauge, &keys);
                async move {
                    let mut rng = Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9));
                    let mut readers = Vec::new();
                    let mut cross_loads = 0u64;
                    for seq in 1..=ROUNDS {
                        gauge.track(save_round(a, t, *s, key, i as u64, seq, &progress[i])).await?;
                        // Loads of other sessions, several at a time, while everyone saves.
                        let picks: Vec<usize> =
                            (0..CROSS).map(|_| (i + 1 + rng.below(SESSIONS as u64 - 1) as usize) % SESSIONS).collect();
                        let who = format!("session {i}, round {seq}");
                        let loads = picks
                            .iter()
                            .map(|&j| gauge.track(load_checked(a, t, &keys[j], j as u64, &progress[j], &who)));
                        for r in join_all(loads).await {
                            readers.push(r?.0);
                            cross_loads += 1;
                        }
                    }
                    Ok::<_, String>((readers, cross_loads))
                }
            });
            let mut readers = Vec::new();
            let mut cross_loads = 0;
            let mut errors = Vec::new();
            for r in join_all(workers).await {
                match r {
                    Ok((rs, n)) => {
                        readers.extend(rs);
                        cross_loads += n;
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(format!("{} of {SESSIONS} sessions failed; first: {}", errors.len(), errors[0]));
            }
            Ok((created, readers, cross_loads))
        })
        .await
        .expect("the run trapped");
    let elapsed = started.elapsed();
    let (samples, max_temps) = sampler.stop();
    let (created, readers, cross_loads) = outcome.unwrap_or_else(|e| panic!("{e}"));

    for s in readers.iter().chain(created.iter().map(|(s, _)| s)) {
        g.drop_session(*s).await.expect("dropping a session resource");
    }

    // Nothing lost: every session's file holds its last save, verified natively.
    let keys: Vec<String> = created.iter().map(|(_, k)| k.clone()).collect();
    let distinct: HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), SESSIONS, "two concurrent acreate calls handed out the same key");
    for (i, key) in keys.iter().enumerate() {
        let v = on_disk(&env.session_file(key)).unwrap_or_else(|e| panic!("session {i} ({key}): {e}"));
        assert_eq!(v, Some(data(key, i as u64, ROUNDS)), "session {i} ({key}) does not hold its last save");
    }
    check_directory_holds_exactly(&env, keys);

    let saves = SESSIONS as u64 * (ROUNDS + 1);
    report(
        "async: one instance, many calls in flight",
        &format!(
            "one instance, one run, {SESSIONS} sessions created at once, then {ROUNDS} rounds each of aset + asave + own aload and {CROSS} concurrent aloads of other sessions (seed {seed:#x}): {saves} saves (a quarter compressed), {} own loads, {cross_loads} cross loads, up to {} calls in flight on the host side, up to {max_temps} temporary files seen at once in {samples} directory listings (saves overlapping inside the one instance), {:.1} s",
            SESSIONS as u64 * ROUNDS,
            gauge.max.load(Ordering::SeqCst),
            elapsed.as_secs_f64(),
        ),
        &format!(
            "every load complete (0 partial, 0 empty, 0 older than a finished save); {SESSIONS} distinct keys; every file verifies and holds its last save; 0 temporary files"
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Many instances on one directory
// ---------------------------------------------------------------------------------------

/// Sessions whose files exist, published by whichever instance created them.
type Published = Mutex<Vec<(String, u64, Arc<Progress>)>>;

#[derive(Default, Debug)]
struct InstanceTally {
    own_saves: u64,
    cross_loads: u64,
    shared_loads: u64,
    shared_saves: u64,
    update_errors: u64,
}

struct Shared {
    shared: Vec<String>,
    written: Written,
    published: Published,
}

const OWN: usize = 8;
const OWN_ROUNDS: u64 = 8;
const SHARED_WORKERS: usize = 3; // per instance, per shared session
const SHARED_ROUNDS: u64 = 6;

/// Writer ids: own sessions `instance * 100 + n`, shared-session workers above 10 000.
fn shared_writer(instance: u64, worker: usize, key_index: usize) -> u64 {
    10_000 + instance * 100 + (key_index * SHARED_WORKERS + worker) as u64
}

/// One instance's work, all inside one `run`: its own sessions (created, saved round after
/// round, cross-loading every instance's sessions) and workers on the shared sessions
/// (load, check, set, save), everything at once.
async fn instance_work(
    instance: u64,
    mut g: AsyncGuest,
    common: Arc<Shared>,
    seed: u64,
) -> Result<(InstanceTally, Vec<(String, u64)>), String> {
    let gauge = Gauge::default();
    let outcome = g
        .run(async |a, t| -> Result<_, String> {
            let mut tally = InstanceTally::default();
            let common = &*common;
            // Own sessions, created at once and published once they hold a payload.
            let created =
                join_all((0..OWN).map(|n| gauge.track(create_session(a, t, instance * 100 + n as u64)))).await;
            let created: Vec<(SessionHandle, String)> = created.into_iter().collect::<Result<_, _>>()?;
            let progress: Vec<Arc<Progress>> = (0..OWN).map(|_| Arc::new(Progress::default())).collect();
            {
                let mut p = common.published.lock().unwrap();
                for (n, (_, key)) in created.iter().enumerate() {
                    p.push((key.clone(), instance * 100 + n as u64, progress[n].clone()));
                }
            }

            let own = created.iter().enumerate().map(|(n, (s, key))| {
                let (progress, gauge) = (&progress, &gauge);
                async move {
                    let writer = instance * 100 + n as u64;
                    let mut rng = Rng::new(seed ^ writer.wrapping_mul(0x9e37_79b9) ^ 0x5555);
                    let mut handles = Vec::new();
                    let mut cross = 0u64;
                    for seq in 1..=OWN_ROUNDS {
                        gauge.track(save_round(a, t, *s, key, writer, seq, &progress[n])).await?;
                        // Two sessions of any instance (possibly this one), by now published.
                        let picks: Vec<(String, u64, Arc<Progress>)> = {
                            let p = common.published.lock().unwrap();
                            (0..2).map(|_| p[rng.below(p.len() as u64) as usize].clone()).collect()
                        };
                        let who = format!("instance {instance}, writer {writer}, round {seq}");
                        let loads = picks.iter().map(|(k, w, pr)| gauge.track(load_checked(a, t, k, *w, pr, &who)));
                        for r in join_all(loads).await {
                            handles.push(r?.0);
                            cross += 1;
                        }
                    }
                    Ok::<_, String>((handles, cross))
                }
            });

            let shared_workers = (0..common.shared.len()).flat_map(|ki| {
                let gauge = &gauge;
                (0..SHARED_WORKERS).map(move |w| async move {
                    let key = &common.shared[ki];
                    let writer = shared_writer(instance, w, ki);
                    let mut handles = Vec::new();
                    let (mut loads, mut saves, mut update_errors) = (0u64, 0u64, 0u64);
                    for seq in 1..=SHARED_ROUNDS {
                        let who = format!("instance {instance}, shared writer {writer} on {key}, round {seq}");
                        let r = gauge.track(async {
                            let s = t.session(a, Some(key.clone())).await.map_err(|e| fail(&who, e))?;
                            // Read it first, as a request does: a complete payload someone saved.
                            let text = t.aload(a, s).await.map_err(|e| fail(format!("{who}: aload"), e))?;
                            let author = check_data(key, &text).map_err(|e| format!("{who}: {e}"))?;
                            if !common.written.lock().unwrap()[key].contains(&author) {
                                return Err(format!("{who}: loaded {author:?}, which nobody saved"));
                            }
                            let current =
                                t.aget_or(a, s, "p", None).await.map_err(|e| fail(format!("{who}: aget"), e))?;
                            let current = current.ok_or_else(|| format!("{who}: aget(\"p\") found nothing"))?;
                            let p: Value = serde_json::from_str(&current).map_err(|e| format!("{who}: {e}"))?;
                            check_payload(key, &p).map_err(|e| format!("{who}: aget: {e}"))?;
                            let new = payload(key, writer, seq);
                            common.written.lock().unwrap().get_mut(key).unwrap().insert((writer, seq));
                            t.aset(a, s, "p", &new.to_string()).await.map_err(|e| fail(format!("{who}: aset"), e))?;
                            let saved = match t.asave(a, s, false).await {
                                Ok(()) => true,
                                Err(HostError::Store(StoreError::UpdateError(_))) => false,
                                Err(e) => return Err(fail(format!("{who}: asave"), e)),
                            };
                            Ok::<_, String>((s, saved))
                        });
                        let (s, saved) = r.await?;
                        handles.push(s);
                        loads += 1;
                        if saved { saves += 1 } else { update_errors += 1 }
                    }
                    Ok::<_, String>((handles, loads, saves, update_errors))
                })
            });
            let shared_workers: Vec<_> = shared_workers.collect();

            let (own, shared) = tokio::join!(join_all(own), join_all(shared_workers));
            let mut handles: Vec<SessionHandle> = created.iter().map(|(s, _)| *s).collect();
            let mut errors = Vec::new();
            for r in own {
                match r {
                    Ok((hs, cross)) => {
                        handles.extend(hs);
                        tally.cross_loads += cross;
                        tally.own_saves += OWN_ROUNDS + 1;
                    }
                    Err(e) => errors.push(e),
                }
            }
            for r in shared {
                match r {
                    Ok((hs, loads, saves, update_errors)) => {
                        handles.extend(hs);
                        tally.shared_loads += loads;
                        tally.shared_saves += saves;
                        tally.update_errors += update_errors;
                    }
                    Err(e) => errors.push(e),
                }
            }
            if !errors.is_empty() {
                return Err(format!("instance {instance}: {} workers failed; first: {}", errors.len(), errors[0]));
            }
            let own_keys: Vec<(String, u64)> =
                created.iter().enumerate().map(|(n, (_, k))| (k.clone(), instance * 100 + n as u64)).collect();
            Ok((tally, own_keys, handles))
        })
        .await
        .map_err(|e| format!("instance {instance}: the run trapped: {e}"))?;
    let (tally, own_keys, handles) = outcome?;
    for s in handles {
        g.drop_session(s).await.map_err(|e| fail(format!("instance {instance}: dropping a resource"), e))?;
    }
    Ok((tally, own_keys))
}

#[tokio::test(flavor = "multi_thread")]
async fn many_instances_on_one_directory_concurrent_asave_and_aload() {
    const INSTANCES: u64 = 8;
    const SHARED: usize = 4;
    let env = Env::new();
    let seed = Rng::seed();

    // The shared sessions, each holding a payload by writer 999.
    let mut g = env.async_guest().await;
    let mut shared = Vec::new();
    for _ in 0..SHARED {
        let s = g.session(None).await.unwrap();
        g.acreate(s).await.unwrap();
        let k = g.session_key(s).await.unwrap().unwrap();
        g.aset(s, "p", &payload(&k, 999, 0).to_string()).await.unwrap();
        g.asave(s, false).await.unwrap();
        g.drop_session(s).await.unwrap();
        shared.push(k);
    }
    drop(g);
    let common = Arc::new(Shared { written: written_for(&shared), shared, published: Mutex::new(Vec::new()) });

    let started = Instant::now();
    let tenant: Tenant = env.tenant.clone();
    let tasks: Vec<_> = (0..INSTANCES)
        .map(|i| {
            let (common, tenant) = (common.clone(), tenant.clone());
            tokio::spawn(async move {
                let g = async_runtime().instantiate(&tenant).await.map_err(|e| fail("instantiating", e))?;
                instance_work(i, g, common, seed).await
            })
        })
        .collect();
    let mut tallies = Vec::new();
    let mut own_keys = Vec::new();
    let mut errors = Vec::new();
    for (i, task) in tasks.into_iter().enumerate() {
        match task.await.unwrap_or_else(|e| panic!("instance {i}'s task panicked: {e}")) {
            Ok((tally, keys)) => {
                tallies.push(tally);
                own_keys.extend(keys);
            }
            Err(e) => errors.push(e),
        }
    }
    assert!(errors.is_empty(), "{} of {INSTANCES} instances failed: {errors:#?}", errors.len());
    let elapsed = started.elapsed();

    // Nobody deletes, so no save may find its session gone.
    let update_errors: u64 = tallies.iter().map(|t| t.update_errors).sum();
    assert_eq!(update_errors, 0, "asave failed with update-error although no session was deleted");

    // Own sessions: distinct keys, each file holding its last save.
    let distinct: HashSet<&String> = own_keys.iter().map(|(k, _)| k).collect();
    assert_eq!(distinct.len(), own_keys.len(), "two concurrent acreate calls handed out the same key");
    assert_eq!(own_keys.len(), INSTANCES as usize * OWN);
    for (key, writer) in &own_keys {
        let v = on_disk(&env.session_file(key)).unwrap_or_else(|e| panic!("{key}: {e}"));
        assert_eq!(
            v,
            Some(data(key, *writer, OWN_ROUNDS)),
            "session {key} of writer {writer} does not hold its last save"
        );
    }
    // Shared sessions: on disk, complete, holding a payload someone saved, and a save made
    // by this run (each was saved dozens of times, the last one wins).
    let written = common.written.lock().unwrap();
    for key in &common.shared {
        let v = on_disk(&env.session_file(key))
            .unwrap_or_else(|e| panic!("shared {key}: {e}"))
            .unwrap_or_else(|| panic!("shared session {key} disappeared"));
        let obj = v.as_object().unwrap();
        assert_eq!(obj.len(), 1, "shared {key}: {v}");
        let author = check_payload(key, &obj["p"]).unwrap();
        assert!(written[key].contains(&author), "shared {key} holds {author:?}, which nobody saved");
        assert_ne!(author, (999, 0), "shared {key} still holds its first payload: every save to it was lost");
    }
    check_directory_holds_exactly(&env, own_keys.iter().map(|(k, _)| k.clone()).chain(common.shared.iter().cloned()));

    let sum = |f: fn(&InstanceTally) -> u64| tallies.iter().map(f).sum::<u64>();
    report(
        "async: many instances on one directory",
        &format!(
            "{INSTANCES} instances, each on its own tokio task with everything in one run (seed {seed:#x}): {OWN} own sessions each ({} saves, each followed by an own aload and 2 concurrent aloads of any instance's sessions: {} cross loads) and {SHARED_WORKERS} workers per instance on each of {SHARED} shared sessions ({} aload + aget + aset + asave rounds, {} saves), {:.1} s",
            sum(|t| t.own_saves),
            sum(|t| t.cross_loads),
            sum(|t| t.shared_loads),
            sum(|t| t.shared_saves),
            elapsed.as_secs_f64(),
        ),
        &format!(
            "every load complete (0 partial, 0 empty, 0 older than a finished save); 0 update-errors; {} own keys all distinct, each file holding its last save; {SHARED} shared sessions each holding a complete payload some instance saved; 0 temporary files",
            own_keys.len()
        ),
    );
}
