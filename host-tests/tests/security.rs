//! Security under hostile input (issue #4), beyond `bad_input.rs`: huge files, deep
//! nesting, a zip bomb signed with the right key, links and directories planted in the
//! session directory, tenant isolation, secrecy of the secret, key rotation, and a
//! proptest fuzz harness of the decoder and key validation (natively and through the
//! component).
//!
//! Every test prints `RELIABILITY | <check> | <what was tried> | <what held>` to stderr;
//! `host-tests/reliability-report.sh` collects those lines into RELIABILITY.md. The fuzz
//! tests run `FUZZ_CASES` cases natively (default 2000) and a tenth of that through the
//! component; set it higher for the long run.

#[macro_use]
mod common;

use common::stress::{Rng, report};
use common::zlib::{zlib_bomb, zlib_stored};
use common::*;
use file_sessions::codec::{DecodeError, MAX_DEPTH, MAX_JSON_BYTES, MAX_VALUES, Signer, b62_encode, count_values};
use file_sessions::key;
use file_sessions::store::MAX_FILE_BYTES;
use file_sessions_host::{DEFAULT_MEMORY_LIMIT, Expiry, Guest, HostError};
use proptest::prelude::*;
use proptest::test_runner::{Config as PtConfig, TestCaseError, TestRunner};
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");
const KEY: &str = "k3y0000000000000000000000000abcd";
const COOKIE_AGE: u64 = 1_209_600;

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// A signed session file whose payload is `json` (uncompressed), however deep or odd.
fn signed_json_text(json: &str) -> String {
    sign_raw(&format!("{}:{}", b64url(json.as_bytes()), b62_encode(now_unix())))
}

/// A signed session file whose payload is `json` wrapped in zlib stored blocks (valid
/// zlib without a compressor), marked compressed with the leading `.`.
fn signed_zlib_stored(json: &[u8]) -> String {
    sign_raw(&format!(".{}:{}", b64url(&zlib_stored(json)), b62_encode(now_unix())))
}

/// Sets an entry's mtime without following a symlink (`touch -h`).
fn age_entry(path: &Path, seconds_ago: u64) {
    let status = Command::new("touch")
        .arg("-h")
        .arg("-d")
        .arg(format!("@{}", now_unix() as u64 - seconds_ago))
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

/// The store error's kind and text; panics on success or a trap.
fn store_err<T: std::fmt::Debug>(r: Result<T, HostError>, what: &str) -> (String, String) {
    match r {
        Err(HostError::Store(e)) => (e.kind().to_owned(), e.detail().to_owned()),
        other => panic!("{what}: expected a store error, got {other:?}"),
    }
}

/// A guest with `SECRET` on `env`, and the session `KEY` loaded.
fn load_key(env: &Env) -> (Guest, String) {
    let mut g = env.guest();
    let s = g.session(Some(KEY)).unwrap();
    let data = g.load(s).unwrap();
    (g, data)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

// ---------------------------------------------------------------------------------------
// Hostile files: size, nesting, zip bomb, dense data
// ---------------------------------------------------------------------------------------

#[test]
fn hundred_megabyte_file_loads_empty_within_the_memory_cap() {
    let env = Env::new();
    let path = env.session_file(KEY);
    // A correctly signed session followed by 100 MB: never read, whatever it holds.
    let head = signed(&json!({"user": 42}));
    let mut f = std::fs::File::create(&path).unwrap();
    std::io::Write::write_all(&mut f, head.as_bytes()).unwrap();
    let chunk = vec![b'A'; 1 << 20];
    for _ in 0..100 {
        std::io::Write::write_all(&mut f, &chunk).unwrap();
    }
    drop(f);
    let size = std::fs::metadata(&path).unwrap().len();
    let (mut g, data) = load_key(&env);
    assert_eq!(json(&data), json!({}));
    let s = g.session(Some(KEY)).unwrap();
    assert_eq!(g.get(s, "user").unwrap(), None);
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(KEY), "kept: the file exists");
    assert!(g.exists(s, KEY).unwrap());
    let report_recent = g.clear_expired().unwrap();
    assert_eq!((report_recent.scanned, report_recent.expired_sessions), (1, 0));
    let peak_load = g.peak_memory();
    assert!(peak_load < DEFAULT_MEMORY_LIMIT / 4, "peak {peak_load}");
    age_file(&path, COOKIE_AGE + 5);
    let r = g.clear_expired().unwrap();
    assert_eq!(r.expired_sessions, 1, "an expired oversized file is swept");
    assert!(!path.exists());
    assert!(g.peak_memory() < DEFAULT_MEMORY_LIMIT / 4);

    // The largest session that is read: exactly MAX_JSON_BYTES of JSON, uncompressed; one
    // byte more reads as {}.
    let at_limit = |extra: usize| format!(r#"{{"a":"{}"}}"#, "a".repeat(MAX_JSON_BYTES + extra - 8));
    std::fs::write(&path, signed_json_text(&at_limit(0))).unwrap();
    let (g, data) = load_key(&env);
    assert_eq!(json(&data)["a"].as_str().map(str::len), Some(MAX_JSON_BYTES - 8), "the largest session loads whole");
    let peak_max = g.peak_memory();
    assert!(peak_max < DEFAULT_MEMORY_LIMIT, "peak {peak_max}");
    std::fs::write(&path, signed_json_text(&at_limit(1))).unwrap();
    assert_eq!(json(&load_key(&env).1), json!({}), "one byte over the JSON limit");
    report(
        "100 MB session file",
        &format!(
            "a {} MB file (a signed session followed by 100 MiB) loaded, swept while recent and once expired; the largest readable session ({} of JSON, valid, uncompressed) and one byte more",
            size / 1_000_000,
            mib(MAX_JSON_BYTES)
        ),
        &format!(
            "loads {{}} with the key kept, never read into memory (peak guest memory {}); swept only once expired; the largest session loads whole with a peak of {} (cap {}), one byte more loads {{}}",
            mib(peak_load),
            mib(peak_max),
            mib(DEFAULT_MEMORY_LIMIT)
        ),
    );
}

#[test]
fn ten_thousand_deep_nesting_never_traps() {
    let deep_array = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    let in_session = format!(r#"{{"user":42,"deep":{deep_array}}}"#);
    let mut tried = 0;
    for (what, file) in [
        ("signed array, plain", signed_json_text(&in_session)),
        ("signed object, plain", signed_json_text(&deep_object)),
        ("signed array, zlib", signed_zlib_stored(in_session.as_bytes())),
        ("signed object, zlib", signed_zlib_stored(deep_object.as_bytes())),
    ] {
        let env = Env::new();
        std::fs::write(env.session_file(KEY), &file).unwrap();
        let (mut g, data) = load_key(&env);
        assert_eq!(json(&data), json!({}), "{what}");
        let s = g.session(None).unwrap();
        assert_eq!(json(&g.decode(s, &file).unwrap()), json!({}), "{what}: decode");
        let r = g.clear_expired().unwrap();
        assert_eq!((r.scanned, r.expired_sessions, r.failures), (1, 0, 0), "{what}");
        age_file(&env.session_file(KEY), COOKIE_AGE + 5);
        assert_eq!(g.clear_expired().unwrap().expired_sessions, 1, "{what}");
        tried += 4;
    }
    // And as values from the host.
    let env = Env::new();
    let mut g = env.guest();
    let s = g.session(None).unwrap();
    for value in [&deep_array, &deep_object] {
        assert_eq!(store_err(g.set(s, "a", value), "set").0, "invalid-value");
        assert_eq!(store_err(g.update(s, &format!(r#"{{"a":{value}}}"#)), "update").0, "invalid-value");
        assert_eq!(store_err(g.encode(s, value), "encode").0, "invalid-value");
        assert_eq!(store_err(g.setdefault(s, "b", value), "setdefault").0, "invalid-value");
        tried += 4;
    }
    assert_eq!(g.items(s).unwrap(), vec![]);
    assert_eq!(env.files(), Vec::<String>::new());
    report(
        "10,000-deep nesting",
        &format!(
            "{tried} cases: arrays and objects nested 10,000 deep in signed session files (plain and zlib) through load, decode and clear-expired, and as set/update/encode/setdefault values"
        ),
        "never a trap or stack overflow; files load as {} with the key kept and are swept by mtime; values are refused with invalid-value and change nothing",
    );
}

/// A value `set` accepts must save and load back: serde_json reads at most 128 levels, so
/// the session object plus the value must stay within `MAX_DEPTH`. (Found by this suite: a
/// value nested 127 deep used to be accepted, saved, and then load as `{}`.)
#[test]
fn values_nested_at_the_limit_round_trip_or_are_refused() {
    let env = Env::new();
    let mut g = env.guest();
    let mut outcomes = Vec::new();
    let deepest = MAX_DEPTH - 1; // inside the session object
    for depth in [deepest - 1, deepest, deepest + 1, deepest + 2, 200] {
        let value = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let s = g.session(None).unwrap();
        g.set(s, "user", "42").unwrap();
        let set = g.set(s, "deep", &value);
        let saved = set.and_then(|()| g.save(s, false));
        match saved {
            Err(HostError::Store(e)) => {
                assert_eq!(e.kind(), "invalid-value", "{depth}: {}", e.detail());
                assert!(depth > deepest, "{depth} levels fit, yet were refused: {}", e.detail());
                outcomes.push(format!("{depth} refused"));
            }
            Err(e) => panic!("{depth}: {e}"),
            Ok(()) => {
                let k = g.session_key(s).unwrap().unwrap();
                let t = g.session(Some(&k)).unwrap();
                let back = json(&g.load(t).unwrap());
                assert_eq!(
                    back["user"],
                    json!(42),
                    "depth {depth}: saved without error, loaded back as {}",
                    back.to_string().chars().take(80).collect::<String>()
                );
                assert_eq!(back["deep"], serde_json::from_str::<Value>(&value).unwrap());
                outcomes.push(format!("{depth} round-trips"));
            }
        }
    }
    assert!(env.files().iter().all(|f| !f.contains("_out_")));
    report(
        "values at the nesting limit",
        &format!(
            "values nested {} levels deep set into a session and saved (the session object adds one; MAX_DEPTH {MAX_DEPTH})",
            [deepest - 1, deepest, deepest + 1, deepest + 2, 200].map(|d| d.to_string()).join(", ")
        ),
        &format!("{}; nothing accepted was lost on load", outcomes.join(", ")),
    );
}

#[test]
fn zip_bomb_signed_with_the_right_key() {
    let started = Instant::now();
    // The largest bomb under the read cap (fixed Huffman codes, about 1:159).
    let compressed_max = (MAX_FILE_BYTES - 64) * 3 / 4 - 16;
    let inflated: u64 = compressed_max * 8 / 13 * 258;
    let bomb = zlib_bomb(inflated);
    let file = sign_raw(&format!(".{}:{}", b64url(&bomb), b62_encode(now_unix())));
    let built = started.elapsed();
    assert!(
        file.len() as u64 <= MAX_FILE_BYTES && file.len() as u64 > MAX_FILE_BYTES - 1024,
        "just under the read cap, so it reaches the inflater: {}",
        file.len()
    );
    let env = Env::new();
    std::fs::write(env.session_file(KEY), &file).unwrap();
    let t = Instant::now();
    let (mut g, data) = load_key(&env);
    let load_time = t.elapsed();
    assert_eq!(json(&data), json!({}));
    let s = g.session(Some(KEY)).unwrap();
    assert!(!g.has_key(s, "a").unwrap());
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(KEY));
    let p = g.session(None).unwrap();
    assert_eq!(json(&g.decode(p, &file).unwrap()), json!({}));
    assert_eq!(g.clear_expired().unwrap().failures, 0);
    let peak = g.peak_memory();
    assert!(peak < DEFAULT_MEMORY_LIMIT, "{peak}");

    // The same construction just under the inflate cap is a valid session.
    let small = zlib_bomb(MAX_JSON_BYTES as u64 - 4096);
    let ok_file = sign_raw(&format!(".{}:{}", b64url(&small), b62_encode(now_unix())));
    std::fs::write(env.session_file(KEY), &ok_file).unwrap();
    let (g2, data) = load_key(&env);
    let spaces = json(&data)["a"].as_str().map(str::len);
    assert_eq!(spaces, Some(1 + (MAX_JSON_BYTES - 4096) / 258 * 258), "just under the cap it loads");
    let peak_ok = g2.peak_memory();
    assert!(peak_ok < DEFAULT_MEMORY_LIMIT);
    report(
        "zip bomb signed with the right key",
        &format!(
            "a valid zlib stream inflating to {:.0} MB, correctly signed ({} file, just under the read cap; built in {:.1} s), loaded, decoded and swept; the same just under the {} inflate cap",
            inflated as f64 / 1e6,
            mib(file.len()),
            built.as_secs_f64(),
            mib(MAX_JSON_BYTES)
        ),
        &format!(
            "loads {{}} with the key kept in {:.2} s, peak guest memory {} (cap {}); the one under the cap loads whole (peak {})",
            load_time.as_secs_f64(),
            mib(peak),
            mib(DEFAULT_MEMORY_LIMIT),
            mib(peak_ok)
        ),
    );
}

/// The JSON shapes that cost the most memory per byte of text (long lists of small
/// values, of empty or one-element containers, many keys), filled up to whichever limit
/// binds first (`MAX_JSON_BYTES` of text or `MAX_VALUES` values): saved through the
/// component and loaded back, and read from signed files another writer (Django) could
/// make, plain and compressed, all inside the memory cap; one step past the limit, refused
/// by `update` and read as `{}`, never a trap. (Found by this suite: a 1.4 KiB compressed
/// file of 520,000 zeros, and later 1 MiB of `[0],[0],...`, trapped the guest on load.)
#[test]
fn densest_sessions_at_the_limits_save_and_load_within_the_memory_cap() {
    // `{"a":[item,item,...]}` with `n` items.
    let list = |item: &str, n: usize| format!(r#"{{"a":[{}{item}]}}"#, format!("{item},").repeat(n - 1));
    // `{"0":0,"1":0,...}` with `n` members.
    let members = |n: usize| {
        let body: Vec<String> = (0..n).map(|i| format!(r#""{i:x}":0"#)).collect();
        format!("{{{}}}", body.join(","))
    };
    let fits = |text: &str| text.len() <= MAX_JSON_BYTES && count_values(text) <= MAX_VALUES;
    // The largest n that fits, and the text one item past it.
    let at_limit = |make: &dyn Fn(usize) -> String| {
        let (mut lo, mut hi) = (1usize, MAX_JSON_BYTES);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if fits(&make(mid)) { lo = mid } else { hi = mid }
        }
        (make(lo), make(lo + 1), lo)
    };
    let items = ["0", "null", "\"a\"", "{}", "[]", "[0]", "[[]]", "[[[]]]", "[{}]", "{\"a\":0}"];
    type Shape = (String, Box<dyn Fn(usize) -> String>);
    let mut shapes: Vec<Shape> = items
        .iter()
        .map(|&item| (format!("[{item},...]"), Box::new(move |n| list(item, n)) as Box<dyn Fn(usize) -> String>))
        .collect();
    shapes.push(("{many keys}".to_owned(), Box::new(members)));
    let mut lines = Vec::new();
    let mut worst = 0;
    for (what, make) in &shapes {
        let (text, over, n) = at_limit(make.as_ref());
        assert!(fits(&text) && !fits(&over), "{what}");
        let binds = if over.len() > MAX_JSON_BYTES { "bytes" } else { "values" };
        let expected: Value = serde_json::from_str(&text).unwrap();
        let fail = |step: &str, e: HostError| -> ! {
            panic!("{what} x {n}: {step}: {}", e.to_string().lines().next().unwrap_or_default())
        };
        // Through the component: update, save, load in a fresh instance.
        let env = Env::new();
        let mut g = env.guest();
        let s = g.session(None).unwrap();
        g.update(s, &text).unwrap_or_else(|e| fail("update", e));
        g.save(s, false).unwrap_or_else(|e| fail("save", e));
        let k = g.session_key(s).unwrap().unwrap();
        let mut peak = g.peak_memory();
        let mut g = env.guest();
        let t = g.session(Some(&k)).unwrap();
        let back = g.load(t).unwrap_or_else(|e| fail("load", e));
        assert!(json(&back) == expected, "{what}: loaded back differently");
        peak = peak.max(g.peak_memory());
        // As files another writer made: plain and compressed; and one item over.
        for (file, want) in [
            (signed_json_text(&text), &expected),
            (signer().dumps(&expected, now_unix()), &expected),
            (signed_json_text(&over), &json!({})),
            (signer().dumps(&serde_json::from_str::<Value>(&over).unwrap(), now_unix()), &json!({})),
        ] {
            std::fs::write(env.session_file(KEY), &file).unwrap();
            let mut g = env.guest();
            let t = g.session(Some(KEY)).unwrap();
            let back = g.load(t).unwrap_or_else(|e| fail("load of a file", e));
            assert!(&json(&back) == want, "{what}: a file of {} read differently", mib(file.len()));
            peak = peak.max(g.peak_memory());
        }
        // One item over, from the host: refused before it is built.
        let mut g = env.guest();
        let s = g.session(None).unwrap();
        let (kind, detail) = store_err(g.update(s, &over), what);
        assert_eq!(kind, "invalid-value", "{detail}");
        peak = peak.max(g.peak_memory());
        assert!(peak < DEFAULT_MEMORY_LIMIT, "{what}: {peak}");
        worst = worst.max(peak);
        lines.push(format!("{what} {n} items ({binds} bind) {}", mib(peak)));
    }
    report(
        "densest sessions at the limits",
        &format!(
            "{} shapes (lists of zeros, nulls, one-letter strings, empty and one-element containers; an object of many keys) filled to the {} / {MAX_VALUES}-value limits: saved through the component and loaded back; loaded from signed files, plain and compressed; and one item over, as a file and through update",
            shapes.len(),
            mib(MAX_JSON_BYTES)
        ),
        &format!(
            "at the limit every one saved and loaded back identically; one over, files read as {{}} and update refused with invalid-value; never a trap; peak guest memory: {}; worst {} of the {} cap",
            lines.join(", "),
            mib(worst),
            mib(DEFAULT_MEMORY_LIMIT)
        ),
    );
}

/// A session at the limit saves; one over it is refused with `invalid-value` (by `set`,
/// before it is built in memory); nothing traps, however large the value the host passes
/// (within the guest's memory: the string is copied in before the component sees it).
/// (Found by this suite: before the limit was checked up front, a 10.45 MB string trapped
/// the guest in `save`.)
#[test]
fn large_values_are_saved_or_refused_never_trapped() {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rng = Rng::new(Rng::seed());
    let mut lines = Vec::new();
    for size in [MAX_JSON_BYTES - 64, MAX_JSON_BYTES - 10, MAX_JSON_BYTES + 64, 10 << 20, 32 << 20] {
        let env = Env::new();
        let text: String = (0..size).map(|_| A[(rng.next() % 64) as usize] as char).collect();
        let mut g = env.guest();
        let s = g.session(None).unwrap();
        let r = g.set(s, "a", &json!(text).to_string()).and_then(|()| g.save(s, false));
        // `{"a":"..."}` adds 8 bytes and the quotes 2 more.
        let fits = size + 8 <= MAX_JSON_BYTES;
        match r {
            Ok(()) => {
                assert!(fits, "{size}: saved although over the limit");
                let k = g.session_key(s).unwrap().unwrap();
                let t = g.session(Some(&k)).unwrap();
                assert_eq!(g.get(t, "a").unwrap().map(|v| v.len()), Some(size + 2), "{size}: loads back");
                lines.push(format!("{size} bytes saved"));
            }
            Err(HostError::Store(e)) => {
                assert_eq!(e.kind(), "invalid-value", "{size}: {}", e.detail());
                assert!(!fits, "{size} bytes fit, yet: {}", e.detail());
                lines.push(format!("{size} bytes refused"));
            }
            Err(e) => panic!("{size} bytes: {}", e.to_string().lines().next().unwrap_or_default()),
        }
        assert!(g.peak_memory() < DEFAULT_MEMORY_LIMIT);
        assert!(env.files().iter().all(|f| !f.contains("_out_")));
    }
    report(
        "large values",
        "string values around the session limit and far over it (up to 32 MiB) set and saved",
        &format!("{}; invalid-value for what does not fit, never a trap, no temporary file left", lines.join(", ")),
    );
}

// ---------------------------------------------------------------------------------------
// Special files in the session directory
// ---------------------------------------------------------------------------------------

#[test]
fn links_and_directories_never_reach_outside_the_preopen() {
    let env = Env::new();
    let outside = tempfile::tempdir().unwrap();
    let o = |name: &str| outside.path().join(name);
    // Outside: sessions validly signed with this tenant's secret (the worst case), text,
    // a directory.
    std::fs::write(o("victim"), signed(&json!({"outside": true}))).unwrap();
    std::fs::write(o("victim-old"), signed(&json!({"outside": "old"}))).unwrap();
    std::fs::write(o("plain"), b"outside text").unwrap();
    std::fs::write(o("plain-linked"), b"outside text, hard-linked as a temp file").unwrap();
    std::fs::create_dir(o("dir")).unwrap();
    std::fs::write(o("dir").join("inner"), b"inner").unwrap();
    for name in ["victim", "plain", "plain-linked", "dir/inner"] {
        age_file(&o(name), 3 * 24 * 3600);
    }
    age_file(&o("victim-old"), COOKIE_AGE + 3600);

    let k = |n: u8| format!("{}{}", (b'a' + n) as char, "0".repeat(31));
    let (k_sym, k_dangling, k_symdir, k_hard, k_hard_old, k_dir, k_rel) = (k(0), k(1), k(2), k(3), k(4), k(5), k(6));
    let sf = |key: &str| env.session_file(key);
    let same_fs = std::fs::hard_link(o("victim"), sf(&k_hard)).is_ok();
    assert!(same_fs, "the temporary directories are on one filesystem here");
    std::fs::hard_link(o("victim-old"), sf(&k_hard_old)).unwrap();
    std::os::unix::fs::symlink(o("victim"), sf(&k_sym)).unwrap();
    std::os::unix::fs::symlink(o("created-through-a-dangling-link"), sf(&k_dangling)).unwrap();
    std::os::unix::fs::symlink(o("dir"), sf(&k_symdir)).unwrap();
    let rel = format!("../{}/victim", outside.path().file_name().unwrap().to_str().unwrap());
    std::os::unix::fs::symlink(&rel, sf(&k_rel)).unwrap();
    std::fs::create_dir(sf(&k_dir)).unwrap();
    std::fs::write(sf(&k_dir).join("inside"), b"x").unwrap();
    // Temporary-file names, old enough for the sweep.
    let temp_sym = env.file(&format!("sessionid{k_sym}_out_abcdefgh"));
    std::os::unix::fs::symlink(o("plain"), &temp_sym).unwrap();
    age_entry(&temp_sym, 2 * 3600);
    let temp_symdir = env.file(&format!("sessionid{k_symdir}_out_abcdefgh"));
    std::os::unix::fs::symlink(o("dir"), &temp_symdir).unwrap();
    age_entry(&temp_symdir, 2 * 3600);
    let temp_hard = env.file(&format!("sessionid{k_hard}_out_ijklmnop"));
    std::fs::hard_link(o("plain-linked"), &temp_hard).unwrap();
    let temp_dir = env.file(&format!("sessionid{k_dir}_out_qrstuvwx"));
    std::fs::create_dir(&temp_dir).unwrap();
    age_entry(&temp_dir, 2 * 3600);
    let outside_before = snapshot(outside.path());

    let mut g = env.guest();
    let not_followed = [&k_sym, &k_dangling, &k_symdir, &k_rel, &k_dir];
    let mut ops = 0;
    for key in not_followed {
        let s = g.session(Some(key)).unwrap();
        assert_eq!(json(&g.load(s).unwrap()), json!({}), "{key}: not followed");
        assert_eq!(g.session_key(s).unwrap(), None, "{key}: treated as missing");
        assert!(g.exists(s, key).unwrap(), "{key}: the name is taken");
        ops += 3;
    }
    // The hard link is a file in the directory (the filesystem cannot tell it from one).
    let s = g.session(Some(&k_hard)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({"outside": true}));
    // An exclusive create on any planted name fails and touches nothing.
    for key in not_followed.iter().copied().chain([&k_hard, &k_hard_old]) {
        let s = g.session(Some(key)).unwrap();
        g.clear(s).unwrap();
        g.set(s, "mine", "1").unwrap();
        assert_eq!(store_err(g.save(s, true), key).0, "create-error", "{key}");
        ops += 1;
    }
    // A save of a session that read a planted name as missing goes to a new key.
    let s = g.session(Some(&k_dangling)).unwrap();
    g.set(s, "mine", "1").unwrap();
    g.save(s, false).unwrap();
    let fresh = g.session_key(s).unwrap().unwrap();
    assert!(!not_followed.contains(&&fresh));
    // The sweep: the old hard link at a session name and the hard link at a temp name go
    // (unlinked: their outside files stay); symlinks and directories are left alone.
    let r = g.clear_expired().unwrap();
    assert_eq!((r.expired_sessions, r.orphaned_temp_files, r.failures), (1, 1, 0), "{r:?}");
    assert!(!sf(&k_hard_old).exists() && !temp_hard.exists());
    assert!(std::fs::symlink_metadata(&temp_sym).is_ok() && temp_dir.is_dir());
    // Saving over the hard link replaces the name, not the outside file.
    let s = g.session(Some(&k_hard)).unwrap();
    g.set(s, "outside", "false").unwrap();
    g.save(s, false).unwrap();
    assert_eq!(g.session_key(s).unwrap().as_deref(), Some(k_hard.as_str()));
    // Deleting unlinks the names; a directory cannot be deleted and says so.
    for key in [&k_sym, &k_dangling, &k_symdir, &k_rel, &k_hard] {
        let s = g.session(None).unwrap();
        g.delete(s, Some(key)).unwrap();
        assert!(std::fs::symlink_metadata(sf(key)).is_err(), "{key}");
        ops += 1;
    }
    let s = g.session(None).unwrap();
    let (kind, detail) = store_err(g.delete(s, Some(&k_dir)), "deleting a directory");
    assert_eq!(kind, "io", "{detail}");
    assert!(sf(&k_dir).join("inside").exists());

    assert_eq!(snapshot(outside.path()), outside_before, "something outside the preopen changed");
    assert!(!o("created-through-a-dangling-link").exists());

    // SESSION_FILE_PATH through a symlink, out of the preopen or within it: refused.
    let mut refused = Vec::new();
    std::os::unix::fs::symlink(outside.path(), env.file("escape")).unwrap();
    std::fs::create_dir(env.file("real")).unwrap();
    std::os::unix::fs::symlink(env.file("real"), env.file("inner")).unwrap();
    for link in ["escape", "inner"] {
        let tenant = env.tenant.clone().env("SESSION_FILE_PATH", &env.file(link).display().to_string());
        let mut g = runtime().instantiate(&tenant).unwrap();
        let (kind, detail) = store_err(g.session(None), link);
        assert_eq!(kind, "improperly-configured", "{detail}");
        let (kind2, _) = store_err(g.clear_expired(), link);
        assert_eq!(kind2, "improperly-configured");
        refused.push(link);
    }
    assert_eq!(snapshot(outside.path()), outside_before);
    report(
        "symlinks, hard links, directories",
        &format!(
            "symlinks (to a session signed with the tenant's secret, dangling, to a directory, relative ../), hard links (live and expired), directories, at session and temp-file names; {ops} load/exists/save/save(must_create)/delete calls, a save and a clear-expired; SESSION_FILE_PATH through a symlink out of and within the preopen"
        ),
        &format!(
            "symlinks and directories read as missing and are never followed; creates on planted names fail with create-error; the sweep unlinked only the 2 stale hard links; a save replaced the hard link's name; deletes unlinked names, a directory gave io; the {} outside entries kept their bytes and mtimes, nothing was created outside; symlinked storage paths ({}) refused with improperly-configured",
            outside_before.len(),
            refused.join(", ")
        ),
    );
}

/// A FIFO named like a session file: opening it for reading would block until a writer
/// comes, so `load` of that key and every `clear-expired` (which reads each session file)
/// would hang. (Found by this suite: the type used to be checked after opening for
/// reading. It is now opened for reading and writing, which does not wait, and then
/// checked; `fifo_race.rs` swaps a FIFO in while a call runs.) With a read-only preopen,
/// where the store checks the type first instead, a FIFO already there does not block
/// either.
#[test]
fn a_fifo_named_like_a_session_does_not_block() {
    let env = Env::new();
    let fifo = env.session_file(KEY);
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let tenants = [env.tenant.clone(), env.tenant.clone().perms(wasmtime_wasi::FsPerms::ReadOnly)];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // Instantiated before the clock starts (compiling is no call).
        let guests: Vec<Guest> = tenants.iter().map(|t| runtime().instantiate(t).unwrap()).collect();
        let _ = tx.send(("ready", Ok(String::new())));
        for mut g in guests {
            let s = g.session(Some(KEY)).unwrap();
            let _ = tx.send(("load", g.load(s).map_err(|e| e.to_string())));
            let sweep = g.clear_expired().map(|r| format!("{r:?}")).map_err(|e| e.to_string());
            let _ = tx.send(("clear-expired", sweep));
        }
    });
    assert_eq!(rx.recv().unwrap().0, "ready");
    let (mut hung, mut results) = (Vec::new(), Vec::new());
    for call in ["load", "clear-expired", "load (read-only preopen)", "clear-expired (read-only preopen)"] {
        let mut r = rx.recv_timeout(Duration::from_secs(5));
        if r.is_err() {
            hung.push(call);
            // Unblock the guest's open: a writer comes and goes (non-blocking, so this
            // never waits itself).
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::OpenOptions::new().write(true).custom_flags(0o4000).open(&fifo);
            r = rx.recv_timeout(Duration::from_secs(5));
        }
        results.push(r.map(|r| format!("{}: {:?}", r.0, r.1)).unwrap_or_else(|_| format!("{call}: still blocked")));
    }
    assert!(hung.is_empty(), "blocked for 5 s on a FIFO: {hung:?}; after a writer came: {results:?}");
    report(
        "FIFO named like a session",
        "load and clear-expired with a FIFO at a session name, on a read-write and on a read-only preopen",
        "neither blocks; the FIFO reads as missing (opened for reading and writing, which does not wait, and seen for what it is; on the read-only preopen, its type checked before the open)",
    );
}

/// What write access to the directory still gives, as in Django: a session file is signed
/// but not bound to its name, so one moved under another key loads there.
#[test]
fn a_session_file_moved_under_another_key_loads_there() {
    let env = Env::new();
    std::fs::write(env.session_file(KEY), signed(&json!({"user_id": 1, "is_admin": true}))).unwrap();
    let other = "0therkey000000000000000000000000";
    std::fs::rename(env.session_file(KEY), env.session_file(other)).unwrap();
    let mut g = env.guest();
    let s = g.session(Some(other)).unwrap();
    assert_eq!(json(&g.load(s).unwrap()), json!({"user_id": 1, "is_admin": true}));
}

// ---------------------------------------------------------------------------------------
// Tenant isolation
// ---------------------------------------------------------------------------------------

#[test]
fn tenants_cannot_reach_each_other() {
    let a = Env::new().setting("SECRET_KEY", "tenant-a-secret-aaaaaaaaaaaaaaaa");
    let b = Env::new().setting("SECRET_KEY", "tenant-b-secret-bbbbbbbbbbbbbbbb");
    let signer_b = Signer::new("tenant-b-secret-bbbbbbbbbbbbbbbb", &[]);
    let mut ga = a.guest();
    let mut gb = b.guest();
    let mut a_keys = Vec::new();
    for i in 0..5 {
        let s = ga.session(None).unwrap();
        ga.set(s, "tenant", "\"a\"").unwrap();
        ga.set(s, "i", &i.to_string()).unwrap();
        ga.create(s).unwrap();
        a_keys.push(ga.session_key(s).unwrap().unwrap());
    }
    let a_before = snapshot(a.path());
    let a_name = a.path().display().to_string();
    let mut attempts = 0;
    for ka in &a_keys {
        // A's key in B: no such session.
        let s = gb.session(Some(ka)).unwrap();
        assert_eq!(json(&gb.load(s).unwrap()), json!({}));
        assert_eq!(gb.session_key(s).unwrap(), None);
        assert!(!gb.exists(s, ka).unwrap());
        gb.delete(s, Some(ka)).unwrap();
        // Paths aimed at A's directory.
        for aimed in [
            format!("../{}/sessionid{ka}", a.path().file_name().unwrap().to_str().unwrap()),
            format!("{a_name}/sessionid{ka}"),
        ] {
            assert_eq!(store_err(gb.delete(s, Some(&aimed)), &aimed).0, "invalid-session-key");
            assert_eq!(store_err(gb.exists(s, &aimed), &aimed).0, "invalid-session-key");
            let t = gb.session(Some(&aimed)).unwrap();
            assert_eq!(json(&gb.load(t).unwrap()), json!({}));
        }
        // B creating the same key makes B's own file.
        let t = gb.session(Some(ka)).unwrap();
        gb.clear(t).unwrap();
        gb.set(t, "tenant", "\"b\"").unwrap();
        gb.save(t, true).unwrap();
        gb.delete(t, None).unwrap();
        attempts += 8;
    }
    // Crafted input: A's file copied into B, linked into B (hard and symbolic), decoded by B.
    let ka = &a_keys[0];
    let a_file = a.session_file(ka);
    let a_text = std::fs::read_to_string(&a_file).unwrap();
    let probe = gb.session(None).unwrap();
    assert_eq!(json(&gb.decode(probe, &a_text).unwrap()), json!({}), "A's signature does not verify for B");
    std::fs::copy(&a_file, b.session_file(ka)).unwrap();
    let s = gb.session(Some(ka)).unwrap();
    assert_eq!(json(&gb.load(s).unwrap()), json!({}), "a copied file reads as tampered");
    std::fs::remove_file(b.session_file(ka)).unwrap();
    std::fs::hard_link(&a_file, b.session_file(&a_keys[1]))
        .unwrap_or_else(|_| std::fs::copy(&a_file, b.session_file(&a_keys[1])).map(|_| ()).unwrap());
    let s = gb.session(Some(&a_keys[1])).unwrap();
    assert_eq!(json(&gb.load(s).unwrap()), json!({}));
    gb.set(s, "tenant", "\"b\"").unwrap();
    gb.save(s, false).unwrap(); // replaces B's name, not A's file
    std::os::unix::fs::symlink(a.session_file(&a_keys[2]), b.session_file(&a_keys[2])).unwrap();
    let s = gb.session(Some(&a_keys[2])).unwrap();
    assert_eq!(json(&gb.load(s).unwrap()), json!({}));
    gb.delete(s, Some(&a_keys[2])).unwrap();
    attempts += 6;
    // B pointed at A's directory (not preopened for B).
    let wrong = b.tenant.clone().env("SESSION_FILE_PATH", &a_name);
    let mut gw = runtime().instantiate(&wrong).unwrap();
    assert_eq!(store_err(gw.session(None), "B on A's path").0, "improperly-configured");
    assert_eq!(store_err(gw.clear_expired(), "B on A's path").0, "improperly-configured");
    // B's sweep of its own directory with everything aged never reaches A.
    for f in b.files() {
        age_file(&b.file(&f), COOKIE_AGE + 5);
    }
    gb.clear_expired().unwrap();
    attempts += 3;
    assert_eq!(snapshot(a.path()), a_before, "B changed A's directory");

    // Both tenants busy at once on threads of one host: each directory holds only its
    // own sessions, each verifying only with its own secret.
    let per_thread = 300;
    std::thread::scope(|sc| {
        for env in [&a, &b] {
            sc.spawn(move || {
                let mut g = env.guest();
                for i in 0..per_thread {
                    let s = g.session(None).unwrap();
                    g.set(s, "i", &i.to_string()).unwrap();
                    g.create(s).unwrap();
                    if i % 3 == 0 {
                        g.delete(s, None).unwrap();
                    }
                    g.drop_session(s).unwrap();
                }
            });
        }
    });
    let signer_a = Signer::new("tenant-a-secret-aaaaaaaaaaaaaaaa", &[]);
    let (mut own_a, mut own_b) = (0, 0);
    for (env, own, other, count) in [(&a, &signer_a, &signer_b, &mut own_a), (&b, &signer_b, &signer_a, &mut own_b)] {
        for f in env.files() {
            let text = std::fs::read_to_string(env.file(&f)).unwrap();
            assert!(own.loads(&text).is_ok(), "{f} verifies with its tenant's secret");
            assert_eq!(other.loads(&text), Err(DecodeError::BadSignature), "{f} verifies with the other tenant's");
            *count += 1;
        }
    }
    assert!(a_keys.iter().all(|k| a.session_file(k).exists()), "A's sessions are all there");
    report(
        "tenant isolation",
        &format!(
            "two tenants (own directory, own secret) in one host: {attempts} attempts by B on A's sessions (A's keys, paths aimed at A's directory, A's files copied, hard- and sym-linked into B, decoded by B, B configured with A's path, B's sweep), then both creating and deleting {per_thread} sessions each on threads at once"
        ),
        &format!(
            "A's directory byte- and mtime-identical after all of B's attempts; copied/linked files read as {{}} in B; paths refused with invalid-session-key, A's path with improperly-configured; afterwards A holds {own_a} files and B {own_b}, each verifying only with its own tenant's secret"
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------------------

/// The comparison of signatures uses `subtle::ConstantTimeEq` on the signature text
/// (src/codec.rs, `Signer::unsign`). Timing cannot be measured reliably here, so this
/// checks the behaviour that comparison gives (every single-character change and every
/// length change of the signature is rejected, including changes only in unused base64
/// bits, which a comparison of decoded bytes would accept) and that the source uses it.
#[test]
fn signature_check_is_a_constant_time_text_comparison() {
    let signer = signer();
    let token = signer.dumps(&json!({"user": 42}), 1_700_000_000);
    let (value, sig) = token.rsplit_once(':').unwrap();
    assert_eq!(sig.len(), 43);
    const A: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut rejected = 0;
    for i in 0..sig.len() {
        for c in A.chars().filter(|&c| c != sig.as_bytes()[i] as char) {
            let mut t = sig.to_owned();
            t.replace_range(i..i + 1, &c.to_string());
            assert_eq!(signer.loads(&format!("{value}:{t}")), Err(DecodeError::BadSignature), "position {i} -> {c}");
            rejected += 1;
        }
    }
    for t in [&sig[..42], &sig[..1], "", &format!("{sig}A"), &format!("{sig}=")] {
        assert_eq!(signer.loads(&format!("{value}:{t}")), Err(DecodeError::BadSignature), "{t:?}");
        rejected += 1;
    }
    // Python-compatible padding (`=`) and whitespace: rejected like any other text.
    let source = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../src/codec.rs"));
    let unsign = &source[source.find("fn unsign").expect("Signer::unsign")..];
    let unsign = &unsign[..unsign.find("\n    }\n").expect("end of unsign")];
    assert!(source.contains("use subtle::ConstantTimeEq;"), "codec.rs imports subtle::ConstantTimeEq");
    assert!(unsign.contains(".ct_eq(sig.as_bytes())"), "unsign compares with ct_eq: {unsign}");
    assert!(!unsign.contains("== sig") && !unsign.contains("sig =="), "no short-circuit comparison: {unsign}");
    let manifest = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml"));
    assert!(manifest.lines().any(|l| l.starts_with("subtle")), "subtle is a dependency of the guest");
    report(
        "signature check",
        &format!(
            "{rejected} altered signatures of one session (every other character at each of the 43 positions, truncations, extensions); the source of Signer::unsign"
        ),
        "every one rejected as a bad signature, including changes only in the unused low bits of the last character; the comparison is subtle::ConstantTimeEq::ct_eq over the signature text (src/codec.rs, Signer::unsign), with no short-circuit equality; timing is not asserted",
    );
}

#[test]
fn the_secret_never_appears_in_errors_output_or_files() {
    const CANARY: &str = "CANARY-s3cr3t-7f3a9c2e";
    const OLD: &str = "CANARY-0ld-k3y-51d0b4";
    let host = instrumented();
    let env = Env::new().setting("SECRET_KEY", CANARY).setting("SECRET_KEY_FALLBACKS", &json!([OLD]).to_string());
    let mut texts: Vec<String> = Vec::new();
    let mut outputs: Vec<String> = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    let mut note = |texts: &mut Vec<String>, r: Result<String, HostError>| match r {
        Ok(v) => texts.push(v),
        Err(e) => {
            kinds.insert(e.kind());
            texts.push(format!("{e:?} {e}"));
        }
    };
    let unit = |r: Result<(), HostError>| r.map(|()| String::new());
    let b = |r: Result<bool, HostError>| r.map(|v| v.to_string());
    let instant = |text: &str| Some(Expiry::Instant(text.to_owned()));

    // Every error the store can give, on a store holding the secret.
    let mut g = host.instantiate(&env.tenant).unwrap();
    let s = g.session(None).unwrap();
    note(&mut texts, unit(g.set(s, "a", "not json")));
    note(&mut texts, unit(g.update(s, "[1]")));
    note(&mut texts, g.encode(s, "{"));
    note(&mut texts, unit(g.set_expiry(s, instant("never").as_ref())));
    note(&mut texts, unit(g.set_expiry(s, instant("2030-01-01T00:00:00").as_ref())));
    note(&mut texts, unit(g.remove(s, "missing")));
    note(&mut texts, g.pop(s, "missing", None));
    note(&mut texts, b(g.exists(s, "../../etc/passwd")));
    note(&mut texts, unit(g.delete(s, Some("BAD/KEY"))));
    // Sessions the store writes and keeps (one compressed), scanned at the end.
    for data in [r#"{"user": 1}"#.to_owned(), json!({"big": "x".repeat(5000)}).to_string()] {
        let k = g.session(None).unwrap();
        wit_ok(g.update(k, &data));
        wit_ok(g.create(k));
    }
    wit_ok(g.set(s, "user", "42"));
    wit_ok(g.create(s));
    let key = g.session_key(s).unwrap().unwrap();
    let t = g.session(Some(&key)).unwrap();
    wit_ok(g.set(t, "user", "43"));
    note(&mut texts, unit(g.save(t, true))); // create-error
    std::fs::remove_file(env.session_file(&key)).unwrap();
    note(&mut texts, unit(g.save(t, false))); // update-error
    // Files that do not verify: tampered, signed with other keys, garbage.
    let good = Signer::new(CANARY, &[]).dumps(&json!({"user": 1}), now_unix());
    for (i, bad) in [
        format!("{good}x"),
        good.replacen(':', ";", 1),
        Signer::new(&format!("{CANARY}-wrong"), &[]).dumps(&json!({"u": 1}), now_unix()),
        Signer::new("", &[]).dumps(&json!({"u": 1}), now_unix()),
        CANARY.to_owned(),
        format!("{CANARY}:{CANARY}:{CANARY}"),
    ]
    .iter()
    .enumerate()
    {
        let k = format!("{KEY}{i}");
        std::fs::write(env.session_file(&k), bad).unwrap();
        let s = g.session(Some(&k)).unwrap();
        note(&mut texts, g.load(s));
        note(&mut texts, g.decode(s, bad));
    }
    note(&mut texts, g.clear_expired().map(|r| format!("{r:?}")));
    outputs.push(g.stderr());

    // io errors: a read-only preopen.
    let mut ro = env.tenant.clone();
    ro.perms = wasmtime_wasi::FsPerms::ReadOnly;
    let mut g = host.instantiate(&ro).unwrap();
    let s = g.session(None).unwrap();
    wit_ok(g.set(s, "a", "1"));
    note(&mut texts, unit(g.create(s)));
    let s = g.session(Some(&format!("{KEY}0"))).unwrap();
    note(&mut texts, unit(g.delete(s, None)));
    note(&mut texts, unit(g.flush(s)));
    age_file(&env.session_file(&format!("{KEY}0")), COOKIE_AGE + 5);
    note(&mut texts, g.clear_expired().map(|r| format!("{r:?}")));
    outputs.push(g.stderr());

    // Settings errors whose values carry the secret's text.
    for (name, value) in [
        ("SECRET_KEY_FALLBACKS", CANARY.to_owned()),
        ("SECRET_KEY_FALLBACKS", format!("[\"{OLD}\", 7]")),
        ("SECRET_KEY_FALLBACKS", format!("[\"{OLD}\", \"\"]")),
        ("SECRET_KEY_FALLBACKS", format!("{OLD},{CANARY}")),
        ("SECRET_KEY", format!("{CANARY}\0tail")),
        ("SESSION_COOKIE_NAME", "bad name".to_owned()),
        ("SESSION_COOKIE_AGE", "soon".to_owned()),
        ("SESSION_FILE_PATH", "/nonexistent".to_owned()),
    ] {
        let tenant = env.tenant.clone().env(name, &value);
        let mut g = host.instantiate(&tenant).unwrap();
        note(&mut texts, g.session(None).map(|_| String::new()));
        note(&mut texts, g.clear_expired().map(|r| format!("{r:?}")));
        outputs.push(g.stderr());
    }

    // Traps: a save stopped by fuel exhaustion, a call after the trap.
    let mut g = host.instantiate(&env.tenant).unwrap();
    let s = g.session(None).unwrap();
    wit_ok(g.set(s, "user", "42"));
    g.store_mut().set_fuel(2000).unwrap();
    note(&mut texts, unit(g.save(s, false)));
    note(&mut texts, g.load(s));
    outputs.push(g.stderr());

    // The command line, with SECRET_KEY set to the canary.
    let cli = |args: &[&str], extra: &[(&str, &str)]| {
        let mut cmd = Command::new(SESSIONS);
        cmd.arg("--dir").arg(env.path()).args(args).env("SECRET_KEY", CANARY).env_remove("SECRET_KEY_FALLBACKS");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        format!("{} {}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
    };
    let cli_runs: Vec<String> = vec![
        cli(&["load", "../../etc/passwd"], &[]),
        cli(&["exists", "BAD"], &[]),
        cli(&["delete", "a/b/c/d/e/f"], &[]),
        cli(&["save", KEY, "not json"], &[]),
        cli(&["create", "[1]"], &[]),
        cli(&["load", &format!("{KEY}1")], &[]),
        cli(&["clear-expired"], &[("SECRET_KEY_FALLBACKS", CANARY)]),
        cli(&["load", KEY], &[("SESSION_COOKIE_AGE", CANARY)]),
        cli(&["nonsense"], &[]),
    ];
    outputs.extend(cli_runs.iter().cloned());

    let mut scanned = 0;
    for t in texts.iter().chain(outputs.iter()) {
        for part in ["CANARY", "s3cr3t-7f3a9c2e", "0ld-k3y-51d0b4"] {
            assert!(!t.contains(part), "the secret (or input holding it) was echoed: {t}");
        }
        scanned += 1;
    }
    let guest_output: usize = outputs.iter().map(String::len).sum();
    // No file the store wrote holds the secret.
    let mut files = 0;
    for f in env.files() {
        if f.starts_with(&format!("sessionid{KEY}")) {
            continue; // the test's own hostile files
        }
        let bytes = std::fs::read(env.file(&f)).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("CANARY"), "{f} holds the secret");
        files += 1;
    }
    assert!(kinds.len() >= 8, "{kinds:?}");
    report(
        "secret never disclosed",
        &format!(
            "SECRET_KEY and SECRET_KEY_FALLBACKS set to recognisable canaries; {} error paths and results (kinds: {}), including malformed settings carrying the secret's text, tampered files and traps; the guest's captured stderr/stdout ({} bytes); {} runs of `sessions`",
            texts.len(),
            kinds.iter().copied().collect::<Vec<_>>().join(", "),
            guest_output,
            cli_runs.len()
        ),
        &format!(
            "the canaries appear in none of the {scanned} texts (Debug and Display forms of every error and trap, guest output, command output) and in none of the {files} files the store wrote"
        ),
    );
}

fn wit_ok<T>(r: Result<T, HostError>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// Issue 13, finding 4: a session key is a bearer token and hosts log errors, so no error,
/// log line or trap shows one; they show the prefix and the key's first 4 characters.
#[test]
fn session_keys_never_appear_in_errors_output_or_traps() {
    let host = instrumented();
    let env = Env::new();
    let mut texts: Vec<(String, String)> = Vec::new(); // (what, text)
    let mut keys: Vec<String> = Vec::new();
    let err = |texts: &mut Vec<(String, String)>, what: &str, r: Result<(), HostError>| {
        let text = match r {
            Ok(()) => panic!("{what}: expected an error"),
            Err(e) => format!("{e} {e:?}"),
        };
        texts.push((what.to_owned(), text));
    };
    let mut g = host.instantiate(&env.tenant).unwrap();
    let s = g.session(None).unwrap();
    wit_ok(g.set(s, "user", "1"));
    wit_ok(g.create(s));
    let key = g.session_key(s).unwrap().unwrap();
    keys.push(key.clone());
    let t = g.session(Some(&key)).unwrap();
    wit_ok(g.set(t, "user", "2"));
    err(&mut texts, "create-error", g.save(t, true));
    std::fs::remove_file(env.session_file(&key)).unwrap();
    err(&mut texts, "update-error", g.save(t, false));
    std::fs::create_dir(env.session_file(&key)).unwrap();
    err(&mut texts, "a directory where the session file was", g.save(t, false));
    err(&mut texts, "delete of a directory", g.delete(t, Some(&key)));
    std::fs::remove_dir(env.session_file(&key)).unwrap();
    texts.push(("stderr".into(), g.stderr()));

    // A read-only preopen: every write and delete fails.
    wit_ok(g.save(t, true));
    assert!(env.session_file(&key).is_file());
    let ro = env.tenant.clone().perms(wasmtime_wasi::FsPerms::ReadOnly);
    let mut g = host.instantiate(&ro).unwrap();
    let s = g.session(Some(&key)).unwrap();
    wit_ok(g.set(s, "user", "3"));
    err(&mut texts, "failed write of an update", g.save(s, false));
    err(&mut texts, "failed delete", g.delete(s, None));
    err(&mut texts, "failed flush", g.flush(s));
    let c = g.session(None).unwrap();
    err(&mut texts, "failed create", g.create(c));
    keys.extend(g.session_key(c).unwrap()); // the fresh key it tried
    let c = g.session(Some(&key)).unwrap();
    err(&mut texts, "failed cycle-key", g.cycle_key(c));
    keys.extend(g.session_key(c).unwrap());
    texts.push(("read-only stderr".into(), g.stderr()));

    // A trap in the middle of saving a keyed session.
    let mut g = host.instantiate(&env.tenant).unwrap();
    let s = g.session(Some(&key)).unwrap();
    wit_ok(g.set(s, "user", "4"));
    g.store_mut().set_fuel(2000).unwrap();
    err(&mut texts, "trap", g.save(s, false));
    texts.push(("trap stderr".into(), g.stderr()));

    assert!(keys.len() >= 2 && keys.iter().all(|k| k.len() == 32), "{keys:?}");
    for (what, text) in &texts {
        for key in &keys {
            // No 8 characters of a key in a row: never the key, nor enough of it to use.
            for window in key.as_bytes().windows(8) {
                let part = std::str::from_utf8(window).unwrap();
                assert!(!text.contains(part), "{what}: {part:?} of a key in {text}");
            }
        }
    }
    // Still enough to find the file.
    let shown = format!("sessionid{}…", &key[..4]);
    for what in ["create-error", "update-error", "failed write of an update", "failed delete"] {
        let (_, text) = texts.iter().find(|(w, _)| w == what).unwrap();
        assert!(text.contains(&shown), "{what}: {text}");
    }
    report(
        "session keys never disclosed (finding 4)",
        &format!(
            "{} texts: create-error, update-error, a directory in a session's place, failed writes, deletes, flush, create and cycle-key on a read-only preopen, a trap mid-save, and the guest's stderr/stdout",
            texts.len()
        ),
        &format!(
            "no 8 consecutive characters of any of the {} keys involved appear; errors name the file as `sessionid` + the key's first 4 characters + `…`",
            keys.len()
        ),
    );
}

// ---------------------------------------------------------------------------------------
// Key rotation
// ---------------------------------------------------------------------------------------

#[test]
fn key_rotation_through_fallbacks() {
    const A: &str = "rotation-key-a-2023";
    const B: &str = "rotation-key-b-2024";
    const C: &str = "rotation-key-c-2025 ключ ☃ \"quoted\"";
    let env = Env::new();
    let deploy = |secret: &str, fallbacks: &[&str]| {
        let mut t = env.tenant.clone().env("SECRET_KEY", secret);
        if !fallbacks.is_empty() {
            t = t.env("SECRET_KEY_FALLBACKS", &serde_json::to_string(fallbacks).unwrap());
        }
        runtime().instantiate(&t).unwrap()
    };
    let verifies = |key: &str, secret: &str| {
        Signer::new(secret, &[]).loads(&std::fs::read_to_string(env.session_file(key)).unwrap()).is_ok()
    };
    let new_session = |g: &mut Guest, data: &str| {
        let s = g.session(None).unwrap();
        g.update(s, data).unwrap();
        g.create(s).unwrap();
        g.session_key(s).unwrap().unwrap()
    };
    let load = |g: &mut Guest, key: &str| {
        let s = g.session(Some(key)).unwrap();
        json(&g.load(s).unwrap())
    };

    // Deploy 1: key A.
    let mut g1 = deploy(A, &[]);
    let sa = new_session(&mut g1, r#"{"by": "a"}"#);
    let sz = new_session(&mut g1, r#"{"by": "a", "never": "resaved"}"#);
    // A session signed with A whose expiry lies in the past (recent mtime).
    let expired = "e0000000000000000000000000000000";
    std::fs::write(
        env.session_file(expired),
        Signer::new(A, &[]).dumps(&json!({"_session_expiry": "2001-01-01T00:00:00+00:00"}), now_unix()),
    )
    .unwrap();

    // Deploy 2: key B, A as fallback. Old sessions load; reading does not re-sign.
    let mut g2 = deploy(B, &[A]);
    let sb = new_session(&mut g2, r#"{"by": "b"}"#);
    let before = std::fs::read(env.session_file(&sa)).unwrap();
    assert_eq!(load(&mut g2, &sa), json!({"by": "a"}));
    assert_eq!(std::fs::read(env.session_file(&sa)).unwrap(), before, "a load does not rewrite");
    assert!(verifies(&sb, B) && !verifies(&sb, A));

    // Deploy 3: key C (non-ASCII, quotes), fallbacks B and A in either order.
    for order in [[B, A], [A, B]] {
        let mut g = deploy(C, &order);
        assert_eq!(load(&mut g, &sa), json!({"by": "a"}));
        assert_eq!(load(&mut g, &sb), json!({"by": "b"}));
    }
    // Without the fallbacks the sweep cannot read the old expiry (the file is recent):
    // it stays. With them it is read and the session swept.
    assert_eq!(deploy(C, &[]).clear_expired().unwrap().expired_sessions, 0);
    assert!(env.session_file(expired).exists());
    let mut g3 = deploy(C, &[B, A]);
    let r = g3.clear_expired().unwrap();
    assert_eq!((r.expired_sessions, r.failures), (1, 0));
    assert!(!env.session_file(expired).exists());
    // The next save re-signs with C: a modified session, and a cycled key.
    let s = g3.session(Some(&sa)).unwrap();
    g3.set(s, "seen", "3").unwrap();
    g3.save(s, false).unwrap();
    assert!(verifies(&sa, C) && !verifies(&sa, A) && !verifies(&sa, B), "re-signed with the current key only");
    let s = g3.session(Some(&sb)).unwrap();
    g3.cycle_key(s).unwrap();
    let sb2 = g3.session_key(s).unwrap().unwrap();
    assert!(!env.session_file(&sb).exists() && verifies(&sb2, C));
    // Through the command line too (SECRET_KEY_FALLBACKS passed through).
    let out = Command::new(SESSIONS)
        .arg("--dir")
        .arg(env.path())
        .args(["save", &sz, r#"{"by": "cli"}"#])
        .env("SECRET_KEY", C)
        .env("SECRET_KEY_FALLBACKS", serde_json::to_string(&[A]).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), sz, "saved under its key: the old session was found");
    assert!(verifies(&sz, C));

    // Deploy 4: C alone. Everything re-signed loads; a session never re-saved under the
    // fallback would read as {} (re-sign one more, never-resaved session to show it).
    let lonely = new_session(&mut deploy(B, &[]), r#"{"by": "b", "lonely": true}"#);
    let mut g4 = deploy(C, &[]);
    assert_eq!(load(&mut g4, &sa), json!({"by": "a", "seen": 3}));
    assert_eq!(load(&mut g4, &sb2), json!({"by": "b"}));
    assert_eq!(load(&mut g4, &sz), json!({"by": "cli"}));
    let s = g4.session(Some(&lonely)).unwrap();
    assert_eq!(json(&g4.load(s).unwrap()), json!({}));
    assert_eq!(g4.session_key(s).unwrap().as_deref(), Some(lonely.as_str()), "kept, as Django");
    report(
        "key rotation",
        "three keys rotated A -> B (fallback A) -> C (fallbacks B, A in either order; C non-ASCII with quotes) -> C alone: loads, a load-only request, a modified save, cycle_key, clear-expired of an old-key session with a past expiry, `sessions save` with SECRET_KEY_FALLBACKS",
        "old sessions load through the fallbacks without being rewritten; the next save (and cycle_key, and the CLI's save) re-signs them with the current key only; the sweep honours expiry dates signed with a fallback; after dropping the fallbacks every re-signed session loads, a never-re-saved one reads as {} with its key kept",
    );
}

// ---------------------------------------------------------------------------------------
// Fuzzing (proptest)
// ---------------------------------------------------------------------------------------

/// Cases for the native fuzz tests (`FUZZ_CASES`, default 2000); the component gets a tenth.
fn fuzz_cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(2000)
}

fn fuzz_budget() -> Duration {
    let secs = std::env::var("FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(if fuzz_cases() > 2000 {
        3600
    } else {
        40
    });
    Duration::from_secs(secs)
}

fn runner(cases: u32) -> TestRunner {
    TestRunner::new(PtConfig { cases, failure_persistence: None, max_shrink_iters: 4096, ..PtConfig::default() })
}

/// Text that looks like a session token: base64url, base62, `:` and `.`, plus odd bytes.
fn token_like() -> impl Strategy<Value = String> {
    prop_oneof![
        "[A-Za-z0-9_\\-]{0,80}:[0-9A-Za-z\\-]{0,8}:[A-Za-z0-9_\\-]{0,50}",
        "\\.?[A-Za-z0-9_\\-=]{0,120}(:[A-Za-z0-9_\\-]{0,10}){0,4}",
        any::<String>(),
        "[\\x00-\\x7f]{0,200}",
    ]
}

/// JSON-ish text: the parser's and Python-mending's alphabet, tokens included.
fn json_soup() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            Just("{".to_owned()),
            Just("}".to_owned()),
            Just("[".to_owned()),
            Just("]".to_owned()),
            Just(",".to_owned()),
            Just(":".to_owned()),
            Just("\"".to_owned()),
            Just("\\".to_owned()),
            Just("NaN".to_owned()),
            Just("-Infinity".to_owned()),
            Just("Infinity".to_owned()),
            Just("\\ud800".to_owned()),
            Just("\\udc00".to_owned()),
            Just("\\u00e9".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            "[-+.eE0-9]{1,25}",
            "[a-z \u{e9}\u{7f}\u{80}]{1,6}",
        ],
        0..60,
    )
    .prop_map(|v| v.concat())
}

/// Signed payloads of every shape the decoder meets after a valid signature.
fn signed_payload() -> impl Strategy<Value = String> {
    let ts = "[0-9A-Za-z\\-]{0,8}";
    prop_oneof![
        // plain base64 of JSON-ish text
        (json_soup(), ts).prop_map(|(j, t)| sign_raw(&format!("{}:{t}", b64url(j.as_bytes())))),
        // compressed marker over stored-zlib JSON-ish text
        (json_soup(), ts).prop_map(|(j, t)| sign_raw(&format!(".{}:{t}", b64url(&zlib_stored(j.as_bytes()))))),
        // arbitrary bytes, plain or marked compressed
        (proptest::collection::vec(any::<u8>(), 0..300), any::<bool>(), ts).prop_map(|(b, z, t)| sign_raw(&format!(
            "{}{}:{t}",
            if z { "." } else { "" },
            b64url(&b)
        ))),
        // arbitrary text as the signed value
        token_like().prop_map(|v| sign_raw(&v)),
    ]
}

/// JSON values for round trips: every scalar kind, big integers, any Unicode.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| Value::from(if f.is_finite() { f } else { -0.0 })),
        "-?[1-9][0-9]{19,40}".prop_map(|s| serde_json::from_str::<Value>(&s).unwrap()),
        any::<String>().prop_map(Value::from),
        // Over 1 KiB: the compressed path (built cheaply, not by a regex).
        (1000usize..3000, any::<u64>()).prop_map(|(n, seed)| {
            let mut r = Rng::new(seed);
            Value::from((0..n).map(|_| (b'a' + (r.next() % 26) as u8) as char).collect::<String>())
        }),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::from),
            proptest::collection::vec((any::<String>(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

fn json_object() -> impl Strategy<Value = Value> {
    proptest::collection::vec((any::<String>(), json_value()), 0..6)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Numbers compared by value (a float's text may change form: `1e16` is written `1e+16`).
fn normalize(v: &Value) -> Value {
    match v {
        Value::Number(n) => {
            let text = n.to_string();
            if text.parse::<i128>().is_ok() || !text.contains(['.', 'e', 'E']) {
                Value::String(format!("int:{text}"))
            } else {
                Value::String(format!("float:{:?}", text.parse::<f64>().unwrap()))
            }
        }
        Value::Array(a) => Value::Array(a.iter().map(normalize).collect()),
        Value::Object(o) => Value::Object(o.iter().map(|(k, v)| (k.clone(), normalize(v))).collect()),
        other => other.clone(),
    }
}

/// Runs `test` on `cases` inputs from `strategy`, within the time budget; returns how many
/// ran.
fn fuzz<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>) -> u64
where
    S::Value: std::fmt::Debug,
{
    let deadline = Instant::now() + fuzz_budget();
    let ran = AtomicU64::new(0);
    let result = runner(cases).run(&strategy, |input| {
        if Instant::now() > deadline {
            return Ok(()); // out of time: the remaining cases pass untried (counted below)
        }
        ran.fetch_add(1, Ordering::Relaxed);
        test(input)
    });
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    ran.load(Ordering::Relaxed)
}

#[test]
fn fuzz_native_decoder() {
    let cases = fuzz_cases();
    let started = Instant::now();
    let signer = signer();
    let other = Signer::new("some-other-secret", &[SECRET.to_owned()]);

    // 1. Arbitrary text never verifies, never panics.
    let t = Instant::now();
    let n1 = fuzz("unsigned text", cases, token_like(), |s| {
        prop_assert_eq!(signer.loads(&s), Err(DecodeError::BadSignature));
        Ok(())
    });
    let n1_s = t.elapsed().as_secs_f64();
    // 2. Validly signed arbitrary payloads: never a panic; what decodes is JSON that the
    // encoder writes back to the same value; the fallback key decodes the same.
    let t = Instant::now();
    let n2 = fuzz("signed payloads", cases, signed_payload(), |s| {
        let r = signer.loads(&s);
        prop_assert_eq!(&other.loads(&s), &r, "a fallback key decodes the same");
        if let Ok(v) = r {
            let again = signer.dumps(&v, 0);
            prop_assert_eq!(normalize(&signer.loads(&again).unwrap()), normalize(&v));
        }
        Ok(())
    });
    let n2_s = t.elapsed().as_secs_f64();
    // 3. Round trip of arbitrary session objects, compressed or not.
    let t = Instant::now();
    let n3 = fuzz("round trip", cases, (json_object(), any::<i64>()), |(v, ts)| {
        let text = signer.dumps(&v, ts);
        prop_assert!(text.is_ascii());
        prop_assert_eq!(normalize(&signer.loads(&text).unwrap()), normalize(&v));
        Ok(())
    });
    let n3_s = t.elapsed().as_secs_f64();
    // 4. Any single-character change of a signed session is rejected.
    let t = Instant::now();
    const REPLACEMENTS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:.= ";
    let n4 = fuzz(
        "tamper",
        cases,
        (json_object(), any::<prop::sample::Index>(), any::<prop::sample::Index>()),
        |(v, at, pick)| {
            let text = signer.dumps(&v, 1_700_000_000);
            let i = at.index(text.len());
            // Any character but the one there (no rejected cases).
            let mut c = REPLACEMENTS[pick.index(REPLACEMENTS.len())];
            if c == text.as_bytes()[i] {
                c = REPLACEMENTS[(pick.index(REPLACEMENTS.len()) + 1) % REPLACEMENTS.len()];
            }
            let mut t = text.clone();
            t.replace_range(i..i + 1, &(c as char).to_string());
            prop_assert_eq!(signer.loads(&t), Err(DecodeError::BadSignature));
            Ok(())
        },
    );
    let n4_s = t.elapsed().as_secs_f64();
    let total = n1 + n2 + n3 + n4;
    assert!(total >= 4 * u64::from(cases.min(200)), "the time budget cut the run to {total} cases");
    report(
        "fuzz: native decoder (proptest)",
        &format!(
            "{total} cases in {:.1} s (FUZZ_CASES={cases}): {n1} arbitrary texts ({n1_s:.1} s), {n2} validly signed arbitrary payloads: JSON-ish soup with NaN/Infinity/surrogates, stored-zlib, raw bytes, arbitrary values ({n2_s:.1} s), {n3} round trips of arbitrary session objects ({n3_s:.1} s), {n4} single-character tamperings ({n4_s:.1} s), against file_sessions::codec::Signer::loads",
            started.elapsed().as_secs_f64()
        ),
        "no panic; unsigned text and every tampering rejected as a bad signature; what a valid signature covers decodes to JSON the encoder writes back identically, and a fallback key decodes the same; every object round-trips",
    );
}

#[test]
fn fuzz_native_key_validation() {
    let cases = fuzz_cases();
    let started = Instant::now();
    let strategy = prop_oneof![
        any::<String>(),
        "[a-z0-9]{0,40}",
        "[a-z0-9./\\\\\\x00A-Z_\\-\u{e9}\u{ff41}\u{2215}]{0,40}",
        "\\PC{0,12}"
    ];
    let valid = AtomicU64::new(0);
    let n = fuzz("key validation", cases * 2, strategy, |s| {
        let expected = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        prop_assert_eq!(key::has_valid_chars(&s), expected);
        if expected {
            valid.fetch_add(1, Ordering::Relaxed);
            prop_assert!(!s.contains(['/', '\\', '.', '\0']) && s.is_ascii());
        }
        prop_assert_eq!(key::validated(Some(s.clone())).is_some(), s.chars().count() >= 8);
        Ok(())
    });
    report(
        "fuzz: key validation (proptest)",
        &format!(
            "{n} strings in {:.1} s (any Unicode, [a-z0-9], separators, NUL, uppercase, look-alikes such as U+FF41 and U+2215) against file_sessions::key::has_valid_chars and validated",
            started.elapsed().as_secs_f64()
        ),
        &format!(
            "accepted exactly the strings of [a-z0-9]* ({} of them), none holding a separator, dot or NUL; the 8-character rule counted characters",
            valid.load(Ordering::Relaxed)
        ),
    );
}

#[test]
fn fuzz_through_the_component() {
    let cases = (fuzz_cases() / 10).max(20);
    let started = Instant::now();
    let env = Env::new();
    let native = {
        let vars = [("SECRET_KEY", SECRET), ("SESSION_FILE_PATH", env.path().to_str().unwrap())]
            .map(|(k, v)| (k.to_owned(), v.to_owned()));
        std::rc::Rc::new(file_sessions::FileStore::new(file_sessions::Settings::from_vars(vars).unwrap()).unwrap())
    };
    let guest = std::cell::RefCell::new(env.guest());
    let strategy =
        (prop_oneof![token_like(), signed_payload()], proptest::collection::vec(any::<u8>(), 0..400), signed_payload());
    let n = fuzz("component", cases, strategy, |(text, bytes, file)| {
        let mut g = guest.borrow_mut();
        let trap = |e: HostError| TestCaseError::fail(format!("{e}"));
        let s = g.session(None).map_err(trap)?;
        // decode: the component agrees with the native decoder.
        let ours = json(&g.decode(s, &text).map_err(trap)?);
        prop_assert_eq!(normalize(&ours), normalize(&file_sessions::Session::new(native.clone(), None).decode(&text)));
        // The text as a key: a clear answer, consistent with the character rule.
        let valid = key::has_valid_chars(&text);
        for (what, r) in [("exists", g.exists(s, &text).map(|_| ())), ("delete", g.delete(s, Some(&text)))] {
            match r {
                Ok(()) => prop_assert!(valid, "{} accepted {:?}", what, text),
                Err(HostError::Store(e)) => {
                    prop_assert!(!valid && e.kind() == "invalid-session-key", "{}: {}", what, e.to_string())
                }
                Err(e) => return Err(trap(e)),
            }
        }
        let t = g.session(Some(&text)).map_err(trap)?;
        prop_assert_eq!(g.load(t).map_err(trap)?, "{}");
        g.drop_session(t).map_err(trap)?;
        // Arbitrary bytes, and a signed payload, as a session file: the component loads
        // what the native store loads.
        for content in [&bytes[..], file.as_bytes()] {
            std::fs::write(env.session_file(KEY), content).unwrap();
            let t = g.session(Some(KEY)).map_err(trap)?;
            let ours = json(&g.load(t).map_err(trap)?);
            g.drop_session(t).map_err(trap)?;
            let mut session = file_sessions::Session::new(native.clone(), Some(KEY.to_owned()));
            let theirs = Value::Object(file_sessions::run_sync(session.load()).unwrap());
            prop_assert_eq!(normalize(&ours), normalize(&theirs));
        }
        g.drop_session(s).map_err(trap)?;
        let files = env.files();
        prop_assert!(files.is_empty() || files == vec![format!("sessionid{KEY}")], "{:?}", files);
        Ok(())
    });
    report(
        "fuzz: through the component (proptest)",
        &format!(
            "{n} cases in {:.1} s (FUZZ_CASES/10): arbitrary and signed texts through decode, exists, delete and the constructor; arbitrary bytes and signed payloads as a session file through load; compared with the native store",
            started.elapsed().as_secs_f64()
        ),
        "no trap; decode and load agree with the native store on every case; keys outside [a-z0-9] refused with invalid-session-key, all others accepted; nothing created in the directory",
    );
}
