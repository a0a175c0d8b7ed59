//! The `sessions` command: what an operator types, its output and exit statuses.

use std::path::Path;
use std::process::{Command, Output};

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

fn sessions(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(SESSIONS);
    cmd.arg("--dir").arg(dir).args(args);
    for var in [
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_AGE",
        "SESSION_EXPIRE_AT_BROWSER_CLOSE",
    ] {
        cmd.env_remove(var);
    }
    cmd.env("SECRET_KEY", "cli-test-secret");
    cmd.output().unwrap()
}

/// `sessions --async ...`: the same command through the async component's twins.
fn sessions_async(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--async"];
    all.extend_from_slice(args);
    sessions(dir, &all)
}

/// Makes a session file look last saved 15 days ago (past the default two-week age).
fn backdate(dir: &Path, key: &str) {
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(15 * 24 * 3600);
    let file = dir.join(format!("sessionid{key}"));
    std::fs::File::options().write(true).open(file).unwrap().set_modified(old).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap().trim_end().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn create_load_save_exists_delete() {
    let dir = tempfile::tempdir().unwrap();
    let created = sessions(dir.path(), &["create", r#"{"user_id": 7, "é": "☃"}"#]);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created);
    assert_eq!(key.len(), 32);
    assert!(dir.path().join(format!("sessionid{key}")).is_file());

    let loaded = sessions(dir.path(), &["load", &key]);
    assert_eq!(stdout(&loaded), r#"{"user_id":7,"é":"☃"}"#);

    let saved = sessions(dir.path(), &["save", &key, r#"{"user_id": 8}"#]);
    assert_eq!(stdout(&saved), key, "an existing session is saved under its key");
    assert_eq!(stdout(&sessions(dir.path(), &["load", &key])), r#"{"user_id":8}"#);

    assert_eq!(stdout(&sessions(dir.path(), &["exists", &key])), "true");
    assert!(sessions(dir.path(), &["delete", &key]).status.success());
    assert_eq!(stdout(&sessions(dir.path(), &["exists", &key])), "false");
    assert_eq!(stdout(&sessions(dir.path(), &["load", &key])), "{}");

    // Saving an unknown key creates a new session (an unknown cookie never names a file).
    let resaved = sessions(dir.path(), &["save", &key, r#"{"n": 1}"#]);
    let new_key = stdout(&resaved);
    assert_ne!(new_key, key);
    assert!(!dir.path().join(format!("sessionid{key}")).exists());
    assert_eq!(stdout(&sessions(dir.path(), &["load", &new_key])), r#"{"n":1}"#);
}

#[test]
fn clear_expired_prints_counts() {
    let dir = tempfile::tempdir().unwrap();
    let key = stdout(&sessions(dir.path(), &["create"]));
    let file = dir.path().join(format!("sessionid{key}"));
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(15 * 24 * 3600);
    std::fs::File::options().write(true).open(&file).unwrap().set_modified(old).unwrap();
    let out = sessions(dir.path(), &["clear-expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let counts: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        counts,
        serde_json::json!({"scanned": 1, "expired_sessions": 1, "orphaned_temp_files": 0,
                           "stale_placeholders": 0, "failures": 0, "undecodable_names": 0})
    );
    assert!(!file.exists());
}

#[test]
fn demo_walks_through_and_exits_zero() {
    let dir = tempfile::tempdir().unwrap();
    let out = sessions(&dir.path().join("fresh"), &["demo"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for step in ["1. create", "2. load", "3. save", "4. expiry", "5. clear-expired", "removed 1 expired session"] {
        assert!(text.contains(step), "missing {step:?} in:\n{text}");
    }
    assert!(text.contains(r#"{"user_id":42,"cart":["book","pen"]}"#), "{text}");
}

#[test]
fn store_errors_exit_1_with_kind_and_detail() {
    let dir = tempfile::tempdir().unwrap();
    let out = sessions(dir.path(), &["exists", "../../etc/passwd"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "error: invalid-session-key: Invalid characters in session key\n");

    let out = sessions(dir.path(), &["create", "[1, 2]"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("error: invalid-value: "), "{}", stderr(&out));

    let out = Command::new(SESSIONS)
        .arg("--dir")
        .arg(dir.path())
        .args(["load", "abcdefgh"])
        .env("SECRET_KEY", "k")
        .env("SESSION_COOKIE_AGE", "two weeks")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("error: improperly-configured: The SESSION_COOKIE_AGE setting"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().read_dir().unwrap().next().is_none(), "nothing written on errors");
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&[][..], &["frob"], &["load"], &["save", "k"], &["exists", "a", "b"], &["--bogus", "load", "k"]] {
        let out = sessions(dir.path(), args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("Usage: sessions"), "{args:?}");
    }
    let out = sessions(dir.path(), &["--help"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).contains("clear-expired"));
    for command in
        ["create", "load", "save", "exists", "delete", "clear-expired", "demo", "bench", "bench-async", "components"]
    {
        let out = sessions(dir.path(), &[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        assert!(stdout(&out).starts_with(&format!("Usage: sessions [--dir DIR] {command}")), "{command}");
    }
    // The help names the new option and commands, and which component each mode runs.
    let help = stdout(&sessions(dir.path(), &["--help"]));
    for word in ["--async", "bench-async", "components", "portable", "WASI 0.3"] {
        assert!(help.contains(word), "missing {word:?} in:\n{help}");
    }
    let load_help = stdout(&sessions(dir.path(), &["load", "--help"]));
    assert!(load_help.contains("--async") && load_help.contains("`aload`"), "{load_help}");
    assert!(dir.path().read_dir().unwrap().next().is_none(), "help and usage errors write nothing");
}

#[cfg(unix)]
#[test]
fn generated_secret_is_kept_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("sessions");
    let run = |args: &[&str]| {
        Command::new(SESSIONS).arg("--dir").arg(&dir).args(args).env_remove("SECRET_KEY").output().unwrap()
    };
    let key = stdout(&run(&["create", r#"{"a": 1}"#]));
    let secret_file = dir.join(".secret-key");
    assert_eq!(std::fs::metadata(&secret_file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, 0o700);
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(secret.len() >= 64, "a long random secret");
    // The next run signs and verifies with the same secret, and clear-expired leaves it.
    assert_eq!(stdout(&run(&["load", &key])), r#"{"a":1}"#);
    assert!(run(&["clear-expired"]).status.success());
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    // With SECRET_KEY set, that one is used instead: the session no longer verifies.
    let other = Command::new(SESSIONS)
        .arg("--dir")
        .arg(&dir)
        .args(["load", &key])
        .env("SECRET_KEY", "another")
        .output()
        .unwrap();
    assert_eq!(stdout(&other), "{}");
}

/// `sessions bench --json` prints one JSON object of the documented shape, every figure a
/// positive number, with real Django's side included (tiny sizes: this checks the
/// benchmark's plumbing, not speed).
#[test]
fn bench_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let out =
        sessions(dir.path(), &["bench", "--n", "20", "--rounds", "1", "--clear-sizes", "10,30", "--django", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(report["filesystem"].is_string());
    assert_eq!(report["n"], 20);
    for op in ["create", "save", "load", "exists", "delete", "clear_expired"] {
        for way in ["component", "fresh_instance", "native", "django"] {
            let v = report["ops"][op][way].as_f64().unwrap_or_else(|| panic!("ops.{op}.{way} in {report}"));
            assert!(v > 0.0, "ops.{op}.{way} = {v}");
        }
    }
    assert!(report["clear_expired_per_file_by_size"]["30"]["native"].as_f64().unwrap() > 0.0);
    assert!(report["request"]["fresh_instance"].as_f64().unwrap() > 0.0);
    assert!(report["memory"]["guest_peak_linear_memory_bytes"].as_u64().unwrap() > 0);
    // Nothing is left behind in the directory it was given.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// `--async` runs the commands through the async component's twins, on the same files:
/// a session written by either path reads back through the other, byte for byte the same
/// output, and expiry and clear-expired behave the same.
#[test]
fn async_commands_interoperate_with_the_sync_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Created with --async: loads the same with and without it.
    let created = sessions_async(d, &["create", r#"{"user_id": 7, "é": "☃"}"#]);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created);
    assert_eq!(key.len(), 32, "{key:?}");
    assert!(d.join(format!("sessionid{key}")).is_file());
    let sync_loaded = sessions(d, &["load", &key]);
    let async_loaded = sessions_async(d, &["load", &key]);
    assert_eq!(stdout(&sync_loaded), r#"{"user_id":7,"é":"☃"}"#);
    assert_eq!(async_loaded.stdout, sync_loaded.stdout, "the same output, byte for byte");
    assert_eq!(async_loaded.status.code(), Some(0));

    // Created without it: --async loads it.
    let other = stdout(&sessions(d, &["create", r#"{"n": 1}"#]));
    assert_eq!(stdout(&sessions_async(d, &["load", &other])), r#"{"n":1}"#);

    // Saves across: each path saves the other's session under its key, the other reads it.
    let saved = sessions_async(d, &["save", &other, r#"{"n": 2}"#]);
    assert!(saved.status.success(), "{}", stderr(&saved));
    assert_eq!(stdout(&saved), other, "an existing session is saved under its key");
    assert_eq!(stdout(&sessions(d, &["load", &other])), r#"{"n":2}"#);
    assert_eq!(stdout(&sessions(d, &["save", &key, r#"{"user_id": 8}"#])), key);
    assert_eq!(stdout(&sessions_async(d, &["load", &key])), r#"{"user_id":8}"#);

    // exists and delete, across.
    let async_exists = sessions_async(d, &["exists", &key]);
    assert_eq!(stdout(&async_exists), "true");
    assert_eq!(async_exists.stdout, sessions(d, &["exists", &key]).stdout);
    let deleted = sessions_async(d, &["delete", &key]);
    assert!(deleted.status.success(), "{}", stderr(&deleted));
    assert!(deleted.stdout.is_empty(), "delete prints nothing");
    assert!(!d.join(format!("sessionid{key}")).exists());
    assert_eq!(stdout(&sessions(d, &["exists", &key])), "false");
    assert_eq!(stdout(&sessions_async(d, &["exists", &key])), "false");
    assert_eq!(stdout(&sessions_async(d, &["load", &key])), "{}");
    assert!(sessions(d, &["delete", &other]).status.success());
    assert_eq!(stdout(&sessions_async(d, &["exists", &other])), "false");

    // Saving an unknown key with --async creates a new session, as without it.
    let resaved = sessions_async(d, &["save", &key, r#"{"m": 1}"#]);
    let new_key = stdout(&resaved);
    assert_eq!(new_key.len(), 32, "{new_key:?}");
    assert_ne!(new_key, key);
    assert!(!d.join(format!("sessionid{key}")).exists());
    assert_eq!(stdout(&sessions(d, &["load", &new_key])), r#"{"m":1}"#);

    // Reading an expired session gives {} and deletes it, on both paths.
    backdate(d, &new_key);
    assert_eq!(stdout(&sessions_async(d, &["load", &new_key])), "{}");
    assert!(!d.join(format!("sessionid{new_key}")).exists(), "aload deleted the expired session");
    let expired_sync = stdout(&sessions(d, &["create"]));
    backdate(d, &expired_sync);
    assert_eq!(stdout(&sessions(d, &["load", &expired_sync])), "{}");
    assert!(!d.join(format!("sessionid{expired_sync}")).exists());

    // clear-expired: the same counts, in the same format, whichever path runs it (in a
    // directory of its own: an expired load, as in Django, left new empty sessions above).
    let d = &d.join("sweep");
    let by_sync = stdout(&sessions(d, &["create", r#"{"a": 1}"#]));
    let by_async = stdout(&sessions_async(d, &["create", r#"{"b": 2}"#]));
    backdate(d, &by_sync);
    let swept = sessions_async(d, &["clear-expired"]);
    assert!(swept.status.success(), "{}", stderr(&swept));
    assert_eq!(
        stdout(&swept),
        r#"{"scanned":2,"expired_sessions":1,"orphaned_temp_files":0,"stale_placeholders":0,"failures":0,"undecodable_names":0}"#
    );
    assert!(!d.join(format!("sessionid{by_sync}")).exists());
    assert_eq!(stdout(&sessions(d, &["load", &by_async])), r#"{"b":2}"#);
    backdate(d, &by_async);
    assert_eq!(
        stdout(&sessions(d, &["clear-expired"])),
        r#"{"scanned":1,"expired_sessions":1,"orphaned_temp_files":0,"stale_placeholders":0,"failures":0,"undecodable_names":0}"#
    );
    assert_eq!(
        stdout(&sessions_async(d, &["clear-expired"])),
        r#"{"scanned":0,"expired_sessions":0,"orphaned_temp_files":0,"stale_placeholders":0,"failures":0,"undecodable_names":0}"#
    );
}

/// Every error (and the non-errors that look like one) gives the same exit status and
/// the same message with --async as without.
#[test]
fn async_errors_match_the_sync_path() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["exists", "../../etc/passwd"], 1, "error: invalid-session-key: Invalid characters in session key\n"),
        (&["delete", "../../etc/passwd"], 1, "error: invalid-session-key: Invalid characters in session key\n"),
        (&["create", "[1, 2]"], 1, "error: invalid-value: "),
        (&["save", "abcdefgh", "not json"], 1, "error: invalid-value: "),
        // A key Django would not accept names no file: the session loads as {}, exit 0.
        (&["load", "../x"], 0, ""),
        (&["load", "../../etc/passwd"], 0, ""),
    ];
    for &(args, code, message) in cases {
        let sync = sessions(d, args);
        let twin = sessions_async(d, args);
        assert_eq!(sync.status.code(), Some(code), "{args:?}: {}", stderr(&sync));
        assert_eq!(twin.status.code(), Some(code), "--async {args:?}: {}", stderr(&twin));
        assert!(stderr(&sync).starts_with(message), "{args:?}: {}", stderr(&sync));
        assert_eq!(stderr(&twin), stderr(&sync), "--async {args:?}");
        assert_eq!(twin.stdout, sync.stdout, "--async {args:?}");
    }
    assert_eq!(stdout(&sessions_async(d, &["load", "../x"])), "{}");

    // A malformed setting: improperly-configured from both, before anything is written.
    let configured = |extra: &[&str]| {
        Command::new(SESSIONS)
            .arg("--dir")
            .arg(d)
            .args(extra)
            .args(["load", "abcdefgh"])
            .env("SECRET_KEY", "k")
            .env("SESSION_COOKIE_AGE", "two weeks")
            .output()
            .unwrap()
    };
    let (sync, twin) = (configured(&[]), configured(&["--async"]));
    assert_eq!(twin.status.code(), Some(1));
    assert!(
        stderr(&twin).starts_with("error: improperly-configured: The SESSION_COOKIE_AGE setting"),
        "{}",
        stderr(&twin)
    );
    assert_eq!(stderr(&twin), stderr(&sync));
    assert!(d.read_dir().unwrap().next().is_none(), "nothing written on errors");

    // Usage errors are the same too, and the commands that do not take --async refuse it.
    for args in [&["load"][..], &["save", "k"], &["exists", "a", "b"], &["frob"], &["--bogus", "load", "k"]] {
        let sync = sessions(d, args);
        let twin = sessions_async(d, args);
        assert_eq!(sync.status.code(), Some(2), "{args:?}");
        assert_eq!(twin.status.code(), Some(2), "--async {args:?}");
        assert_eq!(stderr(&twin), stderr(&sync), "--async {args:?}");
    }
    for command in ["demo", "bench", "bench-async", "components"] {
        let out = sessions_async(d, &[command]);
        assert_eq!(out.status.code(), Some(2), "--async {command}");
        assert!(stderr(&out).starts_with(&format!("error: `{command}` does not take --async")), "{}", stderr(&out));
        assert!(stderr(&out).contains("Usage: sessions"), "--async {command}");
    }
    assert!(d.read_dir().unwrap().next().is_none(), "nothing written on errors");
}

/// `sessions components` lists the two built components with their sizes, needing no
/// session directory.
#[test]
fn components_lists_both_with_their_sizes() {
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(SESSIONS).arg("components").current_dir(cwd.path()).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    let expected = [
        ("portable", file_sessions_host::GUEST_WASM, "(sync exports, WASI 0.2 imports"),
        ("async", file_sessions_host::GUEST_ASYNC_WASM, "(sync + async exports, WASI 0.2 + 0.3"),
    ];
    let mut paths = Vec::new();
    for (line, (role, wasm, about)) in lines.iter().zip(expected) {
        // `<role>  <path>  <bytes> bytes  (<what>)`
        let (got_role, rest) = line.split_once(' ').unwrap_or_else(|| panic!("{line}"));
        assert_eq!(got_role, role, "{line}");
        let (rest, what) = rest.trim_start().split_once("  (").unwrap_or_else(|| panic!("{line}"));
        assert!(format!("({what}").starts_with(about), "{line}");
        let (path, size) = rest.rsplit_once("  ").unwrap_or_else(|| panic!("{line}"));
        let bytes: u64 = size.strip_suffix(" bytes").and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"));
        assert_eq!(path, wasm, "{line}");
        paths.push(path.to_owned());
        let on_disk = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        assert!(on_disk.is_file(), "{path}");
        assert_eq!(bytes, on_disk.len(), "{line}");
        assert!(bytes > 0, "{line}");
    }
    assert_ne!(paths[0], paths[1], "two different files");
    assert!(cwd.path().read_dir().unwrap().next().is_none(), "no ./sessions made");
}

/// `sessions bench-async --json` prints one JSON object with the three ways, each a
/// positive figure, and removes its working directory (tiny sizes: plumbing, not speed).
#[test]
fn bench_async_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(SESSIONS)
        .args(["bench-async", "--n", "20", "--rounds", "1", "--json", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one JSON object on one line: {text}");
    let report: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert!(report.is_object(), "{report}");
    assert_eq!(report["n"], 20);
    assert_eq!(report["rounds"], 1);
    for way in ["sync_sequential", "async_sequential", "async_concurrent"] {
        let v = report[way]["us_per_load"].as_f64().unwrap_or_else(|| panic!("{way}.us_per_load in {report}"));
        assert!(v > 0.0, "{way}.us_per_load = {v}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");

    // Without --json: the table.
    let out = sessions(dir.path(), &["bench-async", "--n", "5", "--rounds", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let table = stdout(&out);
    assert!(table.starts_with("5 loads of a ~200-byte session"), "{table}");
    assert!(table.contains("| `aload`, all concurrent in one instance |"), "{table}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing left behind");

    for bad in [&["--n", "0"][..], &["--rounds", "x"], &["--svg", "f"]] {
        let out = sessions(dir.path(), &[&["bench-async"][..], bad].concat());
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
}
