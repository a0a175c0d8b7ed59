//! Reliability under load, concurrency and faults, through real wasmtime instances on real
//! directories (issue #4):
//!
//! * many instances (threads) and many `sessions` processes on one directory: every load
//!   is a complete, valid session, nothing that was not deleted disappears, concurrent
//!   creates never share a key, no temporary file is left;
//! * a save racing a delete (Django ticket #37249): how often the remaining window between
//!   the existence check and the rename in `publish_update` still resurrects a session,
//!   measured exactly (a delete injected at every epoch checkpoint of a save) and under a
//!   real thread race;
//! * a guest killed in the middle of a save (epoch interruption and fuel exhaustion at
//!   every point of a save, and SIGKILL of `sessions` processes): the session file holds
//!   the old or the new data, never a mix, and `clear-expired` removes the orphans;
//! * a full disk, a read-only filesystem, no free inodes; the storage directory removed or
//!   replaced under live instances.
//!
//! Every test prints `RELIABILITY | <check> | <what was tried> | <what held>` to stderr;
//! `host-tests/reliability-report.sh` collects those lines into RELIABILITY.md. Loops are
//! bounded by count and by time; figures are reported, never asserted as timings.

mod common;

use common::stress::*;
use common::*;
use file_sessions::codec::Signer;
use file_sessions_host::HostError;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};
use wasmtime::UpdateDeadline;

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

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

/// Runs the `sessions` command on `dir` with the tests' secret.
fn sessions(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(SESSIONS);
    cmd.arg("--dir").arg(dir).args(args);
    for var in ["SECRET_KEY_FALLBACKS", "SESSION_COOKIE_NAME", "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE"]
    {
        cmd.env_remove(var);
    }
    cmd.env("SECRET_KEY", SECRET).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_owned()
}

/// Shared sessions created up front, each holding a payload by writer 999.
fn shared_sessions(env: &Env, n: usize) -> Vec<String> {
    common::stress::shared_sessions(&mut env.guest(), n)
}

/// After a run: every shared session is on disk, complete, and holds a payload some writer
/// saved; the directory holds exactly `shared` and `live`, and no temporary file.
fn check_final_directory(env: &Env, shared: &[String], written: &Written, live: &[(String, Value)]) {
    let problems = final_directory_problems(env.path(), shared, written, live);
    assert!(problems.is_empty(), "{problems:#?}");
}

// ---------------------------------------------------------------------------------------
// Load and concurrency: instances on threads
// ---------------------------------------------------------------------------------------

#[derive(Default, Debug)]
struct Tally {
    ops: u64,
    loads: u64,
    exists: u64,
    saves: u64,
    creates: u64,
    cycles: u64,
    deletes: u64,
    own_loads: u64,
    cross_loads: u64,
    cross_found: u64,
}

struct WorkerOut {
    tally: Tally,
    live: Vec<(String, Value)>,
    created: Vec<String>,
}

/// What the worker threads share.
struct Common<'a> {
    env: &'a Env,
    shared: &'a [String],
    written: &'a Written,
    published: &'a Mutex<Vec<String>>,
    budget: &'a Budget,
}

/// One thread with its own instance: loads, saves and checks the shared sessions, and
/// creates, cycles, deletes and reloads its own; loads other threads' sessions.
fn worker(t: u64, seed: u64, ops: u64, common: &Common) -> WorkerOut {
    let Common { env, shared, written, published, budget } = *common;
    let mut g = env.guest();
    let mut rng = Rng::new(seed ^ (t + 1).wrapping_mul(0x9e37_79b9));
    let mut tally = Tally::default();
    let mut own: Vec<(String, Value)> = Vec::new();
    let mut created = Vec::new();
    let mut seq = 0u64;
    let pick = |rng: &mut Rng| shared[rng.below(shared.len() as u64) as usize].clone();
    while tally.ops < ops && budget.left() {
        tally.ops += 1;
        match rng.below(100) {
            0..=29 => {
                let k = pick(&mut rng);
                let s = g.session(Some(&k)).unwrap();
                let v = json(&g.load(s).unwrap());
                check_payload(&k, &v).unwrap_or_else(|e| panic!("thread {t}, load: {e}"));
                g.drop_session(s).unwrap();
                tally.loads += 1;
            }
            30..=54 => {
                seq += 1;
                let k = pick(&mut rng);
                let s = g.session(Some(&k)).unwrap();
                // Reading it first (as a request does) loads the current payload.
                let current = g.get(s, "key").unwrap();
                assert_eq!(current, Some(json!(k).to_string()), "thread {t}: shared session {k} read as missing");
                g.update(s, &payload(&k, t, seq).to_string()).unwrap();
                written.lock().unwrap().get_mut(&k).unwrap().insert((t, seq));
                g.save(s, false).unwrap_or_else(|e| panic!("thread {t}: saving shared session {k}: {e}"));
                assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k.as_str()));
                g.drop_session(s).unwrap();
                tally.saves += 1;
            }
            55..=59 => {
                let k = pick(&mut rng);
                let s = g.session(None).unwrap();
                assert!(g.exists(s, &k).unwrap(), "thread {t}: shared session {k} does not exist");
                g.drop_session(s).unwrap();
                tally.exists += 1;
            }
            60..=72 => {
                seq += 1;
                let data = json!({"owner": t, "n": seq});
                let s = g.session(None).unwrap();
                g.update(s, &data.to_string()).unwrap();
                g.create(s).unwrap();
                let k = g.session_key(s).unwrap().unwrap();
                g.drop_session(s).unwrap();
                created.push(k.clone());
                published.lock().unwrap().push(k.clone());
                own.push((k, data));
                tally.creates += 1;
            }
            73..=82 if !own.is_empty() => {
                let i = rng.below(own.len() as u64) as usize;
                let old = own[i].0.clone();
                let s = g.session(Some(&old)).unwrap();
                g.cycle_key(s).unwrap();
                let new = g.session_key(s).unwrap().unwrap();
                g.drop_session(s).unwrap();
                assert_ne!(new, old);
                assert!(!env.session_file(&old).exists(), "cycle_key left the old file");
                assert_eq!(
                    on_disk(&env.session_file(&new)).unwrap().as_ref(),
                    Some(&own[i].1),
                    "cycle_key kept the data"
                );
                own[i].0 = new.clone();
                created.push(new.clone());
                published.lock().unwrap().push(new);
                tally.cycles += 1;
            }
            83..=89 if !own.is_empty() => {
                let (k, _) = own.swap_remove(rng.below(own.len() as u64) as usize);
                let s = g.session(None).unwrap();
                g.delete(s, Some(&k)).unwrap();
                g.drop_session(s).unwrap();
                assert!(!env.session_file(&k).exists(), "deleted session {k} still on disk");
                tally.deletes += 1;
            }
            90..=94 if !own.is_empty() => {
                let (k, data) = &own[rng.below(own.len() as u64) as usize];
                let s = g.session(Some(k)).unwrap();
                assert_eq!(&json(&g.load(s).unwrap()), data, "thread {t}: own session {k}");
                g.drop_session(s).unwrap();
                tally.own_loads += 1;
            }
            _ => {
                // Another thread's session, which may be cycled or deleted meanwhile: either
                // gone ({}) or complete, never partial.
                let Some(k) = ({
                    let p = published.lock().unwrap();
                    (!p.is_empty()).then(|| p[rng.below(p.len() as u64) as usize].clone())
                }) else {
                    continue;
                };
                let s = g.session(Some(&k)).unwrap();
                let v = json(&g.load(s).unwrap());
                g.drop_session(s).unwrap();
                let obj = v.as_object().unwrap();
                if !obj.is_empty() {
                    assert!(
                        obj.len() == 2 && obj["owner"].is_u64() && obj["n"].is_u64(),
                        "thread {t}: a partial session {k}: {v}"
                    );
                    tally.cross_found += 1;
                }
                tally.cross_loads += 1;
            }
        }
    }
    WorkerOut { tally, live: own, created }
}

#[test]
fn threads_with_their_own_instances_share_one_directory() {
    const THREADS: u64 = 4;
    const OPS: u64 = 2500;
    const SHARED: usize = 12;
    let env = Env::new();
    let shared = shared_sessions(&env, SHARED);
    let written = written_for(&shared);
    let published = Mutex::new(Vec::new());
    let budget = Budget::secs(45);
    let seed = Rng::seed();
    let started = Instant::now();
    let outs: Vec<WorkerOut> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let common =
                    Common { env: &env, shared: &shared, written: &written, published: &published, budget: &budget };
                sc.spawn(move || worker(t, seed, OPS, &common))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a worker failed")).collect()
    });
    let elapsed = started.elapsed();

    let live: Vec<(String, Value)> = outs.iter().flat_map(|o| o.live.iter().cloned()).collect();
    let created: Vec<&String> = outs.iter().flat_map(|o| o.created.iter()).collect();
    let distinct: HashSet<&String> = created.iter().copied().collect();
    assert_eq!(distinct.len(), created.len(), "two creates handed out the same key");
    check_final_directory(&env, &shared, &written, &live);

    let sum = |f: fn(&Tally) -> u64| outs.iter().map(|o| f(&o.tally)).sum::<u64>();
    let ops = sum(|t| t.ops);
    assert!(ops >= 1000, "the time budget cut the run to {ops} operations");
    report(
        "threads on one directory",
        &format!(
            "{THREADS} threads with one instance each, {ops} operations in {:.1} s (seed {seed:#x}): {} loads and {} exists of {SHARED} shared sessions, {} saves to them (a quarter compressed), {} creates, {} cycle_key, {} deletes, {} reloads of own sessions, {} loads of other threads' sessions ({} found live)",
            elapsed.as_secs_f64(),
            sum(|t| t.loads),
            sum(|t| t.exists),
            sum(|t| t.saves),
            sum(|t| t.creates),
            sum(|t| t.cycles),
            sum(|t| t.deletes),
            sum(|t| t.own_loads),
            sum(|t| t.cross_loads),
            sum(|t| t.cross_found),
        ),
        &format!(
            "every load complete and valid (0 partial or mixed); 0 of {SHARED} shared sessions lost, each holding a payload someone saved; {} created keys all distinct; the directory ends with exactly the {} live sessions and 0 temporary files",
            created.len(),
            SHARED + live.len()
        ),
    );
}

#[test]
fn sessions_processes_share_one_directory() {
    const PROCS: u64 = 4;
    const CMDS: u64 = 48;
    const SHARED: usize = 6;
    let env = Env::new();
    let shared = shared_sessions(&env, SHARED);
    let written = written_for(&shared);
    let budget = Budget::secs(60);
    let seed = Rng::seed();
    let started = Instant::now();
    let in_process_done = AtomicBool::new(false);
    let (outs, in_process_ops) = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..PROCS)
            .map(|p| {
                let (env, shared, written, budget) = (&env, &shared, &written, &budget);
                sc.spawn(move || {
                    let dir = env.path();
                    let mut rng = Rng::new(seed ^ (p + 7));
                    let (mut own, mut created, mut spawned) = (Vec::<(String, Value)>::new(), Vec::new(), 0u64);
                    let mut run = |args: &[&str]| {
                        spawned += 1;
                        let out = sessions(dir, args);
                        assert!(out.status.success(), "sessions {args:?}: {}", String::from_utf8_lossy(&out.stderr));
                        stdout(&out)
                    };
                    for i in 0..CMDS {
                        if !budget.left() {
                            break;
                        }
                        let k = shared[rng.below(SHARED as u64) as usize].clone();
                        match i % 6 {
                            0 => {
                                let data = json!({"proc": p, "i": i});
                                let key = run(&["create", &data.to_string()]);
                                assert_eq!(key.len(), 32, "{key}");
                                created.push(key.clone());
                                own.push((key, data));
                            }
                            1 => {
                                let v = json(&run(&["load", &k]));
                                check_payload(&k, &v).unwrap_or_else(|e| panic!("process load: {e}"));
                            }
                            2 => {
                                let data = payload(&k, 100 + p, i);
                                written.lock().unwrap().get_mut(&k).unwrap().insert((100 + p, i));
                                assert_eq!(run(&["save", &k, &data.to_string()]), k, "saved under another key");
                            }
                            3 => {
                                if let Some((key, data)) = own.last() {
                                    assert_eq!(&json(&run(&["load", key])), data);
                                }
                            }
                            4 => {
                                if own.len() > 1 {
                                    let (key, _) = own.remove(0);
                                    run(&["delete", &key]);
                                    assert_eq!(run(&["exists", &key]), "false");
                                }
                            }
                            _ => assert_eq!(run(&["exists", &k]), "true", "shared session {k}"),
                        }
                    }
                    (own, created, spawned)
                })
            })
            .collect();
        // Meanwhile, an instance in this process saves and loads the same shared sessions.
        let in_process = {
            let (env, shared, written, done) = (&env, &shared, &written, &in_process_done);
            sc.spawn(move || {
                let mut g = env.guest();
                let mut rng = Rng::new(seed ^ 0xabcdef);
                let mut n = 0u64;
                while n < 2000 && !done.load(Ordering::Relaxed) {
                    n += 1;
                    let k = shared[rng.below(SHARED as u64) as usize].clone();
                    let s = g.session(Some(&k)).unwrap();
                    check_payload(&k, &json(&g.load(s).unwrap())).unwrap();
                    if n.is_multiple_of(2) {
                        g.update(s, &payload(&k, 500, n).to_string()).unwrap();
                        written.lock().unwrap().get_mut(&k).unwrap().insert((500, n));
                        g.save(s, false).unwrap();
                    }
                    g.drop_session(s).unwrap();
                }
                n
            })
        };
        let outs: Vec<_> = handles.into_iter().map(|h| h.join().expect("a process worker failed")).collect();
        in_process_done.store(true, Ordering::Relaxed);
        (outs, in_process.join().expect("the in-process worker failed"))
    });
    let elapsed = started.elapsed();
    let live: Vec<(String, Value)> = outs.iter().flat_map(|o| o.0.iter().cloned()).collect();
    let created: Vec<&String> = outs.iter().flat_map(|o| o.1.iter()).collect();
    let spawned: u64 = outs.iter().map(|o| o.2).sum();
    assert_eq!(created.iter().collect::<HashSet<_>>().len(), created.len(), "two processes created the same key");
    check_final_directory(&env, &shared, &written, &live);
    assert!(spawned >= 60, "the time budget cut the run to {spawned} processes");
    report(
        "processes on one directory",
        &format!(
            "{PROCS} workers running {spawned} `sessions` processes (create, load, save, delete, exists) on {SHARED} shared sessions and their own, in {:.1} s, while an in-process instance did {in_process_ops} loads and saves of the same shared sessions",
            elapsed.as_secs_f64()
        ),
        &format!(
            "every process exited 0; every load complete and valid; 0 shared sessions lost; {} created keys all distinct; exactly the live sessions left, 0 temporary files",
            created.len()
        ),
    );
}

#[test]
fn racing_exclusive_creates_of_one_key_have_one_winner() {
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 150;
    let env = Env::new();
    let seed = Rng::seed();
    let barrier = Barrier::new(THREADS as usize);
    let budget = Budget::secs(30);
    let stop = AtomicBool::new(false);
    let results: Vec<Vec<(u64, Result<(), String>)>> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (env, barrier, budget, stop) = (&env, &barrier, &budget, &stop);
                sc.spawn(move || {
                    let mut g = env.guest();
                    let mut keys = Rng::new(seed);
                    let mut out = Vec::new();
                    for round in 0..ROUNDS {
                        let key = keys.key(); // the same sequence in every thread
                        let s = g.session(Some(&key)).unwrap();
                        g.clear(s).unwrap(); // data without loading, so the key is kept
                        g.set(s, "winner", &t.to_string()).unwrap();
                        barrier.wait();
                        let r = g.save(s, true);
                        out.push((round, r.map_err(|e| e.to_string())));
                        g.drop_session(s).unwrap();
                        if t == 0 && !budget.left() {
                            stop.store(true, Ordering::Relaxed);
                        }
                        barrier.wait();
                        if stop.load(Ordering::Relaxed) {
                            break;
                        }
                    }
                    out
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let rounds = results[0].len() as u64;
    let mut keys = Rng::new(seed);
    let mut create_errors = 0;
    for round in 0..rounds {
        let key = keys.key();
        let winners: Vec<u64> = (0..THREADS).filter(|&t| results[t as usize][round as usize].1.is_ok()).collect();
        assert_eq!(
            winners.len(),
            1,
            "round {round}: {:?}",
            (0..THREADS).map(|t| &results[t as usize][round as usize]).collect::<Vec<_>>()
        );
        for t in 0..THREADS {
            if let Err(e) = &results[t as usize][round as usize].1 {
                assert!(e.starts_with("create-error"), "round {round}, thread {t}: {e}");
                create_errors += 1;
            }
        }
        assert_eq!(on_disk(&env.session_file(&key)).unwrap(), Some(json!({"winner": winners[0]})), "round {round}");
    }
    assert_eq!(env.files().len() as u64, rounds, "one file per round, no temporary file");
    report(
        "exclusive create races",
        &format!("{rounds} rounds of {THREADS} instances calling save(must_create) on the same new key at a barrier"),
        &format!(
            "exactly 1 winner per round, {create_errors} create-error for the others; the file holds the winner's data; 0 temporary files"
        ),
    );
}

// ---------------------------------------------------------------------------------------
// A save racing a delete (Django ticket #37249)
// ---------------------------------------------------------------------------------------

/// Classifies a save/delete pair from the save's result and what is on disk.
fn classify(save: Result<(), String>, file: Option<Value>, new: &Value) -> RaceOutcome {
    race_outcome(&save, &file, new)
        .unwrap_or_else(|| panic!("an outcome no ordering explains: save {save:?}, file {file:?}"))
}

/// A store error as `kind: detail`; a trap fails the test.
fn wit_result<T>(r: Result<T, HostError>) -> Result<T, String> {
    match r {
        Ok(v) => Ok(v),
        Err(HostError::Store(e)) => Err(format!("{}: {}", e.kind(), e.detail())),
        Err(other) => panic!("{other}"),
    }
}

#[test]
fn save_racing_a_delete_injected_at_every_checkpoint() {
    let host = instrumented();
    let env = Env::new();
    let key = Rng::new(Rng::seed()).key();
    let path = env.session_file(&key);
    let old = json!({"v": "old"});
    let new = json!({"v": "new"});
    let old_bytes = Signer::new(SECRET, &[]).dumps(&old, 1_800_000_000);

    // A guest that has loaded the session and changed it, about to save.
    let ready = || {
        std::fs::write(&path, &old_bytes).unwrap();
        let mut g = host.instantiate(&env.tenant).unwrap();
        let s = wit_result(g.session(Some(&key))).unwrap();
        wit_result(g.set(s, "v", "\"new\"")).unwrap();
        (g, s)
    };

    // The number of epoch checkpoints (function entries and loop back-edges) in one save.
    let (mut g, s) = ready();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    g.store_mut().epoch_deadline_callback(move |_| {
        c.fetch_add(1, Ordering::Relaxed);
        Ok(UpdateDeadline::Continue(0))
    });
    g.store_mut().set_epoch_deadline(0);
    wit_result(g.save(s, false)).unwrap();
    let total = count.load(Ordering::Relaxed);
    assert!(total > 50, "{total} checkpoints: is epoch interruption on?");

    // A delete at checkpoint n, for every n of the save (and a few past its end).
    let budget = Budget::secs(60);
    let mut outcomes: Vec<(u64, RaceOutcome, u64)> = Vec::new();
    for n in 1..=total + 5 {
        if !budget.left() {
            break;
        }
        let (mut g, s) = ready();
        // 0: not reached; 1: deleted before the temporary file existed; 2: while it did.
        let deleted = Arc::new(AtomicU64::new(0));
        let (d, p, dir) = (deleted.clone(), path.clone(), env.path().to_path_buf());
        let mut seen = 0u64;
        g.store_mut().epoch_deadline_callback(move |_| {
            seen += 1;
            if seen == n {
                let temp_present = !temps(&dir).is_empty();
                std::fs::remove_file(&p).unwrap();
                d.store(if temp_present { 2 } else { 1 }, Ordering::SeqCst);
            }
            Ok(UpdateDeadline::Continue(0))
        });
        g.store_mut().set_epoch_deadline(0);
        let r = wit_result(g.save(s, false));
        drop(g);
        let phase = deleted.load(Ordering::SeqCst);
        if phase == 0 {
            // Past the end of the save: the delete comes after it.
            assert!(n > total - 10, "checkpoint {n} of {total} never reached");
            assert_eq!(r, Ok(()));
            std::fs::remove_file(&path).unwrap();
        }
        let outcome = classify(r, on_disk(&path).unwrap(), &new);
        assert_eq!(temps(env.path()), Vec::<String>::new(), "checkpoint {n}: a temporary file was left");
        // Per run, whatever the checkpoint count: a resurrection needs the delete while
        // the complete temporary file waited for its rename; after the rename the
        // temporary name is gone; a delete before the temporary file exists is refused.
        match (outcome, phase) {
            (RaceOutcome::Resurrected, 2) | (RaceOutcome::DeletedAfter, 0 | 1) | (RaceOutcome::Refused, 1 | 2) => {}
            other => panic!("checkpoint {n}: outcome and phase do not fit the order write, check, rename: {other:?}"),
        }
        outcomes.push((n, outcome, phase));
    }
    let count = |o: RaceOutcome, phases: &[u64]| outcomes.iter().filter(|x| x.1 == o && phases.contains(&x.2)).count();
    let resurrected = count(RaceOutcome::Resurrected, &[2]);
    let refused_before_write = count(RaceOutcome::Refused, &[1]);
    let refused_after_write = count(RaceOutcome::Refused, &[2]);
    let after = count(RaceOutcome::DeletedAfter, &[0, 1]);
    assert!(
        refused_before_write > 0 && refused_after_write > 0,
        "the existence check never refused after the temporary file was written"
    );
    assert!(after > 0);
    let swept = outcomes.len();
    report(
        "save vs delete, injected (#37249 window)",
        &format!(
            "a delete injected at each of the {total} epoch checkpoints (function entries and loop back-edges) of one save(false) of a loaded session, plus 5 past its end ({swept} runs, one fresh instance each)"
        ),
        &format!(
            "{resurrected} checkpoints ({:.1}% of the save) resurrect the session: the window between the stat and the rename in publish_update. Refused with update-error: {refused_before_write} deletes before the temporary file was created (encoding) and {refused_after_write} after it was written, before the check; Django checks first and then encodes and writes, so its window spans that work. {after} deletes after the rename removed the new file. Never a torn file; 0 temporary files left",
            100.0 * resurrected as f64 / total as f64,
        ),
    );
}

#[test]
fn save_racing_a_delete_on_threads() {
    const ROUNDS: u64 = 400;
    let env = Env::new();
    let old = json!({"v": "old"});
    let new = json!({"v": "new"});
    let old_bytes = Signer::new(SECRET, &[]).dumps(&old, 1_800_000_000);
    let barrier = Barrier::new(2);
    let budget = Budget::secs(40);
    let seed = Rng::seed();
    let keys: Vec<String> = {
        let mut r = Rng::new(seed);
        (0..ROUNDS).map(|_| r.key()).collect()
    };
    // Measure one save, to spread the delete over it.
    let save_us = {
        let mut g = env.guest();
        let k = &keys[0];
        std::fs::write(env.session_file(k), &old_bytes).unwrap();
        let s = g.session(Some(k)).unwrap();
        g.set(s, "v", "\"new\"").unwrap();
        let t = Instant::now();
        g.save(s, false).unwrap();
        std::fs::remove_file(env.session_file(k)).unwrap();
        (t.elapsed().as_micros() as u64).clamp(50, 20_000)
    };
    let stop = AtomicBool::new(false);
    let (saves, deletes): (Vec<Result<(), String>>, Vec<u64>) = std::thread::scope(|sc| {
        let saver = sc.spawn(|| {
            let mut g = env.guest();
            let mut out = Vec::new();
            for k in &keys {
                std::fs::write(env.session_file(k), &old_bytes).unwrap();
                let s = g.session(Some(k)).unwrap();
                g.set(s, "v", "\"new\"").unwrap(); // loaded, changed
                barrier.wait();
                out.push(g.save(s, false).map_err(|e| e.to_string()));
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
        let deleter = sc.spawn(|| {
            let mut g = env.guest();
            let s = g.session(None).unwrap();
            let mut rng = Rng::new(seed ^ 1);
            let mut delays = Vec::new();
            for k in &keys {
                barrier.wait();
                // A logout at a random moment during the save.
                let delay = rng.below(save_us * 3 / 2);
                let t = Instant::now();
                while (t.elapsed().as_micros() as u64) < delay {
                    std::hint::spin_loop();
                }
                g.delete(s, Some(k)).unwrap();
                delays.push(delay);
                barrier.wait();
                if stop.load(Ordering::Relaxed) {
                    break;
                }
            }
            delays
        });
        (saver.join().unwrap(), deleter.join().unwrap())
    });
    let mut counts: HashMap<&'static str, u64> = HashMap::new();
    for (i, r) in saves.iter().enumerate() {
        let o = classify(r.clone(), on_disk(&env.session_file(&keys[i])).unwrap(), &new);
        *counts
            .entry(match o {
                RaceOutcome::Refused => "refused",
                RaceOutcome::Resurrected => "resurrected",
                RaceOutcome::DeletedAfter => "after",
            })
            .or_default() += 1;
    }
    assert_eq!(temps(env.path()), Vec::<String>::new());
    let rounds = saves.len();
    assert!(rounds >= 100, "the time budget cut the run to {rounds} rounds");
    let c = |k: &str| counts.get(k).copied().unwrap_or(0);
    report(
        "save vs delete, thread race (#37249 window)",
        &format!(
            "{rounds} rounds: one instance saves a loaded session while another deletes it (logout) after a random delay spread over the save (about {save_us} us here, seed {seed:#x}; {} deletes issued)",
            deletes.len()
        ),
        &format!(
            "{} resurrected ({:.2}%, so the window is about {:.0} us of wall time here: from the stat's return to the rename's commit, mostly the host's WASI call overhead), {} refused with update-error, {} deleted after the save; every outcome one of these three, never a torn file, 0 temporary files",
            c("resurrected"),
            100.0 * c("resurrected") as f64 / rounds as f64,
            c("resurrected") as f64 / rounds as f64 * (save_us * 3 / 2) as f64,
            c("refused"),
            c("after")
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Faults: a guest killed in the middle of a save
// ---------------------------------------------------------------------------------------

/// How a run's guest is stopped.
#[derive(Clone, Copy, Debug)]
enum Kill {
    /// Trap at the n-th epoch checkpoint of the save.
    Epoch(u64),
    /// Trap when the save has used this much fuel.
    Fuel(u64),
    /// Not stopped: count the checkpoints and the fuel.
    Never,
}

/// What happened in one run.
struct Run {
    trapped: bool,
    checkpoints: u64,
    fuel: u64,
}

/// Starts `save` on a guest holding `data` for `key` (a loaded session, or a new one for
/// `None`), stopped as `kill` says.
fn killed_save(env: &Env, key: Option<&str>, data: &Value, kill: Kill) -> Run {
    let host = instrumented();
    let mut g = host.instantiate(&env.tenant).unwrap();
    let s = wit_result(g.session(key)).unwrap();
    if key.is_some() {
        wit_result(g.get(s, "v")).unwrap(); // load it, as a request does
    }
    wit_result(g.update(s, &data.to_string())).unwrap();
    let count = Arc::new(AtomicU64::new(0));
    let c = count.clone();
    let stop_at = match kill {
        Kill::Epoch(n) => n,
        _ => u64::MAX,
    };
    g.store_mut().epoch_deadline_callback(move |_| {
        let seen = c.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(if seen >= stop_at { UpdateDeadline::Interrupt } else { UpdateDeadline::Continue(0) })
    });
    g.store_mut().set_epoch_deadline(0);
    let fuel = match kill {
        Kill::Fuel(f) => f,
        _ => u64::MAX,
    };
    g.store_mut().set_fuel(fuel).unwrap();
    let r = g.save(s, false);
    let used = fuel - g.store_mut().get_fuel().unwrap();
    let trapped = match r {
        Ok(()) => false,
        Err(HostError::Trap(_)) => true,
        Err(e) => panic!("{kill:?}: a store error instead of a trap: {e}"),
    };
    Run { trapped, checkpoints: count.load(Ordering::Relaxed), fuel: used }
}

/// Evenly spread points in `1..=total`, `n` of them.
fn spread(total: u64, n: u64) -> Vec<u64> {
    let n = n.min(total);
    let mut v: Vec<u64> = (1..=n).map(|i| (i * total).div_ceil(n)).collect();
    v.dedup();
    v
}

#[test]
fn guest_killed_mid_save_leaves_old_or_new_never_a_mix() {
    let env = Env::new();
    let key = Rng::new(Rng::seed()).key();
    let path = env.session_file(&key);
    let signer = Signer::new(SECRET, &[]);
    let budget = Budget::secs(90);
    let big = |tag: &str| json!({"v": tag, "pad": pad(7, tag.len() as u64, 6000)});
    // (label, old data, new data): a small plain session and a compressed one.
    let cases = [
        ("small", json!({"v": "old", "n": 1}), json!({"v": "new", "n": 2, "more": [1, 2, 3]})),
        ("compressed", big("old"), big("newer")),
    ];
    let mut lines = Vec::new();
    let mut runs_total = 0;
    for (label, old, new) in &cases {
        let old_bytes = signer.dumps(old, 1_800_000_000);
        std::fs::write(&path, &old_bytes).unwrap();
        let full = killed_save(&env, Some(&key), new, Kill::Never);
        assert!(!full.trapped);
        assert_eq!(on_disk(&path).unwrap().as_ref(), Some(new));
        // Every checkpoint of a small save; 200 spread over a compressed one. Fuel: 250 and
        // 150 points spread over what the save uses.
        let epoch_points =
            if full.checkpoints <= 2000 { (1..=full.checkpoints).collect() } else { spread(full.checkpoints, 200) };
        let fuel_points = spread(full.fuel, if *label == "small" { 250 } else { 150 });
        let kills: Vec<Kill> =
            epoch_points.into_iter().map(Kill::Epoch).chain(fuel_points.into_iter().map(Kill::Fuel)).collect();
        let (mut old_seen, mut new_seen, mut completed, mut runs) = (0, 0, 0, 0);
        for kill in kills {
            if !budget.left() {
                break;
            }
            std::fs::write(&path, &old_bytes).unwrap();
            let run = killed_save(&env, Some(&key), new, kill);
            runs += 1;
            let on = on_disk(&path).unwrap_or_else(|e| panic!("{label} {kill:?}: a torn session file: {e}"));
            match on {
                Some(v) if &v == new => {
                    if run.trapped {
                        new_seen += 1
                    } else {
                        completed += 1
                    }
                }
                Some(v) if &v == old && run.trapped => old_seen += 1,
                other => panic!("{label} {kill:?}: neither old nor new: {other:?} (trapped: {})", run.trapped),
            }
        }
        runs_total += runs;
        lines.push(format!(
            "{label} ({} checkpoints, {} fuel): {runs} runs, {old_seen} killed with the old file, {new_seen} killed with the new, {completed} completed",
            full.checkpoints, full.fuel
        ));
    }

    // Creates (publish by hard link) killed at every checkpoint, in their own directory.
    let env_c = Env::new();
    let data = json!({"created": true});
    let full = killed_save(&env_c, None, &data, Kill::Never);
    let (mut none_seen, mut published, mut c_runs) = (0, 0, 0);
    let mut created: HashSet<String> = env_c.files().into_iter().collect();
    for n in 1..=full.checkpoints.min(3000) {
        if !budget.left() {
            break;
        }
        let run = killed_save(&env_c, None, &data, Kill::Epoch(n));
        c_runs += 1;
        let now: HashSet<String> = env_c.files().into_iter().filter(|f| !is_temp(f)).collect();
        let fresh: Vec<&String> = now.difference(&created).collect();
        assert!(fresh.len() <= 1, "{fresh:?}");
        if let Some(f) = fresh.first() {
            assert_eq!(on_disk(&env_c.file(f)).unwrap().as_ref(), Some(&data), "a created file is complete");
            published += 1;
        } else {
            assert!(run.trapped);
            none_seen += 1;
        }
        created = now;
    }
    runs_total += c_runs;
    lines.push(format!(
        "create ({} checkpoints): {c_runs} runs, {none_seen} killed before the link (no file), {published} with a complete file",
        full.checkpoints
    ));

    // The orphans: temporary files of killed saves. clear-expired removes them once older
    // than an hour, and nothing else.
    let update_orphans = temps(env.path()).len();
    assert!(update_orphans > 0, "no save was ever killed between writing and publishing");
    let mut orphans = 0;
    for e in [&env, &env_c] {
        for t in temps(e.path()) {
            age_file(&e.file(&t), 2 * 3600);
            orphans += 1;
        }
    }
    let mut g = env.guest();
    let r1 = g.clear_expired().unwrap();
    let r2 = env_c.guest().clear_expired().unwrap();
    assert_eq!(r1.orphaned_temp_files + r2.orphaned_temp_files, orphans as u64);
    assert_eq!((r1.expired_sessions, r1.failures, r2.expired_sessions, r2.failures), (0, 0, 0, 0));
    assert_eq!(env.files(), vec![format!("sessionid{key}")]);
    assert!(env_c.files().iter().all(|f| !is_temp(f)));
    for f in env_c.files() {
        assert_eq!(on_disk(&env_c.file(&f)).unwrap().as_ref(), Some(&data));
    }
    report(
        "guest killed mid-save (epoch, fuel)",
        &format!(
            "{runs_total} saves, each in a fresh instance stopped by epoch interruption at one checkpoint (every checkpoint of the small saves) or by fuel exhaustion at evenly spread amounts: {}",
            lines.join("; ")
        ),
        &format!(
            "the session file always held exactly the old or the new data (0 torn); a create left no file or a complete one; the {orphans} orphaned temporary files, aged past 1 h, were all removed by clear-expired and nothing else was"
        ),
    );
}

#[test]
fn sessions_process_killed_mid_save() {
    const RUNS: u64 = 40;
    let env = Env::new();
    let mut rng = Rng::new(Rng::seed());
    let created = sessions(env.path(), &["create", r#"{"seq": 0}"#]);
    assert!(created.status.success());
    let key = stdout(&created);
    let mut current = json!({"seq": 0});
    let budget = Budget::secs(30);
    let (mut old_seen, mut new_seen, mut runs) = (0, 0, 0);
    for seq in 1..=RUNS {
        if !budget.left() {
            break;
        }
        runs += 1;
        // About 100 KB of JSON: the write takes a while, compressed.
        let data = json!({"seq": seq, "pad": pad(seq, seq, 90_000)});
        let mut child = Command::new(SESSIONS)
            .arg("--dir")
            .arg(env.path())
            .args(["save", &key, &data.to_string()])
            .env("SECRET_KEY", SECRET)
            .env_remove("SECRET_KEY_FALLBACKS")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.below(40_000)));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        match on_disk(&env.session_file(&key)).unwrap_or_else(|e| panic!("run {seq}: a torn session file: {e}")) {
            Some(v) if v == data => {
                new_seen += 1;
                current = data;
            }
            Some(v) if v == current => old_seen += 1,
            other => panic!("run {seq}: neither old nor new: {:?}", other.map(|v| v["seq"].clone())),
        }
    }
    let orphans = temps(env.path());
    for t in &orphans {
        age_file(&env.file(t), 2 * 3600);
    }
    let r = env.guest().clear_expired().unwrap();
    assert_eq!(r.orphaned_temp_files, orphans.len() as u64);
    assert_eq!(env.files(), vec![format!("sessionid{key}")]);
    report(
        "process SIGKILLed mid-save",
        &format!("{runs} `sessions save` processes (about 100 KB sessions) killed with SIGKILL after a random 0-40 ms"),
        &format!(
            "the file always held the previous or the new session ({old_seen} old, {new_seen} new, 0 torn); {} orphaned temporary files, aged past 1 h, removed by clear-expired",
            orphans.len()
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Faults: full disk, read-only filesystem, no inodes
// ---------------------------------------------------------------------------------------

/// A tmpfs mounted over a directory, unmounted on drop.
struct Mount(std::path::PathBuf);

impl Mount {
    fn tmpfs(at: &Path, options: &str) -> Result<Mount, String> {
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(at)
            .output()
            .map_err(|e| format!("running mount: {e}"))?;
        if out.status.success() {
            Ok(Mount(at.to_path_buf()))
        } else {
            Err(format!("mount -t tmpfs failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    fn remount(&self, options: &str) {
        let out = Command::new("mount").args(["-o", options]).arg(&self.0).output().unwrap();
        assert!(out.status.success(), "remount {options}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Why a tmpfs cannot be mounted here, if it cannot.
fn cannot_mount() -> Option<String> {
    let uid = Command::new("id").arg("-u").output().ok().map(|o| stdout(&o));
    if uid.as_deref() != Some("0") {
        return Some(format!("not running as root (uid {})", uid.unwrap_or_default()));
    }
    let probe = tempfile::tempdir().unwrap();
    Mount::tmpfs(probe.path(), "size=64k").err()
}

/// Names and bytes of every file in a directory.
fn contents(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .map(|e| (e.file_name().into_string().unwrap(), std::fs::read(e.path()).unwrap()))
        .collect();
    v.sort();
    v
}

fn store_err<T: std::fmt::Debug>(r: Result<T, HostError>, what: &str) -> (String, String) {
    match r {
        Err(HostError::Store(e)) => (e.kind().to_owned(), e.detail().to_owned()),
        other => panic!("{what}: expected a store error, got {other:?}"),
    }
}

#[test]
fn full_disk_read_only_filesystem_and_no_inodes() {
    if let Some(why) = cannot_mount() {
        eprintln!("SKIPPED full_disk_read_only_filesystem_and_no_inodes: {why}");
        report("full disk, read-only fs, no inodes", "skipped", &format!("needs root to mount a tmpfs: {why}"));
        return;
    }
    let env = Env::new();
    let mount = Mount::tmpfs(env.path(), "size=256k,mode=0700").unwrap();
    let mut g = env.guest();
    let mut rng = Rng::new(Rng::seed());
    let noise =
        |rng: &mut Rng, n: usize| -> String { (0..n).map(|_| ALPHABET[rng.below(64) as usize] as char).collect() };

    // Fill the disk with ~16 KB sessions until a create fails.
    let mut keys = Vec::new();
    let failure = loop {
        assert!(keys.len() < 100, "256 KiB never filled up");
        let before = contents(env.path());
        let s = g.session(None).unwrap();
        g.set(s, "pad", &json!(noise(&mut rng, 16_000)).to_string()).unwrap();
        match g.create(s) {
            Ok(()) => keys.push(g.session_key(s).unwrap().unwrap()),
            Err(e) => {
                let (kind, detail) = store_err::<()>(Err(e), "create on a full disk");
                assert_eq!(contents(env.path()), before, "a failed create changed the directory: {detail}");
                break format!("{kind}: {detail}");
            }
        }
    };
    assert!(failure.starts_with("io:") && failure.to_lowercase().contains("space"), "{failure}");
    // Updates that do not fit: an error, the previous file intact, nothing half-written.
    let mut update_failures = 0;
    for k in keys.iter().take(5) {
        let before = contents(env.path());
        let s = g.session(Some(k)).unwrap();
        g.set(s, "pad", &json!(noise(&mut rng, 60_000)).to_string()).unwrap();
        let (kind, detail) = store_err(g.save(s, false), "update on a full disk");
        assert_eq!(kind, "io", "{detail}");
        assert_eq!(contents(env.path()), before, "{detail}");
        update_failures += 1;
    }
    // Deleting frees space; saving works again.
    let s = g.session(None).unwrap();
    g.delete(s, Some(&keys.pop().unwrap())).unwrap();
    let s = g.session(None).unwrap();
    g.set(s, "small", "1").unwrap();
    g.create(s).unwrap();
    keys.push(g.session_key(s).unwrap().unwrap());
    let sessions_on_full_disk = keys.len();

    // Read-only: reads work, every write is an io error, nothing changes.
    age_file(&env.session_file(&keys[0]), 15 * 24 * 3600); // expired, for the sweep
    mount.remount("remount,ro");
    let before = contents(env.path());
    let mut g = env.guest();
    let k = keys[1].clone();
    let s = g.session(Some(&k)).unwrap();
    assert!(g.get(s, "pad").unwrap().is_some(), "reading works on a read-only filesystem");
    g.set(s, "x", "1").unwrap();
    let mut ro_errors = vec![store_err(g.save(s, false), "save on ro")];
    let c = g.session(None).unwrap();
    ro_errors.push(store_err(g.create(c), "create on ro"));
    let s = g.session(Some(&k)).unwrap();
    ro_errors.push(store_err(g.cycle_key(s), "cycle_key on ro"));
    let s = g.session(Some(&k)).unwrap();
    ro_errors.push(store_err(g.delete(s, Some(&k)), "delete on ro"));
    for (kind, detail) in &ro_errors {
        // (wasmtime-wasi 48 has no error code for EROFS: it reports a generic I/O error.)
        assert_eq!(kind, "io", "{detail}");
        assert!(detail.contains("sessionid"), "the error names the file: {detail}");
    }
    let sweep = g.clear_expired().unwrap();
    assert_eq!((sweep.expired_sessions, sweep.failures), (0, 1), "the expired session cannot go: counted");
    assert_eq!(contents(env.path()), before, "nothing changed on the read-only filesystem");
    drop(mount);

    // No free inodes: creates fail cleanly, updates (a temporary file needs an inode too)
    // as well.
    let env2 = Env::new();
    let _mount2 = Mount::tmpfs(env2.path(), "size=1m,nr_inodes=6,mode=0700").unwrap();
    let mut g = env2.guest();
    let mut n = 0;
    let inode_failure = loop {
        assert!(n < 20, "inodes never ran out");
        let before = contents(env2.path());
        let s = g.session(None).unwrap();
        g.set(s, "n", &n.to_string()).unwrap();
        match g.create(s) {
            Ok(()) => n += 1,
            Err(e) => {
                let (kind, detail) = store_err::<()>(Err(e), "create without inodes");
                assert_eq!(contents(env2.path()), before, "{detail}");
                break format!("{kind}: {detail}");
            }
        }
    };
    assert!(inode_failure.starts_with("io:"), "{inode_failure}");
    report(
        "full disk, read-only fs, no inodes",
        &format!(
            "a 256 KiB tmpfs filled with 16 KB sessions ({sessions_on_full_disk} fit), then creates and {update_failures} larger updates; the same tmpfs remounted read-only (save, create, cycle_key, delete, clear-expired); a tmpfs with 6 inodes ({n} sessions fit)"
        ),
        &format!(
            "each failed write returned io ({failure:?}; read-only: {:?}; inodes: {inode_failure:?}), the previous files stayed byte-identical, nothing half-written or temporary remained; deleting one session let saves succeed again; reads kept working read-only; the sweep counted the file it could not delete",
            ro_errors[0].1
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Faults: the storage directory removed or replaced under live instances
// ---------------------------------------------------------------------------------------

/// Each call's name and answer: a value, or a store error's kind and text.
type Calls = Vec<(&'static str, Result<String, (String, String)>)>;

/// Every call of a live instance: its answer, which must not be a trap.
fn every_call(g: &mut file_sessions_host::Guest, key: &str) -> Calls {
    let mut out = Vec::new();
    let mut push = |what: &'static str, r: Result<String, HostError>| {
        out.push((
            what,
            r.map_err(|e| match e {
                HostError::Store(e) => (e.kind().to_owned(), e.detail().to_owned()),
                other => panic!("{what}: {other}"),
            }),
        ))
    };
    let s = g.session(Some(key)).unwrap();
    push("load", g.load(s));
    let s = g.session(Some(key)).unwrap();
    g.clear(s).unwrap();
    g.set(s, "x", "1").unwrap();
    push("save", g.save(s, false).map(|_| String::new()));
    let s = g.session(None).unwrap();
    g.set(s, "x", "1").unwrap();
    push("create", g.create(s).map(|_| String::new()));
    let s = g.session(None).unwrap();
    push("exists", g.exists(s, key).map(|b| b.to_string()));
    push("delete", g.delete(s, Some(key)).map(|_| String::new()));
    push("clear-expired", g.clear_expired().map(|r| format!("scanned {}", r.scanned)));
    out
}

#[test]
fn storage_directory_removed_or_replaced_under_live_instances() {
    let mut observed = Vec::new();

    // 1. The preopened directory removed.
    let env = Env::new();
    let shared = shared_sessions(&env, 1);
    let mut g = env.guest();
    let s = g.session(Some(&shared[0])).unwrap();
    g.load(s).unwrap();
    std::fs::remove_dir_all(env.path()).unwrap();
    let calls = every_call(&mut g, &shared[0]);
    let get = |calls: &Calls, what: &str| calls.iter().find(|c| c.0 == what).unwrap().1.clone();
    assert_eq!(get(&calls, "load"), Ok("{}".into()));
    assert_eq!(get(&calls, "exists"), Ok("false".into()));
    for w in ["save", "create"] {
        let (kind, detail) = get(&calls, w).unwrap_err();
        assert!(kind == "io" && detail.contains("No such file"), "{w}: {kind}: {detail}");
    }
    observed.push(format!(
        "removed: load {{}}, exists false, delete ok, save and create io ({})",
        get(&calls, "create").unwrap_err().1
    ));
    // Recreated at the same path: the live instance still holds the removed directory
    // (clear errors); a new instance works in the new one.
    std::fs::create_dir(env.path()).unwrap();
    let calls = every_call(&mut g, &shared[0]);
    assert!(get(&calls, "create").is_err(), "the live instance writes into the removed directory");
    assert_eq!(env.files(), Vec::<String>::new());
    let mut fresh = env.guest();
    let s = fresh.session(None).unwrap();
    fresh.create(s).unwrap();
    assert_eq!(env.files().len(), 1);

    // 2. The directory renamed away and replaced by a new one: the live instance's
    // descriptor follows the old directory, so nothing it does reaches the new one.
    let env = Env::new();
    let shared = shared_sessions(&env, 1);
    let mut g = env.guest();
    let moved = tempfile::tempdir().unwrap();
    let moved_to = moved.path().join("moved");
    std::fs::rename(env.path(), &moved_to).unwrap();
    std::fs::create_dir(env.path()).unwrap();
    let calls = every_call(&mut g, &shared[0]);
    assert!(calls.iter().all(|c| c.1.is_ok()), "{calls:?}");
    assert_eq!(env.files(), Vec::<String>::new(), "the replacement directory was touched");
    assert!(std::fs::read_dir(&moved_to).unwrap().count() >= 1);
    observed.push(
        "renamed and replaced: the live instance keeps working in the moved directory, the new one stays untouched"
            .into(),
    );

    // 3. SESSION_FILE_PATH a subdirectory of the preopen, removed; then replaced by a file.
    let env = Env::new();
    let sub = env.file("sub");
    std::fs::create_dir(&sub).unwrap();
    let tenant = env.tenant.clone().env("SESSION_FILE_PATH", &sub.display().to_string());
    let rt = runtime();
    let mut g = rt.instantiate(&tenant).unwrap();
    let s = g.session(None).unwrap();
    g.create(s).unwrap();
    let k = g.session_key(s).unwrap().unwrap();
    std::fs::remove_dir_all(&sub).unwrap();
    let calls = every_call(&mut g, &k);
    assert!(get(&calls, "create").is_err());
    std::fs::write(&sub, b"now a file").unwrap();
    let calls = every_call(&mut g, &k);
    assert!(get(&calls, "create").is_err());
    let mut fresh = rt.instantiate(&tenant).unwrap();
    let (kind, detail) = store_err(fresh.session(None), "a file in place of SESSION_FILE_PATH");
    assert_eq!(kind, "improperly-configured", "{detail}");
    assert_eq!(std::fs::read(&sub).unwrap(), b"now a file");
    observed.push(format!(
        "a subdirectory removed, then a file in its place: io errors from the live instance, {kind} for a new one"
    ));

    // 4. The preopen itself replaced by a file: the host cannot preopen it (an error from
    // instantiate, not a panic), the live instance keeps its descriptor.
    let env = Env::new();
    let mut g = env.guest();
    std::fs::remove_dir_all(env.path()).unwrap();
    std::fs::write(env.path(), b"file").unwrap();
    let calls = every_call(&mut g, "abcdefgh12345678");
    assert!(get(&calls, "create").is_err());
    assert!(runtime().instantiate(&env.tenant).is_err(), "preopening a file");
    std::fs::remove_file(env.path()).unwrap();
    std::fs::create_dir(env.path()).unwrap(); // for TempDir's cleanup
    observed.push(
        "the preopen replaced by a file: instantiate fails with a host error, the live instance returns io errors"
            .into(),
    );

    report(
        "storage directory removed or replaced",
        "live instances (every call: load, save, create, exists, delete, clear-expired) after their directory was removed, recreated, renamed and replaced, or replaced by a file; SESSION_FILE_PATH as a subdirectory removed and replaced by a file",
        &format!("never a trap; {}", observed.join("; ")),
    );
}
