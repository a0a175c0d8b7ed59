//! `clear-expired-batch` and names that are not UTF-8, through both components: the sync
//! `store` interface of the portable component and `aclear-expired-batch` of the async one
//! (WASI 0.3), on real files.
//!
//! What this proves: a sweep in bounded steps, from no cursor to no cursor, adds up to
//! what one `clear-expired` reports and leaves the same files, whether one instance takes
//! every step (continuing its open listing) or a new instance takes each (re-listing up to
//! the cursor); a dry run removes nothing and counts what the real sweep removes; bad
//! cursors and a zero limit are `invalid-value`; and a file name that is not UTF-8 is
//! counted and passed by every form of the sweep (issue 13, finding 2), including the WASI
//! 0.3 listing, which ends at such a name.

mod common;
use common::stress::report;
use common::*;

use file_sessions_host::ClearReport;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// Two weeks and a day: older than the default cookie age.
const OLD: u64 = 15 * 24 * 3600;

/// The counts of a report, in WIT order (the two components' records are distinct types).
type Counts = [u64; 6];

fn counts(r: &ClearReport) -> Counts {
    [r.scanned, r.expired_sessions, r.orphaned_temp_files, r.stale_placeholders, r.failures, r.undecodable_names]
}

fn async_counts(r: &file_sessions_host::twins::ClearReport) -> Counts {
    [r.scanned, r.expired_sessions, r.orphaned_temp_files, r.stale_placeholders, r.failures, r.undecodable_names]
}

fn add(total: &mut Counts, step: Counts) {
    total.iter_mut().zip(step).for_each(|(t, s)| *t += s);
}

/// A key for hand-written files, distinct per `n`.
fn key(n: usize) -> String {
    format!("{n:0>32}")
}

/// `n` groups of every kind of file the sweep tells apart: per group one live session,
/// one expired, one stale placeholder, one fresh placeholder, one orphaned temp file, one
/// recent temp file, one uppercase name and one unrelated file (3 of the 8 go).
fn populate(env: &Env, groups: usize) {
    let live = signed(&serde_json::json!({"user": 1}));
    let write = |name: String, body: &str, age: u64| {
        std::fs::write(env.file(&name), body).unwrap();
        age_file(&env.file(&name), age);
    };
    for g in 0..groups {
        write(format!("sessionid{}", key(g * 10)), &live, 10);
        write(format!("sessionid{}", key(g * 10 + 1)), &live, OLD);
        write(format!("sessionid{}", key(g * 10 + 2)), "", OLD);
        write(format!("sessionid{}", key(g * 10 + 3)), "", 10);
        write(format!("sessionid{}_out_abcd{g:04}", key(g * 10 + 4)), &live, 2 * 3600);
        write(format!("sessionid{}_out_efgh{g:04}", key(g * 10 + 5)), &live, 60);
        write(format!("sessionidUPPER{g:027}"), &live, OLD);
        write(format!("unrelated-{g}.txt"), "x", OLD);
    }
}

/// What one `clear-expired` reports for `populate(_, groups)`, plus `undecodable` names.
fn full(groups: u64, undecodable: u64) -> Counts {
    [7 * groups, groups, groups, groups, 0, undecodable]
}

/// The files `populate` leaves after a sweep.
fn survivors(groups: usize) -> usize {
    groups * 5
}

/// A sweep in steps of `limit` through the portable component: all steps in one instance
/// or each in a new one.
fn sync_sweep(env: &Env, limit: u32, dry_run: bool, one_instance: bool) -> (Counts, usize) {
    let (mut total, mut cursor, mut steps) = ([0; 6], None::<String>, 0);
    let mut g = env.guest();
    loop {
        if !one_instance {
            g = env.guest();
        }
        let batch = g.clear_expired_batch(cursor.as_deref(), limit, dry_run).unwrap();
        add(&mut total, counts(&batch.report));
        steps += 1;
        match batch.cursor {
            None => return (total, steps),
            Some(c) => cursor = Some(c),
        }
    }
}

/// The same through the async component's `aclear-expired-batch`.
async fn async_sweep(env: &Env, limit: u32, dry_run: bool, one_instance: bool) -> (Counts, usize) {
    let (mut total, mut cursor, mut steps) = ([0; 6], None::<String>, 0);
    let mut g = env.async_guest().await;
    loop {
        if !one_instance {
            g = env.async_guest().await;
        }
        let batch = g.aclear_expired_batch(cursor.as_deref(), limit, dry_run).await.unwrap();
        add(&mut total, async_counts(&batch.report));
        steps += 1;
        match batch.cursor {
            None => return (total, steps),
            Some(c) => cursor = Some(c),
        }
    }
}

/// Limits around the 40 entries of `populate(_, 5)`, and the steps they take.
const LIMITS: [u32; 5] = [1, 7, 39, 40, 1000];

fn steps_for(limit: u32) -> usize {
    40 / limit as usize + 1 // a last step ends the sweep once all are examined
}

#[test]
fn batches_add_up_to_one_sweep() {
    for one_instance in [true, false] {
        for limit in LIMITS {
            let env = Env::new();
            populate(&env, 5);
            let what = format!("limit {limit}, one instance: {one_instance}");
            assert_eq!(sync_sweep(&env, limit, false, one_instance), (full(5, 0), steps_for(limit)), "{what}");
            assert_eq!(env.files().len(), survivors(5), "{what}");
            assert_eq!(counts(&env.guest().clear_expired().unwrap()), [20, 0, 0, 0, 0, 0], "{what}: nothing left");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn async_batches_add_up_to_one_sweep() {
    for one_instance in [true, false] {
        for limit in LIMITS {
            let env = Env::new();
            populate(&env, 5);
            let what = format!("limit {limit}, one instance: {one_instance}");
            assert_eq!(async_sweep(&env, limit, false, one_instance).await, (full(5, 0), steps_for(limit)), "{what}");
            assert_eq!(env.files().len(), survivors(5), "{what}");
        }
    }
}

/// The one-call form and the batches agree with each other on the same directory.
#[test]
fn one_clear_expired_reports_what_the_batches_do() {
    let env = Env::new();
    populate(&env, 5);
    let before = snapshot(env.path());
    assert_eq!(sync_sweep(&env, 3, true, true).0, full(5, 0));
    assert_eq!(counts(&env.guest().clear_expired().unwrap()), full(5, 0));
    assert_ne!(snapshot(env.path()), before);
}

#[test]
fn a_dry_run_removes_nothing_and_counts_what_would_go() {
    let env = Env::new();
    populate(&env, 5);
    let before = snapshot(env.path());
    for one_instance in [true, false] {
        for limit in LIMITS {
            let what = format!("limit {limit}, one instance: {one_instance}");
            assert_eq!(sync_sweep(&env, limit, true, one_instance), (full(5, 0), steps_for(limit)), "{what}");
            assert_eq!(snapshot(env.path()), before, "{what}: every file, byte and mtime as it was");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_async_dry_run_removes_nothing() {
    let env = Env::new();
    populate(&env, 5);
    let before = snapshot(env.path());
    for (limit, one_instance) in [(1, true), (7, false), (1000, true)] {
        assert_eq!(async_sweep(&env, limit, true, one_instance).await, (full(5, 0), steps_for(limit)));
        assert_eq!(snapshot(env.path()), before);
    }
}

/// The instance that returned a cursor continues its listing: files created after the
/// first step are not part of this sweep (the next one gets them).
#[test]
fn one_instance_continues_its_listing() {
    let env = Env::new();
    populate(&env, 1);
    let mut g = env.guest();
    let first = g.clear_expired_batch(None, 1, false).unwrap();
    let live = signed(&serde_json::json!({"late": true}));
    for n in 0..20 {
        let name = format!("sessionid{}", key(1000 + n));
        std::fs::write(env.file(&name), &live).unwrap();
        age_file(&env.file(&name), OLD);
    }
    let mut total = counts(&first.report);
    let mut cursor = first.cursor;
    while let Some(c) = cursor {
        let batch = g.clear_expired_batch(Some(&c), 1, false).unwrap();
        add(&mut total, counts(&batch.report));
        cursor = batch.cursor;
    }
    assert_eq!(total, full(1, 0), "the 20 late files are not in this sweep");
    assert_eq!(g.clear_expired().unwrap().expired_sessions, 20, "the next sweep removes them");
}

#[test]
fn bad_cursors_and_a_zero_limit_are_invalid_values() {
    let env = Env::new();
    populate(&env, 1);
    let before = snapshot(env.path());
    let mut g = env.guest();
    for bad in ["", "v1:", "v1:-1", "v1:+1", "v1:1x", "v2:1", "12", "v1:1 ", "v1:99999999999999999999999"] {
        let msg = store_err!(g.clear_expired_batch(Some(bad), 10, false), InvalidValue);
        assert!(msg.contains("cursor"), "{bad:?}: {msg}");
    }
    let long = "x".repeat(100_000);
    let msg = store_err!(g.clear_expired_batch(Some(&long), 10, false), InvalidValue);
    assert!(msg.len() < 200, "the cursor is not echoed whole: {} bytes", msg.len());
    let msg = store_err!(g.clear_expired_batch(None, 0, false), InvalidValue);
    assert!(msg.contains("limit"), "{msg}");
    assert_eq!(snapshot(env.path()), before, "nothing was swept");
    // A cursor past the end is a finished sweep.
    let batch = g.clear_expired_batch(Some("v1:1000"), 10, false).unwrap();
    assert_eq!((counts(&batch.report), batch.cursor), ([0; 6], None));
}

#[tokio::test(flavor = "multi_thread")]
async fn async_bad_cursors_and_a_zero_limit_are_invalid_values() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    store_err!(g.aclear_expired_batch(Some("v1:x"), 10, false).await, InvalidValue);
    store_err!(g.aclear_expired_batch(None, 0, false).await, InvalidValue);
}

// ---------------------------------------------------------------------------------------
// Names that are not UTF-8 (issue 13, finding 2)
// ---------------------------------------------------------------------------------------

/// Adds names that are not UTF-8 (one with the prefix, one without) and expired sessions
/// until, in the directory's own listing order, expired sessions come after the first such
/// name: a sweep that stopped there would leave them. Returns how many sessions expired.
fn add_undecodable_names(env: &Env) -> u64 {
    for raw in [&b"sessionid\xff\xfe000000000000"[..], b"caf\xe9.txt"] {
        std::fs::write(env.path().join(OsStr::from_bytes(raw)), "x").unwrap();
    }
    let live = signed(&serde_json::json!({"user": 1}));
    let mut added = Vec::new();
    for n in 0..1000 {
        let name = format!("sessionid{}", key(5000 + n));
        std::fs::write(env.file(&name), &live).unwrap();
        age_file(&env.file(&name), OLD);
        added.push(std::ffi::OsString::from(name));
        let order: Vec<_> = std::fs::read_dir(env.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        let first_bad = order.iter().position(|n| n.to_str().is_none()).unwrap();
        if n >= 10 && order[first_bad..].iter().any(|n| added.contains(n)) {
            return added.len() as u64;
        }
    }
    panic!("no listing order with an expired session after the first undecodable name")
}

/// Every name in the directory, lossily, sorted.
fn all_names(env: &Env) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(env.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn names_that_are_not_utf8_do_not_stop_the_sweep() {
    let env = Env::new();
    populate(&env, 2);
    let expired = add_undecodable_names(&env);
    let want = [7 * 2 + expired, 2 + expired, 2, 2, 0, 2];
    let files = all_names(&env).len();
    assert_eq!(sync_sweep(&env, 3, true, true).0, want, "dry run, one instance");
    assert_eq!(sync_sweep(&env, 1, true, false).0, want, "dry run, an instance per step");
    let r = env.guest().clear_expired().unwrap();
    assert_eq!(counts(&r), want);
    assert_eq!(all_names(&env).len(), survivors(2) + 2, "only the undecodable names and the survivors are left");
    report(
        "file names that are not UTF-8 (finding 2)",
        &format!(
            "2 such names (one with the session prefix) among {} files, with {} expired sessions, added until some came after the first such name in the directory's own order; clear-expired and clear-expired-batch (dry run, one instance and an instance per step) through the portable component",
            files, expired
        ),
        "every form swept all the rest and counted 2 undecodable-names; the 2 names stay (the async component's forms: names_that_are_not_utf8_do_not_stop_the_async_sweep)",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn names_that_are_not_utf8_do_not_stop_the_async_sweep() {
    for form in ["aclear-expired", "batches, one instance", "batches, an instance per step", "sync export"] {
        let env = Env::new();
        populate(&env, 2);
        let expired = add_undecodable_names(&env);
        let want = [7 * 2 + expired, 2 + expired, 2, 2, 0, 2];
        let got = match form {
            "aclear-expired" => async_counts(&env.async_guest().await.aclear_expired().await.unwrap()),
            "batches, one instance" => async_sweep(&env, 3, false, true).await.0,
            "batches, an instance per step" => async_sweep(&env, 2, false, false).await.0,
            _ => {
                let mut g = env.async_guest().await;
                async_counts(&g.run(async |a, t| t.clear_expired(a).await).await.unwrap().unwrap())
            }
        };
        assert_eq!(got, want, "{form}");
        assert_eq!(all_names(&env).len(), survivors(2) + 2, "{form}");
    }
    report(
        "file names that are not UTF-8, async component (finding 2)",
        "the same directory through aclear-expired, aclear-expired-batch (one instance; an instance per step) and the sync export of the async component; WASI 0.3 ends its listing at such a name",
        "every form swept all the rest and counted 2 undecodable-names: the sweep went on through a WASI 0.2 listing skipped to where the WASI 0.3 one stopped",
    );
}
