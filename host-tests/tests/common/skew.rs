//! Clock skew between two hosts sharing a session directory (issue #12), run locally by
//! `clock_skew.rs` and across two GlusterFS mounts by `gluster.rs`.
//!
//! Host A's wall clock runs [`SKEW`] seconds behind, host B's [`SKEW`] seconds ahead
//! (`Tenant::clock_offset`). Sessions are planted with a known time left by the true clock,
//! for each way a session expires: by mtime + `SESSION_COOKIE_AGE`, by an ISO
//! `_session_expiry`, and by an integer `_session_expiry` (seconds of inactivity from the
//! mtime). Then each host loads them, and each sweeps them, with and without
//! `SESSION_FILE_CLOCK_SKEW`.

use super::stress::report;
use super::*;
use file_sessions::expiry::{DateTime, format_iso, from_unix};
use file_sessions_host::{Runtime, Tenant};
use serde_json::json;
use std::path::Path;

/// How far each host's clock is off, in seconds: A behind, B ahead.
pub const SKEW: i64 = 30;

/// `SESSION_COOKIE_AGE` for these checks.
const AGE: i64 = 600;

/// Seconds of life left by the true clock, for the planted sessions: 15 s or more away from
/// every decision boundary (±30 s), so no test timing can change an outcome.
const LEFT: [i64; 6] = [-75, -45, -15, 15, 45, 75];

const KINDS: [&str; 3] = ["mtime + cookie age", "ISO _session_expiry", "integer _session_expiry"];

/// Writes a session of `kind` with `left` seconds to live (true clock) into `dir`.
fn plant(dir: &Path, kind: &str, left: i64, key: &str) {
    let now = now_unix();
    let (data, mtime_age) = match kind {
        "mtime + cookie age" => (json!({"kind": kind}), AGE - left),
        "ISO _session_expiry" => {
            let at = format_iso(&DateTime::Aware(from_unix(now + left, 0)));
            (json!({"kind": kind, "_session_expiry": at}), 0)
        }
        _ => (json!({"kind": kind, "_session_expiry": 300}), 300 - left),
    };
    let path = dir.join(format!("sessionid{key}"));
    std::fs::write(&path, signed(&data)).unwrap();
    age_file(&path, mtime_age as u64);
}

/// The keys of the planted sessions, by kind and time left.
fn keys() -> Vec<(&'static str, i64, String)> {
    let mut rng = stress::Rng::new(stress::Rng::seed());
    KINDS.iter().flat_map(|&k| LEFT.map(|l| (k, l, rng.key()))).collect()
}

fn plant_all(dir: &Path, planted: &[(&'static str, i64, String)]) {
    for entry in std::fs::read_dir(dir).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    for (kind, left, key) in planted {
        plant(dir, kind, *left, key);
    }
}

/// Which planted sessions a host's load finds live (each loaded from a fresh planting:
/// loading an expired session removes it), and which files are still there afterwards.
fn loads(runtime: &Runtime, tenant: &Tenant, planted: &[(&'static str, i64, String)]) -> (Vec<bool>, Vec<bool>) {
    plant_all(&tenant.dir, planted);
    let mut g = runtime.instantiate(tenant).unwrap();
    let mut live = Vec::new();
    for (_, _, key) in planted {
        let s = g.session(Some(key)).unwrap();
        live.push(json(&g.load(s).unwrap()) != json!({}));
        g.drop_session(s).unwrap();
    }
    let kept = planted.iter().map(|(_, _, k)| tenant.dir.join(format!("sessionid{k}")).exists()).collect();
    (live, kept)
}

/// Which planted sessions a host's sweep leaves.
fn sweep(runtime: &Runtime, tenant: &Tenant, planted: &[(&'static str, i64, String)]) -> Vec<bool> {
    plant_all(&tenant.dir, planted);
    runtime.instantiate(tenant).unwrap().clear_expired().unwrap();
    planted.iter().map(|(_, _, k)| tenant.dir.join(format!("sessionid{k}")).exists()).collect()
}

/// The lefts (time to live by the true clock) for which `flags` is true, per kind.
fn which(planted: &[(&'static str, i64, String)], flags: &[bool]) -> String {
    let mut out: Vec<String> = Vec::new();
    for kind in KINDS {
        let lefts: Vec<String> = planted
            .iter()
            .zip(flags)
            .filter(|((k, _, _), f)| *k == kind && **f)
            .map(|((_, l, _), _)| format!("{l:+}"))
            .collect();
        out.push(format!("{kind}: [{}]", lefts.join(" ")));
    }
    out.join(", ")
}

/// Host A (clock `-SKEW`) and host B (clock `+SKEW`) on `a` and `b`, two views of one
/// directory (the same path, or two mounts of one volume), each through its own runtime.
pub fn check(a: &Tenant, b: &Tenant, runtimes: [&Runtime; 2], label: &str) {
    let age = AGE.to_string();
    let a = a.clone().env("SESSION_COOKIE_AGE", &age).clock_offset(-SKEW);
    let b = b.clone().env("SESSION_COOKIE_AGE", &age).clock_offset(SKEW);
    let guarded = |t: &Tenant| t.clone().env("SESSION_FILE_CLOCK_SKEW", &(2 * SKEW).to_string());
    let planted = keys();
    let lefts: Vec<i64> = planted.iter().map(|p| p.1).collect();
    let expect = |f: &dyn Fn(i64) -> bool| lefts.iter().map(|&l| f(l)).collect::<Vec<bool>>();

    // What each host's clock says: live while more than a second is left by its clock.
    let (a_live, _) = loads(runtimes[0], &a, &planted);
    let (b_live, b_kept) = loads(runtimes[1], &b, &planted);
    assert_eq!(a_live, expect(&|l| l > -SKEW), "host A (behind) loads");
    assert_eq!(b_live, expect(&|l| l > SKEW), "host B (ahead) loads");
    assert_eq!(b_kept, b_live, "host B's loads removed exactly what they found expired");

    // Sweeps: B's removes what it finds expired, which includes sessions live for A.
    let a_swept = sweep(runtimes[0], &a, &planted);
    let b_swept = sweep(runtimes[1], &b, &planted);
    assert_eq!(a_swept, a_live, "host A's sweep keeps exactly what A finds live");
    assert_eq!(b_swept, b_live, "host B's sweep keeps exactly what B finds live");
    let unsafe_removals: Vec<bool> = a_live.iter().zip(&b_swept).map(|(live, kept)| *live && !kept).collect();
    assert_eq!(unsafe_removals, expect(&|l| -SKEW < l && l <= SKEW));

    // With SESSION_FILE_CLOCK_SKEW = the clocks' whole difference, nothing live for any
    // host goes: neither B's sweep nor B's loads remove a session A still finds live.
    let b_guarded_swept = sweep(runtimes[1], &guarded(&b), &planted);
    let (b_guarded_live, b_guarded_kept) = loads(runtimes[1], &guarded(&b), &planted);
    assert_eq!(b_guarded_live, b_live, "the setting changes no load's answer");
    for (what, kept) in [("sweep", &b_guarded_swept), ("loads", &b_guarded_kept)] {
        assert_eq!(kept, &expect(&|l| l > -SKEW), "host B's guarded {what} keep what A finds live");
    }
    std::fs::read_dir(&a.dir).unwrap().for_each(|e| std::fs::remove_file(e.unwrap().path()).unwrap());

    report(
        &format!("{label}: clock skew"),
        &format!(
            "host A's wall clock {SKEW} s behind, host B's {SKEW} s ahead (Tenant::clock_offset); sessions planted with -75 to +75 s to live by the true clock, expiring by mtime + cookie age, by an ISO _session_expiry and by an integer _session_expiry (seconds from the mtime); each host loads and sweeps them, host B also with SESSION_FILE_CLOCK_SKEW={}",
            2 * SKEW
        ),
        &format!(
            "loads: A finds live what has more than -{SKEW} s left, B what has more than +{SKEW} s ({}), whatever the kind; B's sweep, and B's loads, remove the sessions A still finds live ({}: {} of {}); with SESSION_FILE_CLOCK_SKEW={} B still answers {{}} for them but removes only what A finds expired too (0 removed that A finds live)",
            which(&planted, &b_live),
            which(&planted, &unsafe_removals),
            unsafe_removals.iter().filter(|x| **x).count(),
            planted.len(),
            2 * SKEW
        ),
    );
}
