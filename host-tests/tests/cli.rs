//! The `sessions` command: what an operator types, its output and exit statuses.

use std::path::Path;
use std::process::{Command, Output};

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

fn sessions(dir: &Path, args: &[&str]) -> Output {
    let mut cmd = Command::new(SESSIONS);
    cmd.arg("--dir").arg(dir).args(args);
    for var in ["SECRET_KEY", "SECRET_KEY_FALLBACKS", "SESSION_COOKIE_NAME", "SESSION_COOKIE_AGE", "SESSION_EXPIRE_AT_BROWSER_CLOSE"] {
        cmd.env_remove(var);
    }
    cmd.env("SECRET_KEY", "cli-test-secret");
    cmd.output().unwrap()
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
                           "stale_placeholders": 0, "failures": 0})
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
    assert!(stderr(&out).starts_with("error: improperly-configured: The SESSION_COOKIE_AGE setting"), "{}", stderr(&out));
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
    for command in ["create", "load", "save", "exists", "delete", "clear-expired", "demo"] {
        let out = sessions(dir.path(), &[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        assert!(stdout(&out).starts_with(&format!("Usage: sessions [--dir DIR] {command}")), "{command}");
    }
}

#[cfg(unix)]
#[test]
fn generated_secret_is_kept_private_and_reused() {
    use std::os::unix::fs::PermissionsExt;
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("sessions");
    let run = |args: &[&str]| Command::new(SESSIONS).arg("--dir").arg(&dir).args(args).env_remove("SECRET_KEY").output().unwrap();
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
    let other = Command::new(SESSIONS).arg("--dir").arg(&dir).args(["load", &key]).env("SECRET_KEY", "another").output().unwrap();
    assert_eq!(stdout(&other), "{}");
}

/// `sessions bench --json` prints one JSON object of the documented shape, every figure a
/// positive number, with real Django's side included (tiny sizes: this checks the
/// benchmark's plumbing, not speed).
#[test]
fn bench_prints_the_documented_json() {
    let dir = tempfile::tempdir().unwrap();
    let out = sessions(dir.path(), &["bench", "--n", "20", "--rounds", "1", "--clear-sizes", "10,30", "--django", "--json"]);
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
