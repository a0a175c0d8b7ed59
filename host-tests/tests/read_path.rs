//! How the component reads a session file that changes under it (issue #12): the read
//! opens the name, stats what it opened and reads one byte more than the stat said, so a
//! file that changed in between (or, where the store checks the name's type before the
//! open, one replaced by a rename, as every save does) is read to its end. Past the stated size
//! it must read in large chunks: it once asked for one byte at a time there.

mod common;

use common::*;
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use wasmtime::UpdateDeadline;

/// Loads `key` in a fresh instance, counting the epoch checkpoints (function entries and
/// loop back-edges) of the load; at checkpoint `replace_at`, `big` is renamed over the file.
fn load_counted(env: &Env, key: &str, replace_at: Option<u64>, big: &str) -> (serde_json::Value, u64) {
    let mut g = instrumented().instantiate(&env.tenant).unwrap();
    let s = g.session(Some(key)).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let (counter, dir, path, big) = (seen.clone(), env.path().to_path_buf(), env.session_file(key), big.to_owned());
    g.store_mut().epoch_deadline_callback(move |_| {
        if Some(counter.fetch_add(1, Ordering::Relaxed) + 1) == replace_at {
            let temp = dir.join("replacement");
            std::fs::write(&temp, &big).unwrap();
            std::fs::rename(&temp, &path).unwrap();
        }
        Ok(UpdateDeadline::Continue(0))
    });
    g.store_mut().set_epoch_deadline(0);
    let loaded = json(&g.load(s).unwrap());
    (loaded, seen.load(Ordering::Relaxed))
}

#[test]
fn a_file_that_grows_between_the_stat_and_the_read_is_read_in_large_chunks() {
    let env = Env::new();
    let key = stress::Rng::new(stress::Rng::seed()).key();
    let small = signed(&json!({"v": "small"}));
    // 200 KB that is no session (no signature): it loads as {} after one cheap look, so
    // the checkpoints of its load are nearly all the read's.
    let big = "x".repeat(200_000);

    // The yardstick: the big file loaded directly, the stat telling its size.
    std::fs::write(env.session_file(&key), &big).unwrap();
    let (loaded, direct) = load_counted(&env, &key, None, &big);
    assert_eq!(loaded, json!({}));

    // The big file renamed over the small one at each checkpoint of the load, from the
    // first until the load has read the small one (the rename then comes too late).
    let (mut runs, mut grown, mut worst) = (0u64, 0u64, 0u64);
    for n in 1.. {
        std::fs::write(env.session_file(&key), &small).unwrap();
        let (loaded, checkpoints) = load_counted(&env, &key, Some(n), &big);
        runs += 1;
        if loaded == json!({"v": "small"}) {
            break;
        }
        assert_eq!(loaded, json!({}), "checkpoint {n}");
        grown += 1;
        worst = worst.max(checkpoints);
        assert!(n < 100_000, "the load never read the small file");
    }
    // One byte per read past the stated size costs a host call per byte: a few hundred
    // thousand checkpoints here, against a few hundred in large chunks.
    assert!(
        worst < direct * 2 + 1000,
        "a file replaced under the read took {worst} checkpoints, against {direct} read directly"
    );
    assert!(grown > 0);
    stress::report(
        "a file replaced between the read's stat and its end",
        &format!(
            "a 200 KB file renamed over a {}-byte session at each of the first {runs} epoch checkpoints of a load, until the load read the small file",
            small.len()
        ),
        &format!(
            "{grown} loads read the replacement (all {{}}: it is no session), never cut short; the costliest took {worst} checkpoints, against {direct} for reading it directly"
        ),
    );
}

/// Loads `key` in a fresh instance whose file is renamed away at checkpoint `n` and back at
/// the next one: a name that fails to resolve for a moment, as on a network filesystem while
/// another host renames over it. Returns what the load gave and whether the key was kept.
fn load_with_a_gap(env: &Env, key: &str, n: u64) -> (String, bool) {
    let mut g = instrumented().instantiate(&env.tenant).unwrap();
    let s = g.session(Some(key)).unwrap();
    let seen = Arc::new(AtomicU64::new(0));
    let (path, aside) = (env.session_file(key), env.file("aside"));
    g.store_mut().epoch_deadline_callback(move |_| {
        match seen.fetch_add(1, Ordering::Relaxed) + 1 {
            at if at == n => std::fs::rename(&path, &aside).unwrap(),
            at if at == n + 1 => std::fs::rename(&aside, &path).unwrap(),
            _ => {}
        }
        Ok(UpdateDeadline::Continue(0))
    });
    g.store_mut().set_epoch_deadline(0);
    let loaded = g.load(s).map(|v| json(&v).to_string()).unwrap_or_else(|e| format!("{e:?}"));
    (loaded, g.session_key(s).unwrap().is_some())
}

/// The read opens the name first; a name that is not there at the open but is found by a
/// stat right after was being replaced, not removed: the read is tried again, and the
/// session loads, its key kept (a missing session would read as `{}` and drop its key).
#[test]
fn a_name_missing_for_a_moment_at_the_open_is_looked_up_again() {
    let env = Env::new();
    let key = stress::Rng::new(stress::Rng::seed()).key();
    let session = json!({"v": 1}).to_string();
    std::fs::write(env.session_file(&key), signed(&json!({"v": 1}))).unwrap();
    let (_, checkpoints) = load_counted(&env, &key, None, "");
    let mut outcomes = std::collections::BTreeMap::<String, usize>::new();
    for n in 1..=checkpoints {
        let (loaded, kept) = load_with_a_gap(&env, &key, n);
        assert!(env.session_file(&key).exists(), "checkpoint {n}: the file is back");
        assert_eq!((&loaded, kept), (&session, true), "checkpoint {n}");
        *outcomes.entry(loaded).or_default() += 1;
    }
    stress::report(
        "a name missing for a moment at the read's open",
        &format!(
            "the session file renamed away at each of the {checkpoints} epoch checkpoints of a load in turn and back at the next one"
        ),
        &format!("every load read the session and kept its key ({} loads)", outcomes.values().sum::<usize>()),
    );
}
