//! A FIFO swapped in for a session file while the store reads it (issue 13, finding 1).
//!
//! Opening a FIFO for reading waits until a writer comes, and neither epoch nor fuel can
//! interrupt a host call. The store used to check a name's type with `stat-at` and then
//! `open-at` it for reading: whoever can write to the directory could rename a FIFO over
//! the session file in between and leave the call, and the host thread under it, waiting
//! for good. It now opens the file for reading and writing, which on Linux does not wait on
//! a FIFO, and checks the type of what it opened; only where it may not write (a read-only
//! preopen or mount) does it check first, and there the window remains.
//!
//! Two attackers: a thread exchanging the session file and a FIFO at the session's name as
//! fast as it can (`renameat2(RENAME_EXCHANGE)`) while the store reads that name, for each
//! of `load`, `clear-expired`, `aload` and `aclear-expired`; and the same exchange made at
//! each epoch checkpoint of one call in turn, which hits the window deterministically. A
//! call that has not returned after [`BLOCKED`] counts as blocked; the FIFO, always at one
//! of the two names, is then given a writer so that the call and the test end. Every test
//! prints a `RELIABILITY | ...` line for `host-tests/reliability-report.sh`.

mod common;

use common::stress::report;
use common::*;
use file_sessions_host::{Guest, Tenant};
use serde_json::json;
use std::collections::BTreeMap;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Duration;
use wasmtime::UpdateDeadline;

const KEY: &str = "f1f0race000000000000000000000000";
const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

/// How long one call may take before it counts as blocked. A read takes well under a
/// millisecond here; only a call waiting on a FIFO takes anywhere near this.
const BLOCKED: Duration = Duration::from_secs(5);

/// Calls per free-running race: before the fix, the async ones blocked within a few
/// hundred, the sync ones within a few thousand (the sync window is narrower).
const CALLS: usize = 3000;

/// What a worker sends once its instance is ready: compiling the component (in a debug
/// build, once per runtime) is not a call, so the clock starts after it.
const READY: &str = "ready";

const SESSION: &str = "the session";
const MISSING: &str = "{} (the FIFO, read as missing)";
const NOTHING_SWEPT: &str = "nothing to remove";

fn mkfifo(path: &Path, mode: u32) {
    let mode = rustix::fs::Mode::from_raw_mode(mode);
    rustix::fs::mknodat(rustix::fs::CWD, path, rustix::fs::FileType::Fifo, mode, 0).unwrap();
}

/// Exchanges the entries at `a` and `b`, atomically: each name always holds one of them.
fn exchange(a: &Path, b: &Path) {
    let cwd = rustix::fs::CWD;
    rustix::fs::renameat_with(cwd, a, cwd, b, rustix::fs::RenameFlags::EXCHANGE).unwrap();
}

/// Lets a reader waiting in a FIFO's open go: a writer opens it without blocking (which
/// fails unless a reader is there) and closes it again (the reader then sees the end of the
/// stream). Returns whether a reader was there, i.e. a call was waiting on the FIFO.
fn release(names: &[PathBuf]) -> bool {
    let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
    names.iter().any(|name| {
        let opened = std::fs::OpenOptions::new().write(true).custom_flags(nonblock).open(name);
        opened.is_ok_and(|f| f.metadata().unwrap().file_type().is_fifo())
    })
}

/// The session file of `KEY` (holding `{"user": 7}`) and a FIFO at a spare name, which is
/// not a session name: the sweep never looks at it.
fn plant(env: &Env) -> [PathBuf; 2] {
    std::fs::write(env.session_file(KEY), signed(&json!({"user": 7}))).unwrap();
    mkfifo(&env.file("spare"), 0o600);
    [env.session_file(KEY), env.file("spare")]
}

/// What a `load` returned.
fn seen(loaded: Result<String, file_sessions_host::HostError>) -> String {
    match loaded.map(|text| json(&text)) {
        Ok(v) if v == json!({"user": 7}) => SESSION.into(),
        Ok(v) if v == json!({}) => MISSING.into(),
        other => format!("{other:?}"),
    }
}

/// What a sweep returned: it must never remove the live session, nor fail on the FIFO.
macro_rules! swept {
    ($report:expr) => {
        match $report {
            Ok(r) if (r.scanned, r.expired_sessions, r.failures) == (1, 0, 0) => NOTHING_SWEPT.to_owned(),
            other => format!("{other:?}"),
        }
    };
}

/// A sync `load` of `KEY` in a session of its own (a missing session forgets its key).
fn load(g: &mut Guest) -> String {
    let s = g.session(Some(KEY)).unwrap();
    let outcome = seen(g.load(s));
    g.drop_session(s).unwrap();
    outcome
}

fn sweep(g: &mut Guest) -> String {
    swept!(g.clear_expired())
}

/// Receives what the worker's calls returned until it hangs up. A call that has not
/// returned after `patience` and is found waiting in the FIFO's open (after `on_block`,
/// which stops the swapping) counts as blocked and is let go ([`release`]). Returns the
/// outcomes in order, each with whether its call blocked.
fn collect(
    rx: &Receiver<String>,
    names: &[PathBuf],
    patience: Duration,
    mut on_block: impl FnMut(),
) -> Vec<(String, bool)> {
    assert_eq!(rx.recv().expect("the worker ended before its instance was ready"), READY);
    let (mut outcomes, mut waited) = (Vec::new(), Duration::ZERO);
    loop {
        match rx.recv_timeout(patience) {
            Ok(outcome) => {
                outcomes.push((outcome, false));
                waited = Duration::ZERO;
            }
            Err(RecvTimeoutError::Disconnected) => return outcomes,
            Err(RecvTimeoutError::Timeout) => {
                on_block();
                if release(names) {
                    let outcome = rx.recv_timeout(BLOCKED).expect("a call stays blocked after the FIFO got a writer");
                    outcomes.push((outcome, true));
                    continue;
                }
                waited += patience;
                assert!(waited < 12 * BLOCKED, "a call has taken {waited:?} without waiting on the FIFO");
            }
        }
    }
}

/// `n what` for each outcome, and how many calls blocked.
fn tally(outcomes: &[(String, bool)]) -> (BTreeMap<&str, usize>, usize) {
    let mut counts = BTreeMap::new();
    for (outcome, _) in outcomes {
        *counts.entry(outcome.as_str()).or_insert(0) += 1;
    }
    (counts, outcomes.iter().filter(|o| o.1).count())
}

fn listed(counts: &BTreeMap<&str, usize>) -> String {
    counts.iter().map(|(what, n)| format!("{n} {what}")).collect::<Vec<_>>().join(", ")
}

// ---------------------------------------------------------------------------------------
// A thread swapping as fast as it can
// ---------------------------------------------------------------------------------------

/// Runs `calls` on a thread of its own (it instantiates, sends [`READY`], makes up to
/// [`CALLS`] calls, sends what each returned, and stops early when told) while another
/// thread exchanges the session file and the FIFO. A call that blocks stops both.
/// Returns the outcomes and the number of exchanges made.
fn under_swaps(
    env: &Env,
    calls: impl FnOnce(Sender<String>, Arc<AtomicBool>) + Send + 'static,
) -> (Vec<(String, bool)>, u64) {
    let names = plant(env);
    let quit = Arc::new(AtomicBool::new(false));
    let (tx, rx) = std::sync::mpsc::channel();
    let worker = std::thread::spawn({
        let quit = quit.clone();
        move || calls(tx, quit)
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (names2, stop2) = (names.clone(), stop.clone());
    let mut swapper = Some(std::thread::spawn(move || {
        let mut swaps = 0u64;
        while !stop2.load(Ordering::Relaxed) {
            exchange(&names2[0], &names2[1]);
            swaps += 1;
        }
        swaps
    }));
    let mut swaps = 0;
    let mut stop_swapping = || {
        stop.store(true, Ordering::Relaxed);
        if let Some(thread) = swapper.take() {
            swaps = thread.join().unwrap();
        }
    };
    let outcomes = collect(&rx, &names, BLOCKED, || {
        quit.store(true, Ordering::Relaxed);
        stop_swapping(); // the names stay put, so the FIFO can be found
    });
    stop_swapping();
    worker.join().unwrap();
    assert!(names.iter().all(|n| n.exists()), "nothing was removed");
    (outcomes, swaps)
}

/// The assertions every free-running race shares, and its report line.
fn assert_and_report(check: &str, (outcomes, swaps): (Vec<(String, bool)>, u64), expected: &[&str]) {
    let (counts, blocked) = tally(&outcomes);
    let summary = format!("{} calls returned ({}) during {swaps} exchanges", outcomes.len(), listed(&counts));
    assert_eq!(blocked, 0, "{check}: call {} blocked on the FIFO; {summary}", outcomes.len());
    assert_eq!(outcomes.len(), CALLS, "{summary}");
    assert!(counts.keys().all(|o| expected.contains(o)), "{check}: unexpected outcomes: {summary}");
    assert!(swaps >= CALLS as u64, "the attacker hardly ran: {summary}");
    report(
        check,
        &format!(
            "a thread exchanging the session file and a FIFO at the session's name as fast as it can (renameat2 RENAME_EXCHANGE) while the store reads that name {CALLS} times; a call still running after {} s and found waiting in the FIFO's open would count as blocked",
            BLOCKED.as_secs()
        ),
        &format!("none blocked: {summary}"),
    );
}

/// Sync calls: `call` on a fresh instance, [`CALLS`] times.
fn sync_calls(tenant: Tenant, call: fn(&mut Guest) -> String) -> impl FnOnce(Sender<String>, Arc<AtomicBool>) + Send {
    move |tx, quit| {
        let mut g = runtime().instantiate(&tenant).unwrap();
        tx.send(READY.into()).unwrap();
        for _ in 0..CALLS {
            if quit.load(Ordering::Relaxed) || tx.send(call(&mut g)).is_err() {
                break;
            }
        }
    }
}

/// The async twins' `aload` (or `aclear-expired`), on a current-thread executor of their own.
fn async_calls(tenant: Tenant, sweep: bool) -> impl FnOnce(Sender<String>, Arc<AtomicBool>) + Send {
    move |tx, quit| {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut g = async_runtime().instantiate(&tenant).await.unwrap();
            tx.send(READY.into()).unwrap();
            for _ in 0..CALLS {
                if quit.load(Ordering::Relaxed) {
                    break;
                }
                let outcome = if sweep {
                    swept!(g.aclear_expired().await)
                } else {
                    let s = g.session(Some(KEY)).await.unwrap();
                    let outcome = seen(g.aload(s).await);
                    g.drop_session(s).await.unwrap();
                    outcome
                };
                if tx.send(outcome).is_err() {
                    break;
                }
            }
        })
    }
}

#[test]
fn a_fifo_swapped_in_under_load_never_blocks_it() {
    let env = Env::new();
    let race = under_swaps(&env, sync_calls(env.tenant.clone(), load));
    assert_and_report("FIFO swapped in under load (finding 1)", race, &[SESSION, MISSING]);
}

#[test]
fn a_fifo_swapped_in_under_clear_expired_never_blocks_it() {
    let env = Env::new();
    let race = under_swaps(&env, sync_calls(env.tenant.clone(), sweep));
    assert_and_report("FIFO swapped in under clear-expired (finding 1)", race, &[NOTHING_SWEPT]);
}

#[test]
fn a_fifo_swapped_in_under_aload_never_blocks_it() {
    let env = Env::new();
    let race = under_swaps(&env, async_calls(env.tenant.clone(), false));
    assert_and_report("FIFO swapped in under aload (finding 1)", race, &[SESSION, MISSING]);
}

#[test]
fn a_fifo_swapped_in_under_aclear_expired_never_blocks_it() {
    let env = Env::new();
    let race = under_swaps(&env, async_calls(env.tenant.clone(), true));
    assert_and_report("FIFO swapped in under aclear-expired (finding 1)", race, &[NOTHING_SWEPT]);
}

// ---------------------------------------------------------------------------------------
// The swap injected at every epoch checkpoint of one call
// ---------------------------------------------------------------------------------------

/// Runs `call` once for each epoch checkpoint n of it (function entries and loop back-edges
/// in the guest; counted in a first run), with the session file and the FIFO exchanged at
/// checkpoint n and the file back at its name before each run. Returns, per n, what the
/// call returned and whether it blocked.
fn at_every_checkpoint(
    tenant: Tenant,
    names: [PathBuf; 2],
    patience: Duration,
    call: fn(&mut Guest) -> String,
) -> Vec<(String, bool)> {
    let (tx, rx) = std::sync::mpsc::channel();
    let worker_names = names.clone();
    let worker = std::thread::spawn(move || {
        let [name, spare] = worker_names;
        let mut g = instrumented().instantiate(&tenant).unwrap();
        let counted = Arc::new(AtomicU64::new(0));
        let c = counted.clone();
        g.store_mut().epoch_deadline_callback(move |_| {
            c.fetch_add(1, Ordering::Relaxed);
            Ok(UpdateDeadline::Continue(0))
        });
        g.store_mut().set_epoch_deadline(0);
        call(&mut g);
        tx.send(READY.into()).unwrap();
        for n in 1..=counted.load(Ordering::Relaxed) {
            if std::fs::symlink_metadata(&name).unwrap().file_type().is_fifo() {
                exchange(&name, &spare);
            }
            let (a, b, mut seen) = (name.clone(), spare.clone(), 0);
            g.store_mut().epoch_deadline_callback(move |_| {
                seen += 1;
                if seen == n {
                    exchange(&a, &b);
                }
                Ok(UpdateDeadline::Continue(0))
            });
            g.store_mut().set_epoch_deadline(0);
            if tx.send(call(&mut g)).is_err() {
                break;
            }
        }
    });
    let outcomes = collect(&rx, &names, patience, || {});
    worker.join().unwrap();
    outcomes
}

/// `load` with the swap at each of its checkpoints in turn: a swap before the open reads
/// the FIFO as missing, one after it the session; none waits.
#[test]
fn a_fifo_swapped_in_at_every_checkpoint_of_a_load_never_blocks_it() {
    let env = Env::new();
    let names = plant(&env);
    let outcomes = at_every_checkpoint(env.tenant.clone(), names, BLOCKED, load);
    let (counts, blocked) = tally(&outcomes);
    assert_eq!(blocked, 0, "blocked: {}", listed(&counts));
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), [SESSION, MISSING], "{}", listed(&counts));
    // In order: the FIFO up to the open, then the session.
    let first_session = outcomes.iter().position(|o| o.0 == SESSION).unwrap();
    assert!(outcomes[first_session..].iter().all(|o| o.0 == SESSION), "{}", listed(&counts));
    report(
        "FIFO swapped in at each checkpoint of a load (finding 1)",
        &format!(
            "the session file and a FIFO exchanged at each of the {} epoch checkpoints (function entries and loop back-edges) of one load in turn, one run each",
            outcomes.len()
        ),
        &format!(
            "none blocked: {} (the swap came before the open: the FIFO, opened for reading and writing, which does not wait, is seen for what it is), then {} (after it)",
            counts[MISSING], counts[SESSION]
        ),
    );
}

#[test]
fn a_fifo_swapped_in_at_every_checkpoint_of_clear_expired_never_blocks_it() {
    let env = Env::new();
    let names = plant(&env);
    let outcomes = at_every_checkpoint(env.tenant.clone(), names.clone(), BLOCKED, sweep);
    let (counts, blocked) = tally(&outcomes);
    assert_eq!(blocked, 0, "blocked: {}", listed(&counts));
    assert_eq!(counts.keys().copied().collect::<Vec<_>>(), [NOTHING_SWEPT], "{}", listed(&counts));
    assert!(names.iter().all(|n| n.exists()), "nothing was removed");
    report(
        "FIFO swapped in at each checkpoint of clear-expired (finding 1)",
        &format!(
            "the session file and a FIFO exchanged at each of the {} epoch checkpoints of one clear-expired in turn, one run each",
            outcomes.len()
        ),
        &format!("none blocked: every run swept nothing and failed on nothing ({})", listed(&counts)),
    );
}

/// What remains: a read-only preopen cannot open the file for writing, so the store checks
/// the type first and the window is back. The calls swapped in it wait until a writer
/// opens the FIFO; neither fuel nor epochs end them.
#[test]
fn a_read_only_preopen_still_has_the_window() {
    let env = Env::new();
    let names = plant(&env);
    let tenant = env.tenant.clone().perms(wasmtime_wasi::FsPerms::ReadOnly);
    // Here blocking is expected: a call is looked at after 50 ms, and counts as blocked
    // only when it is found waiting in the FIFO's open.
    let outcomes = at_every_checkpoint(tenant, names, Duration::from_millis(50), load);
    let (counts, blocked) = tally(&outcomes);
    let window: Vec<usize> = (1..=outcomes.len()).filter(|&n| outcomes[n - 1].1).collect();
    assert!(blocked > 0, "no checkpoint between the type check and the open: {}", listed(&counts));
    assert!(window.windows(2).all(|w| w[1] == w[0] + 1), "the blocking checkpoints are not one window: {window:?}");
    assert!(outcomes.iter().filter(|o| o.1).all(|o| o.0 == MISSING), "a released call read other than {{}}");
    report(
        "FIFO swapped in under a read-only preopen: what remains (finding 1)",
        &format!(
            "the session file and a FIFO exchanged at each of the {} epoch checkpoints of one load in turn, on a read-only preopen (FsPerms::ReadOnly: the store may not open for writing, so it checks the type first)",
            outcomes.len()
        ),
        &format!(
            "the swap at {blocked} consecutive checkpoints (those between the type check and the open) left the load waiting in the FIFO's open until a writer came (let in here after 50 ms; the load then read {{}}); the others did not block ({})",
            listed(&counts)
        ),
    );
}

/// The system refuses to open a file being run for writing (`ETXTBSY`), which wasmtime-wasi
/// reports as `io`, as it does a read-only mount. The store asks the directory itself
/// before it falls back to checking first, so a program planted and run at a session's
/// name, swapped with a FIFO, does not bring the window back.
#[test]
fn a_program_running_at_a_session_name_does_not_bring_the_window_back() {
    let env = Env::new();
    let names = [env.session_file(KEY), env.file("spare")];
    std::fs::copy("/bin/sleep", &names[0]).unwrap();
    std::fs::set_permissions(&names[0], std::fs::Permissions::from_mode(0o700)).unwrap();
    mkfifo(&names[1], 0o600);
    let mut running = std::process::Command::new(&names[0]).arg("600").spawn().unwrap();
    let busy = std::fs::OpenOptions::new().write(true).open(&names[0]).unwrap_err();
    assert_eq!(busy.kind(), std::io::ErrorKind::ExecutableFileBusy, "{busy}");
    let outcomes = at_every_checkpoint(env.tenant.clone(), names, BLOCKED, load);
    running.kill().unwrap();
    running.wait().unwrap();
    let (counts, blocked) = tally(&outcomes);
    assert_eq!(blocked, 0, "blocked: {}", listed(&counts));
    // The program itself cannot be opened (for writing): an error that is not "no file",
    // which the store reports once its retries are spent.
    let unopenable = |o: &&str| o.starts_with("Err(Store(Error::Io(\"cannot read ");
    assert!(counts.contains_key(MISSING), "{}", listed(&counts));
    assert!(counts.keys().all(|o| *o == MISSING || unopenable(o)), "{}", listed(&counts));
    report(
        "a program running at a session's name (finding 1)",
        &format!(
            "a copy of /bin/sleep run from the session's name (so an open for writing fails with ETXTBSY, which wasmtime-wasi reports as io, as it does EROFS) and a FIFO exchanged with it at each of the {} epoch checkpoints of one load in turn",
            outcomes.len()
        ),
        &format!(
            "none blocked: the renaming of the name onto itself succeeded, so the store did not fall back to checking first; a load read {{}} (the FIFO) or `io` (the program, which cannot be opened) ({})",
            listed(&counts)
        ),
    );
}

// ---------------------------------------------------------------------------------------
// A file the host's user may not write
// ---------------------------------------------------------------------------------------

/// `sessions load KEY` on `dir` as `uid` (the tests' own user when not root), bounded:
/// its exit status, output and error output.
fn load_as(uid: Option<u32>, dir: &Path, key: &str) -> (Option<i32>, String, String) {
    let mut cmd = std::process::Command::new(SESSIONS);
    cmd.args(["--dir", dir.to_str().unwrap(), "load", key])
        .env_clear()
        .env("SECRET_KEY", SECRET)
        .env("XDG_CACHE_HOME", dir.join(".cache"))
        .current_dir("/");
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let id = child.id();
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    while !waiter.is_finished() {
        if std::time::Instant::now() > deadline {
            let _ = std::process::Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("sessions load {key} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = waiter.join().unwrap();
    let text = |bytes: Vec<u8>| String::from_utf8(bytes).unwrap().trim_end().to_owned();
    (out.status.code(), text(out.stdout), text(out.stderr))
}

/// The store does not fall back to checking first when the system refuses to open a file
/// for writing (`EACCES`): whoever can write to the directory could plant a FIFO of mode
/// 0444 to get the window back. So a session file the host's user may read but not write is
/// treated as one it cannot open at all (mode 0000), whatever the store answers for those;
/// Django reads it. A FIFO of mode 0444 gets the same answer, without blocking.
#[test]
fn a_file_the_host_may_not_write_is_treated_as_unreadable() {
    // As root every open succeeds: run the CLI as nobody in a directory of nobody's.
    let uid = rustix::process::geteuid().is_root().then_some(65534);
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    let file = |key: &str| dir.path().join(format!("sessionid{key}"));
    // Errors show a key's first 4 characters: the same 4 here, so the answers compare.
    let (writable, readable, unreadable, fifo) = (
        "unwr0600000000000000000000000000",
        "unwr0400000000000000000000000000",
        "unwr0000000000000000000000000000",
        "unwr0444fifo00000000000000000000",
    );
    for (key, mode) in [(writable, 0o600), (readable, 0o400), (unreadable, 0o000)] {
        std::fs::write(file(key), signed(&json!({"user": 7}))).unwrap();
        std::fs::set_permissions(file(key), std::fs::Permissions::from_mode(mode)).unwrap();
    }
    mkfifo(&file(fifo), 0o444);
    if let Some(uid) = uid {
        let (owner, group) = (rustix::process::Uid::from_raw(uid), rustix::process::Gid::from_raw(uid));
        for path in [dir.path().to_path_buf(), file(writable), file(readable), file(unreadable), file(fifo)] {
            rustix::fs::chown(&path, Some(owner), Some(group)).unwrap();
        }
    }
    let loaded = load_as(uid, dir.path(), writable);
    assert_eq!(loaded, (Some(0), r#"{"user":7}"#.to_owned(), String::new()), "a session file of mode 0600 loads");
    let unreadable_answer = load_as(uid, dir.path(), unreadable);
    assert!(!unreadable_answer.1.contains("user"), "{unreadable_answer:?}");
    assert_eq!(load_as(uid, dir.path(), readable), unreadable_answer, "mode 0400 is treated as mode 0000");
    assert_eq!(load_as(uid, dir.path(), fifo), unreadable_answer, "a FIFO of mode 0444 too");
    report(
        "session files the host may not write (finding 1)",
        &format!(
            "`sessions load` as {} of session files of modes 0600, 0400 and 0000, and of a FIFO of mode 0444 (which an attacker could plant to make the store check first)",
            if uid.is_some() { "uid 65534 (the suite runs as root)" } else { "the suite's own user" }
        ),
        &format!(
            "the 0600 file loads; the 0400 file and the FIFO get what the 0000 file gets ({}), and nothing blocked",
            match &unreadable_answer {
                (Some(0), out, _) => format!("`{out}`"),
                (code, _, err) => format!("exit {code:?}: `{err}`"),
            }
        ),
    );
}
