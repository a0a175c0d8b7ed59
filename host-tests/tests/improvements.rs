#[macro_use]
mod common;
use common::*;

// The deliberate improvements over Django, asserted as OUR behaviour:
// 1. never trap on files Django crashes on; 2. an integer expiry counts inactivity from the
// mtime; 3. a failed write is an error and the previous file stays intact; 4. clear-expired
// removes orphaned temp files and stale placeholders and reports counts; 5. create publishes
// with a hard link, so no empty placeholder is ever visible.

use file_sessions_host::{ClearReport, Expiry};
use serde_json::{Value, json};
use std::path::Path;

/// Django's default `SESSION_COOKIE_AGE`.
const COOKIE_AGE: u64 = 1_209_600;

/// A key for hand-written files: 32 characters of `[a-z0-9]`, distinct per `n`.
fn key(n: u32) -> String {
    format!("{n:0>32}")
}

/// `(scanned, expired_sessions, orphaned_temp_files, stale_placeholders, failures)`.
fn counts(r: &ClearReport) -> (u64, u64, u64, u64, u64) {
    (r.scanned, r.expired_sessions, r.orphaned_temp_files, r.stale_placeholders, r.failures)
}

/// The session a file holds, decoded natively.
fn file_data(path: &Path) -> Value {
    signer().loads(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Names and bytes of the directory's files.
fn contents(env: &Env) -> Vec<(String, Vec<u8>)> {
    env.files()
        .into_iter()
        .map(|n| {
            let b = std::fs::read(env.file(&n)).unwrap_or_default();
            (n, b)
        })
        .collect()
}

fn is_temp(name: &str) -> bool {
    name.contains("_out_")
}

// ---------------------------------------------------------------------------------------
// 1. Never trap on files Django crashes on
// ---------------------------------------------------------------------------------------

/// Files Django's `load` raises on, each holding `"user": 42` if it were read leniently.
fn crashers() -> Vec<(&'static str, Vec<u8>, bool)> {
    let good = signed(&json!({"user": 42}));
    // (what, bytes, counts as expired)
    vec![
        ("non-ASCII bytes (UTF-8)", format!("{good}\u{e9}").into_bytes(), false),
        ("non-ASCII bytes (latin-1)", [good.as_bytes(), &[0xe9, 0xff]].concat(), false),
        ("signed non-object [1,2]", signed(&json!([1, 2])).into_bytes(), false),
        ("signed non-object {\"user\":42} in a list", signed(&json!([{"user": 42}])).into_bytes(), false),
        (
            "unparseable _session_expiry",
            signed(&json!({"user": 42, "_session_expiry": "not a date"})).into_bytes(),
            true,
        ),
        (
            "naive _session_expiry",
            signed(&json!({"user": 42, "_session_expiry": "2099-01-01T00:00:00"})).into_bytes(),
            true,
        ),
        ("_session_expiry of the wrong type", signed(&json!({"user": 42, "_session_expiry": [1]})).into_bytes(), true),
    ]
}

#[test]
fn files_django_crashes_on_load_as_empty_sessions() {
    for (what, bytes, expired) in crashers() {
        let env = Env::new();
        let k = key(1);
        std::fs::write(env.session_file(&k), &bytes).unwrap();
        let mut g = env.guest();
        let s = g.session(Some(&k)).unwrap();
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{what}");
        let t = g.session(Some(&k)).unwrap();
        assert_eq!(g.get(t, "user").unwrap(), None, "{what}");
        if expired {
            // An expiry Django cannot compare counts as expired: deleted, and replaced by
            // a new empty session under a new key.
            let new_key = g.session_key(s).unwrap().expect("a new key");
            assert_ne!(new_key, k, "{what}");
            assert!(g.modified(s).unwrap(), "{what}");
            // `t` found no file any more: an unknown key, nothing created for it.
            assert_eq!(g.session_key(t).unwrap(), None, "{what}");
            assert_eq!(env.files(), vec![format!("sessionid{new_key}")], "{what}");
            assert_eq!(file_data(&env.session_file(&new_key)), json!({}), "{what}");
        } else {
            // Unreadable data reads as `{}` and the key and the file are kept, as Django
            // does for a bad signature.
            assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k.as_str()), "{what}");
            assert!(!g.modified(s).unwrap(), "{what}");
            assert_eq!(contents(&env), vec![(format!("sessionid{k}"), bytes.clone())], "{what}");
        }
    }
}

#[test]
fn clear_expired_carries_on_past_files_django_crashes_on() {
    let env = Env::new();
    let mut expected_left = Vec::new();
    let mut n = 0;
    // Several copies of each, so that whatever the listing order, expired sessions come
    // after files Django's sweep would stop at.
    for _ in 0..3 {
        for (_, bytes, expired) in crashers() {
            n += 1;
            std::fs::write(env.session_file(&key(n)), &bytes).unwrap();
            if !expired {
                expected_left.push(format!("sessionid{}", key(n)));
            }
        }
        n += 1;
        let old = env.session_file(&key(n));
        std::fs::write(&old, signed(&json!({"a": 1}))).unwrap();
        age_file(&old, COOKIE_AGE + 5);
        n += 1;
        std::fs::write(env.session_file(&key(n)), signed(&json!({"a": 1}))).unwrap();
        expected_left.push(format!("sessionid{}", key(n)));
    }
    expected_left.sort();
    let before = contents(&env);
    let report = env.guest().clear_expired().unwrap();
    // 3 × (7 crashers + 2 sessions); 3 × (3 bad expiries + 1 old session) deleted.
    assert_eq!(counts(&report), (27, 12, 0, 0, 0));
    assert_eq!(env.files(), expected_left);
    for (name, bytes) in contents(&env) {
        let was = before.iter().find(|(n, _)| *n == name).unwrap();
        assert_eq!(bytes, was.1, "{name} was rewritten");
    }
    // Nothing was created, and a second sweep finds nothing more to do.
    let report = env.guest().clear_expired().unwrap();
    assert_eq!(counts(&report), (15, 0, 0, 0, 0));
    assert_eq!(env.files(), expected_left);
}

// ---------------------------------------------------------------------------------------
// 2. An integer expiry counts seconds of inactivity from the mtime
// ---------------------------------------------------------------------------------------

/// A saved session `{"user": 1}` with `set_expiry(seconds)`; returns its key.
fn saved_with_expiry(env: &Env, seconds: i64) -> String {
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    g.set(s, "user", "1").unwrap();
    g.set_expiry(s, Some(&Expiry::Seconds(seconds))).unwrap();
    g.save(s, false).unwrap();
    g.session_key(s).unwrap().unwrap()
}

#[test]
fn int_expiry_is_inactivity_since_the_last_save() {
    let env = Env::new();
    let k = saved_with_expiry(&env, 3600);
    let path = env.session_file(&k);
    assert_eq!(file_data(&path), json!({"user": 1, "_session_expiry": 3600}));

    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({"user": 1, "_session_expiry": 3600}));
    assert_eq!(g.get_expiry_age(s).unwrap(), 3600);

    age_file(&path, 3000);
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({"user": 1, "_session_expiry": 3600}), "59 minutes idle: live");
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k.as_str()));

    age_file(&path, 3601);
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({}), "an hour and a second idle: expired (Django: never)");
    let new_key = g.session_key(s).unwrap().expect("rotated to a new key");
    assert_ne!(new_key, k);
    assert!(g.modified(s).unwrap());
    assert_eq!(env.files(), vec![format!("sessionid{new_key}")], "the old file is gone");
    assert_eq!(file_data(&env.session_file(&new_key)), json!({}));
}

#[test]
fn int_expiry_overrides_the_cookie_age_both_ways() {
    // Longer than SESSION_COOKIE_AGE: the session outlives the cookie age...
    let env = Env::new().setting("SESSION_COOKIE_AGE", "100");
    let k = saved_with_expiry(&env, 3600);
    age_file(&env.session_file(&k), 1000);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(g.get(s, "user").unwrap().as_deref(), Some("1"));
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 0, 0, 0, 0));
    // ...and a short one ends before it.
    let env = Env::new();
    let k = saved_with_expiry(&env, 60);
    age_file(&env.session_file(&k), 61);
    let mut g = env.guest();
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 1, 0, 0, 0));
    assert_eq!(env.files(), Vec::<String>::new(), "swept, and nothing created");
    // A negative one is expired at once.
    let env = Env::new();
    let k = saved_with_expiry(&env, -1);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({}));
    assert_ne!(g.session_key(s).unwrap().unwrap(), k);
    assert!(!env.session_file(&k).exists());
}

#[test]
fn saving_restarts_the_int_expiry() {
    let env = Env::new();
    let k = saved_with_expiry(&env, 3600);
    age_file(&env.session_file(&k), 3000);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    g.set(s, "seen", "true").unwrap();
    g.save(s, false).unwrap();
    // 3000 s more would be 6000 s since the first save, but only 3000 s since this one.
    age_file(&env.session_file(&k), 3000);
    let t = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(t).unwrap()), json!({"user": 1, "_session_expiry": 3600, "seen": true}));
}

// ---------------------------------------------------------------------------------------
// 3. A failed write is an error, and the previous file stays intact
// ---------------------------------------------------------------------------------------

/// A saved session `{"v": 1}`; returns its key and file bytes.
fn saved(env: &Env) -> (String, Vec<u8>) {
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    g.set(s, "v", "1").unwrap();
    g.save(s, false).unwrap();
    let k = g.session_key(s).unwrap().unwrap();
    let bytes = std::fs::read(env.session_file(&k)).unwrap();
    (k, bytes)
}

/// Every write path of a guest that cannot write: an `Io` error naming the session file
/// (by the prefix and the key's first 4 characters),
/// the previous file byte-identical, no temporary file left, nothing created.
fn assert_writes_fail_cleanly(env: &Env, g: &mut file_sessions_host::Guest, k: &str, bytes: &[u8]) {
    let only = vec![(format!("sessionid{k}"), bytes.to_vec())];

    let s = g.session(Some(k)).unwrap();
    assert_eq!(g.get(s, "v").unwrap().as_deref(), Some("1"), "reading still works");
    g.set(s, "v", "2").unwrap();
    let msg = store_err!(g.save(s, false), Io);
    assert!(
        msg.contains(&format!("sessionid{}…", &k[..4])) && !msg.contains(k),
        "the error names the file, not the key: {msg}"
    );
    assert_eq!(contents(env), only, "save(false)");

    let msg = store_err!(g.save(s, true), Io);
    assert!(msg.contains(&format!("sessionid{}…", &k[..4])) && !msg.contains(k), "{msg}");
    assert_eq!(contents(env), only, "save(true)");

    let c = g.session(None).unwrap();
    g.set(c, "new", "1").unwrap();
    store_err!(g.create(c), Io);
    store_err!(g.save(c, false), Io);
    assert_eq!(contents(env), only, "create");

    let s = g.session(Some(k)).unwrap();
    store_err!(g.cycle_key(s), Io);
    assert_eq!(contents(env), only, "cycle_key");

    // Django swallows a failed unlink: a logout that silently did not happen.
    let s = g.session(Some(k)).unwrap();
    let msg = store_err!(g.delete(s, None), Io);
    assert!(msg.contains(&format!("sessionid{}…", &k[..4])) && !msg.contains(k), "{msg}");
    store_err!(g.delete(s, Some(k)), Io);
    store_err!(g.flush(s), Io);
    assert_eq!(contents(env), only, "delete/flush");
    assert!(env.files().iter().all(|n| !is_temp(n)));
}

#[test]
fn read_only_preopen_write_fails_cleanly() {
    let env = Env::new();
    let (k, bytes) = saved(&env);
    let mut tenant = env.tenant.clone();
    tenant.perms = wasmtime_wasi::FsPerms::ReadOnly;
    let mut g = runtime().instantiate(&tenant).unwrap();
    assert_writes_fail_cleanly(&env, &mut g, &k, &bytes);

    // A sweep that cannot delete counts the failure and leaves the file.
    age_file(&env.session_file(&k), COOKIE_AGE + 5);
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 0, 0, 0, 1));
    assert_eq!(contents(&env), vec![(format!("sessionid{k}"), bytes.clone())]);
    // The read-write store still sweeps it.
    assert_eq!(counts(&env.guest().clear_expired().unwrap()), (1, 1, 0, 0, 0));
}

#[test]
fn read_only_directory_write_fails_cleanly() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    let (k, bytes) = saved(&env);
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root (or CAP_DAC_OVERRIDE) writes through mode bits: then there is nothing to test.
    let probe = env.file("probe");
    if std::fs::write(&probe, b"").is_ok() {
        let _ = std::fs::remove_file(&probe);
        std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        println!(
            "SKIPPED the chmod 0555 case: this process writes into a 0555 directory (running as \
             root or with CAP_DAC_OVERRIDE), so chmod cannot make writes fail; \
             read_only_preopen_write_fails_cleanly covers the failure through FsPerms::ReadOnly"
        );
        return;
    }
    let mut g = env.guest();
    assert_writes_fail_cleanly(&env, &mut g, &k, &bytes);
    std::fs::set_permissions(env.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_directory_in_place_of_the_session_file_is_an_error() {
    let env = Env::new();
    let (k, _) = saved(&env);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(g.get(s, "v").unwrap().as_deref(), Some("1"));
    std::fs::remove_file(env.session_file(&k)).unwrap();
    std::fs::create_dir(env.session_file(&k)).unwrap();
    std::fs::write(env.session_file(&k).join("inside"), b"x").unwrap();
    g.set(s, "v", "2").unwrap();
    let msg = store_err!(g.save(s, false), Io);
    assert!(msg.contains(&format!("sessionid{}…", &k[..4])) && msg.contains("not a regular file"), "{msg}");
    assert_eq!(env.files(), vec![format!("sessionid{k}")], "no temporary file left");
    assert_eq!(std::fs::read(env.session_file(&k).join("inside")).unwrap(), b"x");
}

// ---------------------------------------------------------------------------------------
// 4. clear-expired removes orphaned temp files and stale placeholders, with counts
// ---------------------------------------------------------------------------------------

#[test]
fn clear_expired_removes_old_temp_files_and_stale_placeholders() {
    let env = Env::new();
    let write = |name: &str, bytes: &[u8], age: u64| {
        let p = env.file(name);
        std::fs::write(&p, bytes).unwrap();
        age_file(&p, age);
    };
    let k = key(7);
    let data = signed(&json!({"a": 1}));
    // Temporary files of interrupted saves.
    write(&format!("sessionid{k}_out_ab_12xyz"), data.as_bytes(), 3601); // removed
    write(&format!("sessionid{k}_out_________"), b"", 7200); // removed (8 x '_')
    write(&format!("sessionid{}_out_0a1b2c3d", key(8)), data.as_bytes(), COOKIE_AGE * 2); // removed
    write(&format!("sessionid{k}_out_fresh123"), data.as_bytes(), 0); // kept: a save in progress
    write(&format!("sessionid{k}_out_nearly00"), data.as_bytes(), 3500); // kept: under an hour
    // Not temp names: kept whatever their age.
    write(&format!("sessionid{k}_out_short"), data.as_bytes(), 7200); // 5 chars
    write(&format!("sessionid{k}_out_toolong12"), data.as_bytes(), 7200); // 9 chars
    write(&format!("sessionid{k}_out_UPPER123"), data.as_bytes(), 7200); // uppercase
    write(&format!("sessionid{k}_out_dash-123"), data.as_bytes(), 7200); // '-'
    write("sessionidABC_out_abcdefgh", data.as_bytes(), 7200); // bad key part
    write(&format!("other{k}_out_abcdefgh"), data.as_bytes(), 7200); // another prefix: not scanned
    // Empty placeholders (Django's, left by a crashed or concurrent create).
    write(&format!("sessionid{}", key(1)), b"", COOKIE_AGE + 5); // removed
    write(&format!("sessionid{}", key(2)), b"", COOKIE_AGE - 60); // kept
    write(&format!("sessionid{}", key(3)), b"", 0); // kept
    // Sessions, for the expired count.
    write(&format!("sessionid{}", key(4)), data.as_bytes(), COOKIE_AGE + 5); // removed
    write(&format!("sessionid{}", key(5)), data.as_bytes(), 10); // kept
    // Names this store never writes.
    write("sessionidABCDEFGH", b"", COOKIE_AGE * 2); // kept: uppercase
    write("sessionidabc", b"", COOKIE_AGE * 2); // kept: too short

    let mut before = env.files();
    let report = env.guest().clear_expired().unwrap();
    assert_eq!(counts(&report), (17, 1, 3, 1, 0));
    for gone in [
        format!("sessionid{k}_out_ab_12xyz"),
        format!("sessionid{k}_out_________"),
        format!("sessionid{}_out_0a1b2c3d", key(8)),
        format!("sessionid{}", key(1)),
        format!("sessionid{}", key(4)),
    ] {
        before.retain(|n| *n != gone);
    }
    assert_eq!(env.files(), before, "exactly those five removed, nothing created");
    // A second sweep: nothing left to remove.
    assert_eq!(counts(&env.guest().clear_expired().unwrap()), (12, 0, 0, 0, 0));
    assert_eq!(env.files(), before);
}

#[test]
fn clear_expired_uses_the_configured_prefix_and_age() {
    let env = Env::new().setting("SESSION_COOKIE_NAME", "sid").setting("SESSION_COOKIE_AGE", "600");
    let write = |name: &str, bytes: &[u8], age: u64| {
        let p = env.file(name);
        std::fs::write(&p, bytes).unwrap();
        age_file(&p, age);
    };
    write(&format!("sid{}", key(1)), b"", 601); // stale placeholder
    write(&format!("sid{}", key(2)), b"", 500); // fresh placeholder
    write(&format!("sid{}_out_abcdefgh", key(3)), b"{}", 3601); // orphaned temp
    write(&format!("sid{}", key(4)), signed(&json!({})).as_bytes(), 601); // expired
    write(&format!("sessionid{}", key(5)), b"", COOKIE_AGE * 2); // another prefix
    let report = env.guest().clear_expired().unwrap();
    assert_eq!(counts(&report), (4, 1, 1, 1, 0));
    assert_eq!(env.files(), vec![format!("sessionid{}", key(5)), format!("sid{}", key(2))]);
}

// ---------------------------------------------------------------------------------------
// 5. create publishes with a hard link: no empty placeholder is ever visible
// ---------------------------------------------------------------------------------------

#[test]
fn create_never_shows_an_empty_file() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let env = Env::new();
    let dir = env.path().to_path_buf();
    let done = Arc::new(AtomicBool::new(false));
    let watcher = {
        let done = done.clone();
        std::thread::spawn(move || {
            let (mut looks, mut empties) = (0u64, Vec::new());
            while !done.load(Ordering::Relaxed) {
                for entry in std::fs::read_dir(&dir).unwrap() {
                    let entry = entry.unwrap();
                    let name = entry.file_name().into_string().unwrap();
                    if is_temp(&name) {
                        continue; // being written: not a session name
                    }
                    looks += 1;
                    if entry.metadata().is_ok_and(|meta| meta.len() == 0) {
                        empties.push(name);
                    }
                }
            }
            (looks, empties)
        })
    };
    let mut g = env.guest();
    let mut keys = Vec::new();
    for i in 0..150 {
        let s = g.session(None).unwrap();
        if i % 2 == 0 {
            g.create(s).unwrap();
        } else {
            g.set(s, "i", &i.to_string()).unwrap();
            g.save(s, true).unwrap(); // no key: create
        }
        let k = g.session_key(s).unwrap().unwrap();
        // Right after create, the file is complete.
        assert!(std::fs::metadata(env.session_file(&k)).unwrap().len() > 0);
        keys.push(k);
    }
    done.store(true, Ordering::Relaxed);
    let (looks, empties) = watcher.join().unwrap();
    assert!(looks > 0, "the watcher saw the directory");
    assert_eq!(empties, Vec::<String>::new(), "an empty session file was visible");
    let mut expected: Vec<String> = keys.iter().map(|k| format!("sessionid{k}")).collect();
    expected.sort();
    assert_eq!(env.files(), expected, "one file per session, no temporary file left");
    for (i, k) in keys.iter().enumerate() {
        let want = if i % 2 == 0 { json!({}) } else { json!({"i": i}) };
        assert_eq!(file_data(&env.session_file(k)), want);
    }
}

#[test]
fn save_must_create_on_a_taken_key_is_create_error() {
    let env = Env::new();
    let (k, bytes) = saved(&env);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    g.set(s, "v", "99").unwrap();
    let msg = store_err!(g.save(s, true), CreateError);
    assert!(msg.contains(&format!("sessionid{}…", &k[..4])) && !msg.contains(&k), "{msg}");
    assert_eq!(contents(&env), vec![(format!("sessionid{k}"), bytes)], "untouched, no temp file");
}

#[test]
fn django_placeholder_is_a_live_empty_session_until_stale() {
    let env = Env::new();
    let k = key(42);
    let path = env.session_file(&k);
    std::fs::write(&path, b"").unwrap();
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({}));
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k.as_str()), "the key is kept");
    assert!(!g.modified(s).unwrap());
    assert!(g.exists(s, &k).unwrap());
    // The placeholder is not an expired session: no rotation, however old.
    age_file(&path, COOKIE_AGE + 100);
    let s = g.session(Some(&k)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({}));
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k.as_str()));
    assert_eq!(contents(&env), vec![(format!("sessionid{k}"), vec![])], "loading left it alone");

    // clear-expired keeps it until it is older than SESSION_COOKIE_AGE...
    age_file(&path, 10);
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 0, 0, 0, 0));
    age_file(&path, COOKIE_AGE - 60);
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 0, 0, 0, 0));
    assert_eq!(env.files(), vec![format!("sessionid{k}")]);
    // ...then removes it, without creating anything.
    age_file(&path, COOKIE_AGE + 1);
    assert_eq!(counts(&g.clear_expired().unwrap()), (1, 0, 0, 1, 0));
    assert_eq!(env.files(), Vec::<String>::new());
}

#[test]
fn saving_over_a_django_placeholder() {
    let env = Env::new();
    let k = key(43);
    std::fs::write(env.session_file(&k), b"").unwrap();
    let mut g = env.guest();
    // must-create: the key is taken, by the placeholder.
    let s = g.session(Some(&k)).unwrap();
    g.set(s, "a", "1").unwrap();
    store_err!(g.save(s, true), CreateError);
    assert_eq!(contents(&env), vec![(format!("sessionid{k}"), vec![])]);
    // An update fills it in, as the concurrent create it stands for would.
    g.save(s, false).unwrap();
    assert_eq!(env.files(), vec![format!("sessionid{k}")]);
    assert_eq!(file_data(&env.session_file(&k)), json!({"a": 1}));
}

// ---------------------------------------------------------------------------------------
// Expired sessions, and sessions deleted meanwhile
// ---------------------------------------------------------------------------------------

#[test]
fn reading_an_expired_session_deletes_it_and_starts_a_new_key() {
    let env = Env::new();
    let (k, _) = saved(&env);
    age_file(&env.session_file(&k), COOKIE_AGE + 1);
    let mut g = env.guest();
    let s = g.session(Some(&k)).unwrap();
    assert!(!g.modified(s).unwrap());
    assert_eq!(g.get(s, "v").unwrap(), None);
    let new_key = g.session_key(s).unwrap().expect("a new key");
    assert_ne!(new_key, k);
    assert!(g.modified(s).unwrap());
    assert!(g.accessed(s).unwrap());
    assert_eq!(env.files(), vec![format!("sessionid{new_key}")]);
    assert_eq!(file_data(&env.session_file(&new_key)), json!({}));
    // The new session is usable.
    g.set(s, "v", "2").unwrap();
    g.save(s, false).unwrap();
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(new_key.as_str()));
    assert_eq!(file_data(&env.session_file(&new_key)), json!({"v": 2}));
}

#[test]
fn clear_expired_never_recreates_what_it_deletes() {
    let env = Env::new();
    let mut keys = Vec::new();
    for _ in 0..5 {
        let (k, _) = saved(&env);
        age_file(&env.session_file(&k), COOKIE_AGE + 1);
        keys.push(k);
    }
    let (live, live_bytes) = saved(&env);
    let report = env.guest().clear_expired().unwrap();
    assert_eq!(counts(&report), (6, 5, 0, 0, 0));
    assert_eq!(contents(&env), vec![(format!("sessionid{live}"), live_bytes)]);
    assert_eq!(counts(&env.guest().clear_expired().unwrap()), (1, 0, 0, 0, 0));
}

#[test]
fn saving_a_session_deleted_elsewhere_is_update_error() {
    let env = Env::new();
    let mut g1 = env.guest();
    let s1 = g1.session(None).unwrap();
    g1.set(s1, "user", "1").unwrap();
    g1.save(s1, false).unwrap();
    let k = g1.session_key(s1).unwrap().unwrap();

    // Another instance logs the session out.
    let mut g2 = env.guest();
    let s2 = g2.session(Some(&k)).unwrap();
    g2.flush(s2).unwrap();
    assert_eq!(env.files(), Vec::<String>::new());

    g1.set(s1, "user", "2").unwrap();
    let msg = store_err!(g1.save(s1, false), UpdateError);
    assert!(msg.contains(&format!("sessionid{}…", &k[..4])) && !msg.contains(&k), "{msg}");
    assert_eq!(env.files(), Vec::<String>::new(), "not resurrected, no temporary file left");
    // Again: still refused, still nothing on disk.
    store_err!(g1.save(s1, false), UpdateError);
    assert_eq!(env.files(), Vec::<String>::new());
}
