//! The `sessions` command: what an operator types, its output and exit statuses; every
//! command, every kind of usage error, and each safe-by-default case (issue #11; issue #13
//! findings 3, 5 and 7).

mod common;

use common::stress::report;
use serde_json::{Value, json};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

/// `sessions` with a clean environment (plus `env`), in `cwd`.
fn command(cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(SESSIONS);
    cmd.args(args).current_dir(cwd).stdin(Stdio::null());
    // The settings a test must not inherit from whoever runs it.
    for var in file_sessions::settings::SETTINGS.iter().map(|s| s.name) {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
    cmd
}

/// `sessions --dir DIR ARGS` with the tests' secret.
fn sessions(dir: &Path, args: &[&str]) -> Output {
    with_dir(dir, args, &[("SECRET_KEY", "cli-test-secret")])
}

/// `sessions --dir DIR ARGS` with these settings only.
fn with_dir(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut all = vec!["--dir", dir.to_str().unwrap()];
    all.extend_from_slice(args);
    command(Path::new("/"), &all, env).output().unwrap()
}

/// `sessions --async ...`: the same command through the async component's twins.
fn sessions_async(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--async"];
    all.extend_from_slice(args);
    sessions(dir, &all)
}

/// A private (0700) directory, as `sessions` wants a session directory to be.
fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    chmod(dir.path(), 0o700);
    dir
}

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Makes a session file look last saved 15 days ago (past the default two-week age).
fn backdate(dir: &Path, key: &str) {
    let old = std::time::SystemTime::now() - Duration::from_secs(15 * 24 * 3600);
    let file = dir.join(format!("sessionid{key}"));
    std::fs::File::options().write(true).open(file).unwrap().set_modified(old).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap().trim_end().to_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

/// Asserts a store (or host) error: exit 1, `error: <kind>: ...` on one line.
#[track_caller]
fn assert_error(out: &Output, kind: &str, detail_part: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.starts_with(&format!("error: {kind}: ")), "expected {kind}: {err}");
    assert!(err.contains(detail_part), "expected {detail_part:?} in {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
}

/// Runs `cmd`, and kills it if it has not finished in 60 s (a FIFO would block forever).
fn run_bounded(mut cmd: Command) -> Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let (id, deadline) = (child.id(), Instant::now() + Duration::from_secs(60));
    let waiter = std::thread::spawn(move || child.wait_with_output().unwrap());
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            let _ = Command::new("kill").arg("-9").arg(id.to_string()).status();
            panic!("sessions hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    waiter.join().unwrap()
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

// ---------------------------------------------------------------------------------------
// The store commands
// ---------------------------------------------------------------------------------------

#[test]
fn create_load_save_exists_delete() {
    let dir = private_dir();
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
fn clear_expired_prints_counts_and_stays_quiet_when_piped() {
    let dir = private_dir();
    let key = stdout(&sessions(dir.path(), &["create"]));
    backdate(dir.path(), &key);
    let out = sessions(dir.path(), &["clear-expired"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no progress on a pipe");
    let counts: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        counts,
        json!({"scanned": 1, "expired_sessions": 1, "orphaned_temp_files": 0, "stale_placeholders": 0, "failures": 0,
               "undecodable_names": 0})
    );
    assert!(!dir.path().join(format!("sessionid{key}")).exists());
}

/// On a terminal, `clear-expired` shows progress and ends with a summary line on stderr
/// (the counts still on stdout); the sweep runs in bounded steps (`--batch`) whose counts
/// add up, through either component.
#[test]
fn clear_expired_in_steps_with_progress_on_a_terminal() {
    let dir = private_dir();
    for i in 0..25 {
        std::fs::write(dir.path().join(format!("sessionid{i:032}")), "x").unwrap();
        backdate(dir.path(), &format!("{i:032}"));
    }
    let command = format!("{SESSIONS} --dir {} clear-expired --batch 4", dir.path().display());
    // `script` gives the command a terminal; SECRET_KEY comes through its environment.
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("SECRET_KEY", "k")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs the command on a pseudo-terminal");
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("clear-expired: 25 files scanned in ")
            && screen.contains("removed 25 expired sessions, 0 temporary files, 0 placeholders; 0 failures"),
        "{screen}"
    );
    assert!(screen.contains(r#"{"scanned":25,"expired_sessions":25,"#), "{screen}");
    assert!(names(dir.path()).is_empty());

    for i in 0..9 {
        std::fs::write(dir.path().join(format!("sessionid{i:032}")), "x").unwrap();
        backdate(dir.path(), &format!("{i:032}"));
    }
    let out = sessions_async(dir.path(), &["clear-expired", "--batch", "2"]);
    // No progress on a pipe; what stderr carries is the guest's log: Django's warning for
    // each of the nine files whose signature does not verify ("x" has none).
    let warning = "WARNING:django.security.SuspiciousSession:Session data corrupted\n";
    assert_eq!(stderr(&out), warning.repeat(9), "no progress on a pipe, only the guest's log lines");
    let counts: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!((counts["scanned"].as_u64(), counts["expired_sessions"].as_u64()), (Some(9), Some(9)));
}

/// `sessions stats`: a scan of the names, sizes and times, and the expired count from the
/// component's dry sweep, which removes nothing.
#[test]
fn stats_counts_what_is_in_the_directory() {
    let dir = private_dir();
    let d = dir.path();
    let live = stdout(&sessions(d, &["create", r#"{"a": 1}"#]));
    let big = stdout(&sessions(d, &["create", &json!({"b": "x".repeat(3000)}).to_string()]));
    let old = stdout(&sessions(d, &["create"]));
    backdate(d, &old);
    std::fs::write(d.join(format!("sessionid{:032}", 7)), "").unwrap(); // a placeholder
    std::fs::write(d.join(format!("sessionid{:032}_out_abcd1234", 8)), "half").unwrap(); // a temp file
    symlink("/etc/passwd", d.join(format!("sessionid{:032}", 9))).unwrap(); // neither
    std::fs::write(d.join("unrelated.txt"), "not a session").unwrap();
    let before = names(d);

    let out = sessions(d, &["stats", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let size = |k: &str| std::fs::metadata(d.join(format!("sessionid{k}"))).unwrap().len();
    assert_eq!(report["sessions"], 3, "{report}");
    assert_eq!(report["expired_sessions"], 1, "{report}");
    assert_eq!((report["temp_files"].as_u64(), report["placeholders"].as_u64()), (Some(1), Some(1)), "{report}");
    assert_eq!(report["other_entries"], 1, "{report}");
    assert_eq!(report["total_bytes"], size(&live) + size(&big) + size(&old), "{report}");
    assert_eq!(report["largest_bytes"], size(&big), "{report}");
    let (oldest, newest) = (report["oldest"].as_str().unwrap(), report["newest"].as_str().unwrap());
    assert!(oldest < newest && oldest.ends_with("+00:00"), "{report}");
    assert_eq!(names(d), before, "the dry sweep removed nothing");

    let table = stdout(&sessions(d, &["stats"]));
    for line in ["sessions         3", "expired        1", "temporary files  1", "placeholders     1"] {
        assert!(table.contains(line), "{line:?} in:\n{table}");
    }
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
    let dir = private_dir();
    let out = sessions(dir.path(), &["exists", "../../etc/passwd"]);
    assert_eq!(stderr(&out), "error: invalid-session-key: Invalid characters in session key\n");
    assert_eq!(out.status.code(), Some(1));
    assert_error(&sessions(dir.path(), &["create", "[1, 2]"]), "invalid-value", "");

    let out = with_dir(dir.path(), &["load", "abcdefgh"], &[("SECRET_KEY", "k"), ("SESSION_COOKIE_AGE", "two weeks")]);
    assert_error(&out, "improperly-configured", "The SESSION_COOKIE_AGE setting");
    assert!(names(dir.path()).is_empty(), "nothing written on errors");
}

/// `--` ends the options, so a key that starts with `-` reaches the store, which refuses
/// it: a store error (exit 1), not a usage error.
#[test]
fn double_dash_passes_a_key_that_starts_with_a_dash() {
    let dir = private_dir();
    for args in
        [&["load", "--", "-rf"][..], &["save", "--", "-rf", "{}"], &["exists", "--", "-rf"], &["delete", "--", "-rf"]]
    {
        for out in [sessions(dir.path(), args), sessions_async(dir.path(), args)] {
            assert_error(&out, "invalid-session-key", "Invalid characters in session key");
        }
    }
    assert!(names(dir.path()).is_empty());
}

/// Usage errors: exit 2, one short line saying what is wrong and one hint (the usage and
/// where to read more), never the whole help.
#[test]
fn usage_errors_are_one_line_and_a_hint() {
    let dir = private_dir();
    let cases: &[(&[&str], &str)] = &[
        (&[], "error: 'sessions' requires a subcommand but one was not provided [subcommands: create, load,"),
        (&["frob"], "error: unrecognized subcommand 'frob'"),
        (&["load"], "error: the following required arguments were not provided: <KEY>"),
        (&["save", "k"], "error: the following required arguments were not provided: <JSON-OBJECT>"),
        (&["exists", "a", "b"], "error: unexpected argument 'b' found"),
        (&["--bogus", "load", "k"], "error: unexpected argument '--bogus' found"),
        (&["load", "-rf"], "error: unexpected argument '-r' found (to pass '-r' as a value, use '-- -r')"),
        (&["bench", "--n", "0"], "error: invalid value '0' for '--n <N>': expected a whole number above zero"),
        (&["bench", "--clear-sizes", "10,x"], "error: invalid value 'x' for '--clear-sizes"),
        (&["bench-async", "--svg", "f"], "error: unexpected argument '--svg' found"),
        (&["bench", "--json", "--markdown"], "error: the argument '--json' cannot be used with '--markdown'"),
        (&["clear-expired", "--batch", "0"], "error: invalid value '0' for '--batch <BATCH>'"),
        (&["completions", "cmd"], "error: invalid value 'cmd' for '<SHELL>'"),
        (&["--async", "demo"], "error: `demo` does not take --async"),
        (&["--async", "bench"], "error: `bench` does not take --async"),
        (&["--async", "components"], "error: `components` does not take --async"),
    ];
    for &(args, message) in cases {
        let out = sessions(dir.path(), args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        let lines: Vec<&str> = err.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {err}");
        assert!(lines[0].starts_with(message), "{args:?}: {err}");
        assert!(lines[1].starts_with("Usage: sessions") && lines[1].contains("--help'"), "{args:?}: {err}");
        assert!(out.stdout.is_empty());
    }
    assert!(names(dir.path()).is_empty(), "usage errors write nothing");
    let bare = command(dir.path(), &[], &[]).output().unwrap();
    assert_eq!(bare.status.code(), Some(2));
    assert_eq!(
        stderr(&bare),
        "error: no command given\nUsage: sessions [OPTIONS] <COMMAND>; for more, try 'sessions --help'\n"
    );
}

#[test]
fn help_is_generated_and_says_each_default() {
    let dir = private_dir();
    let help = sessions(dir.path(), &["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = stdout(&help);
    for word in
        ["--async", "--allow-root-dir", "bench-async", "stats", "components", "portable", "WASI 0.3", "Exit status"]
    {
        assert!(help.contains(word), "missing {word:?} in:\n{help}");
    }
    let defaults = [
        ("create", "DIR defaults to ./sessions"),
        ("load", "DIR defaults to ./sessions"),
        ("save", "DIR defaults to ./sessions"),
        ("exists", "DIR defaults to ./sessions"),
        ("delete", "DIR defaults to ./sessions"),
        ("clear-expired", "DIR defaults to ./sessions"),
        ("stats", "DIR defaults to ./sessions"),
        ("demo", "DIR defaults to ./sessions and is created when missing"),
        ("bench", "subdirectory of DIR (default: .)"),
        ("bench-async", "subdirectory of DIR (default: .)"),
        ("bench-report", "REPORT.json"),
        ("serve", "DIR defaults to ./sessions"),
        ("components", "--write"),
        ("completions", "<SHELL>"),
    ];
    for (command, says) in defaults {
        let out = sessions(dir.path(), &[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command}");
        let text = stdout(&out).replace('\n', " ").split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(text.contains(&format!("Usage: sessions {command}")), "{command}: {text}");
        assert!(text.contains(says), "{command} --help does not say {says:?}: {text}");
    }
    let load_help = stdout(&sessions(dir.path(), &["load", "--help"]));
    assert!(load_help.contains("--async") && load_help.contains("`aload`"), "{load_help}");
    assert!(names(dir.path()).is_empty(), "help writes nothing");
}

#[test]
fn completions_for_bash() {
    let out = command(Path::new("/"), &["completions", "bash"], &[]).output().unwrap();
    assert!(out.status.success());
    let script = stdout(&out);
    assert!(script.contains("_sessions") && script.contains("clear-expired") && script.contains("--allow-root-dir"));
}

// ---------------------------------------------------------------------------------------
// Safe by default: the directory
// ---------------------------------------------------------------------------------------

/// A mistyped `--dir` is an error naming it; nothing is created (issue #11: today it made
/// the directory, a secret, and printed `{}`).
#[test]
fn a_missing_dir_is_an_error_naming_it() {
    let parent = tempfile::tempdir().unwrap();
    let typo = parent.path().join("sesions");
    for args in [&["load", "abcdefgh"][..], &["create"], &["clear-expired"], &["stats"], &["exists", "abcdefgh"]] {
        let out = with_dir(&typo, args, &[]);
        assert_error(&out, "improperly-configured", &format!("{:?} doesn't exist", typo.display().to_string()));
    }
    assert!(!typo.exists(), "nothing created");
    // demo may create it.
    assert!(with_dir(&typo, &["demo"], &[]).status.success());
    assert_eq!(std::fs::metadata(&typo).unwrap().mode() & 0o777, 0o700);
}

/// Without --dir the store commands use ./sessions, created private when missing.
#[test]
fn the_default_dir_is_created_private() {
    let cwd = tempfile::tempdir().unwrap();
    let out = command(cwd.path(), &["create", r#"{"a": 1}"#], &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let dir = cwd.path().join("sessions");
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let key = stdout(&out);
    let loaded = command(cwd.path(), &["load", &key], &[]).output().unwrap();
    assert_eq!(stdout(&loaded), r#"{"a":1}"#);
}

/// `--dir` naming a file: a plain error (was `trap: Not a directory`).
#[test]
fn a_dir_that_is_a_file_is_a_plain_error() {
    let parent = private_dir();
    let file = parent.path().join("notes.txt");
    std::fs::write(&file, "x").unwrap();
    for async_too in [false, true] {
        let args: &[&str] = if async_too { &["--async", "load", "abcdefgh"] } else { &["load", "abcdefgh"] };
        assert_error(&sessions(&file, args), "improperly-configured", "notes.txt is not a directory");
    }
}

/// `--dir /` would hand the whole filesystem to the component: refused unless forced.
#[test]
fn the_root_dir_is_refused_unless_forced() {
    for dir in ["/", "/tmp/..", "//"] {
        assert_error(&sessions(Path::new(dir), &["exists", "abcdefgh"]), "improperly-configured", "--allow-root-dir");
    }
    let parent = tempfile::tempdir().unwrap();
    let link = parent.path().join("root");
    symlink("/", &link).unwrap();
    assert_error(&sessions(&link, &["exists", "abcdefgh"]), "improperly-configured", "refusing / as");
    if running_as_root() {
        // Forced (and owned by root, 0755): allowed; exists only looks.
        let out = sessions(Path::new("/"), &["--allow-root-dir", "exists", "abcdefgh"]);
        assert_eq!(stdout(&out), "false", "{}", stderr(&out));
    }
    report(
        "CLI: --dir / and --dir FILE (finding 7)",
        "--dir /, /tmp/.., //, a symlink to /; --dir naming a regular file (sync and --async)",
        "/ refused with improperly-configured unless --allow-root-dir; a file gives `improperly-configured: ... is not a directory` (was `trap: Not a directory`); a missing --dir is an error naming it and nothing is created",
    );
}

/// A directory others can write to is refused: they could plant links, FIFOs or a secret.
#[test]
fn a_dir_others_can_write_is_refused() {
    for mode in [0o770, 0o777, 0o1777, 0o722] {
        let dir = private_dir();
        chmod(dir.path(), mode);
        assert_error(&sessions(dir.path(), &["create"]), "improperly-configured", "can be written by other users");
        assert!(names(dir.path()).is_empty(), "mode {mode:o}");
    }
    if running_as_root() {
        let dir = private_dir();
        rustix::fs::chown(dir.path(), Some(rustix::process::Uid::from_raw(65534)), None).unwrap();
        assert_error(&sessions(dir.path(), &["create"]), "improperly-configured", "belongs to another user (uid 65534");
    }
}

/// The CLI sets umask 077: session files are 0600, as Django's, whatever the caller's umask.
#[test]
fn session_files_are_private() {
    let dir = private_dir();
    let mut cmd = command(Path::new("/"), &["--dir", dir.path().to_str().unwrap(), "create"], &[("SECRET_KEY", "k")]);
    // SAFETY: umask is async-signal-safe; the child runs it before exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
            Ok(())
        });
    }
    let key = stdout(&cmd.output().unwrap());
    let meta = std::fs::metadata(dir.path().join(format!("sessionid{key}"))).unwrap();
    assert_eq!(meta.mode() & 0o777, 0o600);
}

// ---------------------------------------------------------------------------------------
// Safe by default: the secret
// ---------------------------------------------------------------------------------------

#[test]
fn generated_secret_is_kept_private_and_reused() {
    let parent = tempfile::tempdir().unwrap();
    let dir = parent.path().join("sessions");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o700);
    let key = stdout(&with_dir(&dir, &["create", r#"{"a": 1}"#], &[]));
    let secret_file = dir.join(".secret-key");
    assert_eq!(std::fs::metadata(&secret_file).unwrap().mode() & 0o777, 0o600);
    let secret = std::fs::read_to_string(&secret_file).unwrap();
    assert!(secret.len() >= 64, "a long random secret");
    // The next run signs and verifies with the same secret, and clear-expired leaves it.
    assert_eq!(stdout(&with_dir(&dir, &["load", &key], &[])), r#"{"a":1}"#);
    assert!(with_dir(&dir, &["clear-expired"], &[]).status.success());
    assert_eq!(std::fs::read_to_string(&secret_file).unwrap(), secret);
    // With SECRET_KEY set, that one is used instead: the session no longer verifies.
    assert_eq!(stdout(&with_dir(&dir, &["load", &key], &[("SECRET_KEY", "another")])), "{}");
}

/// A directory that already holds sessions and no `.secret-key` needs SECRET_KEY: a new
/// secret would make all of them read as `{}`.
#[test]
fn sessions_without_their_secret_need_secret_key() {
    let dir = private_dir();
    let key = stdout(&sessions(dir.path(), &["create", r#"{"a": 1}"#]));
    assert!(!dir.path().join(".secret-key").exists());
    for args in [&["load", key.as_str()][..], &["create"], &["clear-expired"]] {
        assert_error(&with_dir(dir.path(), args, &[]), "improperly-configured", "set SECRET_KEY");
    }
    assert_eq!(names(dir.path()), vec![format!("sessionid{key}")], "no secret generated");
    // A custom cookie name is the prefix looked for.
    let other = private_dir();
    std::fs::write(other.path().join("appsession12345678"), "x").unwrap();
    let out = with_dir(other.path(), &["create"], &[("SESSION_COOKIE_NAME", "appsession")]);
    assert_error(&out, "improperly-configured", "holds sessions but no .secret-key");
}

/// What `.secret-key` may not be (finding 3): each refused with an error naming the file,
/// none followed, none blocking, none read past 1 KiB.
#[test]
fn an_untrustworthy_secret_file_is_refused() {
    let outside = private_dir();
    let known = outside.path().join("known-secret");
    std::fs::write(&known, "attacker-known-secret").unwrap();
    chmod(&known, 0o600);
    type Plant = Box<dyn Fn(&Path)>;
    let cases: Vec<(&str, Plant, &str)> = vec![
        ("symlink to a known secret", Box::new(move |p: &Path| symlink(&known, p).unwrap()), "is a symbolic link"),
        ("symlink to /dev/zero", Box::new(|p: &Path| symlink("/dev/zero", p).unwrap()), "is a symbolic link"),
        ("FIFO", Box::new(|p: &Path| mkfifo(p)), "is not a regular file"),
        ("directory", Box::new(|p: &Path| std::fs::create_dir(p).unwrap()), "is not a regular file"),
        ("mode 0644", Box::new(|p: &Path| write_secret(p, "s3cret", 0o644)), "has mode 644, not 0600"),
        ("mode 0640", Box::new(|p: &Path| write_secret(p, "s3cret", 0o640)), "has mode 640, not 0600"),
        ("over 1 KiB", Box::new(|p: &Path| write_secret(p, &"x".repeat(1025), 0o600)), "is larger than 1 KiB"),
        ("empty", Box::new(|p: &Path| write_secret(p, " \n", 0o600)), "is empty"),
        ("not UTF-8", Box::new(|p: &Path| write_bytes(p, b"\xff\xfe", 0o600)), "is not UTF-8"),
    ];
    let (count, mut slowest) = (cases.len(), Duration::ZERO);
    for (what, plant, why) in cases {
        let dir = private_dir();
        let path = dir.path().join(".secret-key");
        plant(&path);
        let started = Instant::now();
        let out = run_bounded(command(Path::new("/"), &["--dir", dir.path().to_str().unwrap(), "create"], &[]));
        slowest = slowest.max(started.elapsed());
        assert_error(&out, "improperly-configured", &format!("{} {why}: refused", path.display()));
        assert_eq!(names(dir.path()), vec![".secret-key"], "{what}: nothing written");
    }
    report(
        "CLI: DIR/.secret-key (finding 3)",
        &format!(
            "{count} planted forms: symlinks to a known secret and to /dev/zero, a FIFO, a directory, modes 0644 and 0640, 1025 bytes, empty, not UTF-8; then `sessions create` without SECRET_KEY"
        ),
        &format!(
            "each refused with improperly-configured naming the file and why; no link followed, the FIFO opened without blocking (slowest run {} ms), nothing read past 1 KiB, nothing written; a foreign-owned file and a non-UTF-8 SECRET_KEY are refused too (their own tests)",
            slowest.as_millis()
        ),
    );
}

#[test]
fn a_secret_file_another_user_owns_is_refused() {
    if !running_as_root() {
        eprintln!("SKIPPED: making a file another user owns needs root");
        return;
    }
    let dir = private_dir();
    let path = dir.path().join(".secret-key");
    write_secret(&path, "planted", 0o600);
    rustix::fs::chown(&path, Some(rustix::process::Uid::from_raw(65534)), None).unwrap();
    let out = with_dir(dir.path(), &["create"], &[]);
    assert_error(&out, "improperly-configured", "belongs to another user (uid 65534");
}

/// A SECRET_KEY that is not UTF-8 is an error, not silently replaced by a generated one.
#[test]
fn a_secret_key_that_is_not_utf8_is_an_error() {
    use std::os::unix::ffi::OsStrExt;
    let dir = private_dir();
    let mut cmd = command(Path::new("/"), &["--dir", dir.path().to_str().unwrap(), "create"], &[]);
    cmd.env("SECRET_KEY", std::ffi::OsStr::from_bytes(b"caf\xe9-secret"));
    assert_error(&cmd.output().unwrap(), "improperly-configured", "SECRET_KEY setting is not valid UTF-8");
    assert!(names(dir.path()).is_empty(), "no secret generated");
    let mut cmd = command(Path::new("/"), &["--dir", dir.path().to_str().unwrap(), "create"], &[("SECRET_KEY", "k")]);
    cmd.env("SESSION_COOKIE_NAME", std::ffi::OsStr::from_bytes(b"sess\xff"));
    assert_error(&cmd.output().unwrap(), "improperly-configured", "SESSION_COOKIE_NAME is not valid UTF-8");
}

fn write_bytes(path: &Path, bytes: &[u8], mode: u32) {
    std::fs::write(path, bytes).unwrap();
    chmod(path, mode);
}

fn write_secret(path: &Path, text: &str, mode: u32) {
    write_bytes(path, text.as_bytes(), mode);
}

fn mkfifo(path: &Path) {
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mknodat(rustix::fs::CWD, path, rustix::fs::FileType::Fifo, mode, 0).unwrap();
}

// ---------------------------------------------------------------------------------------
// --async
// ---------------------------------------------------------------------------------------

/// `--async` runs the commands through the async component's twins, on the same files:
/// a session written by either path reads back through the other, byte for byte the same
/// output, and expiry and clear-expired behave the same.
#[test]
fn async_commands_interoperate_with_the_sync_path() {
    let dir = private_dir();
    let d = dir.path();

    // Created with --async: loads the same with and without it.
    let created = sessions_async(d, &["create", r#"{"user_id": 7, "é": "☃"}"#]);
    assert!(created.status.success(), "{}", stderr(&created));
    let key = stdout(&created);
    assert_eq!(key.len(), 32, "{key:?}");
    let sync_loaded = sessions(d, &["load", &key]);
    let async_loaded = sessions_async(d, &["load", &key]);
    assert_eq!(stdout(&sync_loaded), r#"{"user_id":7,"é":"☃"}"#);
    assert_eq!(async_loaded.stdout, sync_loaded.stdout, "the same output, byte for byte");

    // Created without it: --async loads it; saves across, each reads the other's.
    let other = stdout(&sessions(d, &["create", r#"{"n": 1}"#]));
    assert_eq!(stdout(&sessions_async(d, &["load", &other])), r#"{"n":1}"#);
    assert_eq!(stdout(&sessions_async(d, &["save", &other, r#"{"n": 2}"#])), other);
    assert_eq!(stdout(&sessions(d, &["load", &other])), r#"{"n":2}"#);
    assert_eq!(stdout(&sessions(d, &["save", &key, r#"{"user_id": 8}"#])), key);
    assert_eq!(stdout(&sessions_async(d, &["load", &key])), r#"{"user_id":8}"#);

    // exists and delete, across.
    assert_eq!(stdout(&sessions_async(d, &["exists", &key])), "true");
    let deleted = sessions_async(d, &["delete", &key]);
    assert!(deleted.status.success() && deleted.stdout.is_empty(), "{}", stderr(&deleted));
    assert_eq!(stdout(&sessions(d, &["exists", &key])), "false");
    assert_eq!(stdout(&sessions_async(d, &["load", &key])), "{}");

    // Reading an expired session gives {} and deletes it, on both paths.
    let expired = stdout(&sessions(d, &["create"]));
    backdate(d, &expired);
    assert_eq!(stdout(&sessions_async(d, &["load", &expired])), "{}");
    assert!(!d.join(format!("sessionid{expired}")).exists(), "aload deleted the expired session");

    // clear-expired: the same counts, in the same format, whichever path runs it.
    let sweep = private_dir();
    let d = sweep.path();
    let by_sync = stdout(&sessions(d, &["create", r#"{"a": 1}"#]));
    let by_async = stdout(&sessions_async(d, &["create", r#"{"b": 2}"#]));
    backdate(d, &by_sync);
    let swept = sessions_async(d, &["clear-expired"]);
    assert_eq!(
        stdout(&swept),
        r#"{"scanned":2,"expired_sessions":1,"orphaned_temp_files":0,"stale_placeholders":0,"failures":0,"undecodable_names":0}"#
    );
    assert_eq!(stdout(&sessions(d, &["load", &by_async])), r#"{"b":2}"#);
}

/// Every error gives the same exit status and the same message with --async as without.
#[test]
fn async_errors_match_the_sync_path() {
    let dir = private_dir();
    let d = dir.path();
    let cases: &[(&[&str], i32, &str)] = &[
        (&["exists", "../../etc/passwd"], 1, "error: invalid-session-key: Invalid characters in session key\n"),
        (&["delete", "../../etc/passwd"], 1, "error: invalid-session-key: Invalid characters in session key\n"),
        (&["load", "../x"], 1, "error: invalid-session-key: Invalid characters in session key\n"),
        (&["create", "[1, 2]"], 1, "error: invalid-value: "),
        (&["save", "abcdefgh", "not json"], 1, "error: invalid-value: "),
        // A short key of valid characters names no file, as in Django: {} and exit 0.
        (&["load", "abc"], 0, ""),
    ];
    for &(args, code, message) in cases {
        let (sync, twin) = (sessions(d, args), sessions_async(d, args));
        assert_eq!(sync.status.code(), Some(code), "{args:?}: {}", stderr(&sync));
        assert!(stderr(&sync).starts_with(message), "{args:?}: {}", stderr(&sync));
        assert_eq!(
            (twin.status.code(), stderr(&twin), &twin.stdout),
            (sync.status.code(), stderr(&sync), &sync.stdout)
        );
    }
    let configured = |extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["load", "abcdefgh"]);
        with_dir(d, &args, &[("SECRET_KEY", "k"), ("SESSION_COOKIE_AGE", "two weeks")])
    };
    let (sync, twin) = (configured(&[]), configured(&["--async"]));
    assert_error(&twin, "improperly-configured", "The SESSION_COOKIE_AGE setting");
    assert_eq!(stderr(&twin), stderr(&sync));
    assert!(names(d).is_empty(), "nothing written on errors: {:?}", names(d));
}

// ---------------------------------------------------------------------------------------
// components, and a binary that needs no build tree
// ---------------------------------------------------------------------------------------

#[test]
fn components_lists_and_writes_the_embedded_ones() {
    use sha2::{Digest, Sha256};
    let cwd = tempfile::tempdir().unwrap();
    let out = command(cwd.path(), &["components", "--write", "."], &[]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let expected = [
        ("portable", file_sessions_host::GUEST_WASM, "file_sessions.wasm", "(sync exports, WASI 0.2 imports"),
        (
            "async",
            file_sessions_host::GUEST_ASYNC_WASM,
            "file_sessions_async.wasm",
            "(sync + async exports, WASI 0.2 + 0.3",
        ),
    ];
    for (role, wasm, file, about) in expected {
        let sha: String = Sha256::digest(wasm).iter().map(|b| format!("{b:02x}")).collect();
        let line = format!("{role:<8}  {} bytes  sha256:{sha}  {about}", wasm.len());
        assert!(text.lines().any(|l| l.starts_with(&line)), "missing {line:?} in:\n{text}");
        assert_eq!(std::fs::read(cwd.path().join(file)).unwrap(), wasm, "{file}");
    }
    assert_eq!(
        names(cwd.path()),
        vec!["file_sessions.wasm", "file_sessions_async.wasm", "web-app.wasm"],
        "no ./sessions"
    );
}

/// The binary carries its components: a copy of it, run from elsewhere with an empty cache,
/// works (as `cargo install` gives it), and keeps its compiled code in a private per-user
/// cache (finding 6).
#[test]
fn a_copied_binary_works_anywhere_with_a_private_cache() {
    let place = tempfile::tempdir().unwrap();
    let binary = place.path().join("sessions");
    // A hard link where it can be (a debug build is hundreds of MB): another path, the
    // same bytes.
    if std::fs::hard_link(SESSIONS, &binary).is_err() {
        std::fs::copy(SESSIONS, &binary).unwrap();
    }
    let cache_home = place.path().join("cache");
    let dir = private_dir();
    let run = |args: &[&str]| {
        let mut cmd = Command::new(&binary);
        cmd.arg("--dir").arg(dir.path()).args(args).current_dir(place.path());
        cmd.env_clear().env("XDG_CACHE_HOME", &cache_home).env("SECRET_KEY", "k");
        cmd.output().unwrap()
    };
    let key = stdout(&run(&["create", r#"{"far": true}"#]));
    assert_eq!(stdout(&run(&["--async", "load", &key])), r#"{"far":true}"#);
    let cache = cache_home.join("file-sessions");
    assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
    let entries = names(&cache);
    assert_eq!(entries.len(), 2, "one entry per component: {entries:?}");
    for entry in entries {
        assert!(entry.ends_with(".cwasm"), "{entry}");
        assert_eq!(std::fs::metadata(cache.join(entry)).unwrap().mode() & 0o777, 0o600);
    }
}

// ---------------------------------------------------------------------------------------
// The benchmarks (tiny sizes: the plumbing, not speed)
// ---------------------------------------------------------------------------------------

/// The Django virtualenv's Python (made on first use).
fn django_python() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let out = Command::new("bash")
        .arg(root.join("host-tests/django/ensure-venv.sh"))
        .arg(root.join("target/django-venv"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    PathBuf::from(stdout(&out).lines().last().unwrap())
}

/// `sessions bench --json` prints one JSON object of the documented shape, every figure a
/// positive number, with real Django's side included; it leaves nothing behind.
#[test]
fn bench_prints_the_documented_json() {
    let dir = private_dir();
    let python = django_python();
    let args = ["bench", "--n", "20", "--rounds", "1", "--clear-sizes", "10,30", "--json", "--django"];
    let out = sessions(dir.path(), &[&args[..], &[python.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "no progress on a pipe");
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
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
    assert_eq!(report["wasm_bytes"], file_sessions_host::GUEST_WASM.len());
    assert!(names(dir.path()).is_empty(), "nothing left behind");

    // The same report, rendered: a table by default, Markdown on request.
    let saved = dir.path().join("report.json");
    std::fs::write(&saved, stdout(&out)).unwrap();
    let table = stdout(&sessions(dir.path(), &["bench-report", saved.to_str().unwrap()]));
    assert!(table.contains("Targets (from the first report)") && table.contains("clear_expired"), "{table}");
    let markdown = stdout(&sessions(dir.path(), &["bench-report", "--markdown", saved.to_str().unwrap()]));
    assert!(markdown.contains("| op | component | fresh instance | native | Django |"), "{markdown}");
}

/// Finding 5: links planted where the benchmark used to make its directory
/// (`DIR/file-sessions-bench-<pid>`, for the next PIDs) lead nowhere: the working
/// directory has a fresh random name, is made exclusively, and nothing outside it is
/// touched.
#[test]
fn bench_never_follows_a_planted_link() {
    let dir = private_dir();
    let victim = private_dir();
    let precious = victim.path().join("sessionidprecious0000000000000000");
    std::fs::write(&precious, "someone else's session").unwrap();
    let next_pid = Command::new("true").spawn().unwrap().id();
    for pid in next_pid..next_pid + 64 {
        for prefix in ["file-sessions-bench-", "file-sessions-bench-async-"] {
            symlink(victim.path(), dir.path().join(format!("{prefix}{pid}"))).unwrap();
        }
    }
    let planted = names(dir.path());
    let out = sessions(dir.path(), &["bench", "--n", "5", "--rounds", "1", "--clear-sizes", "4", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sessions(dir.path(), &["bench-async", "--n", "5", "--rounds", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(names(victim.path()), vec!["sessionidprecious0000000000000000"]);
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "someone else's session");
    assert_eq!(names(dir.path()), planted, "only the planted links are left");
    report(
        "sessions bench working directory (finding 5)",
        &format!(
            "{} symlinks to another directory holding a session, planted at file-sessions-bench-[async-]<pid> for the next 64 PIDs; `sessions bench` and `bench-async` run",
            planted.len()
        ),
        "both finished; the other directory and its session untouched; only the planted links left (the working directory has a fresh random name, is created exclusively with mode 0700 and removed without following links); a parent others can write to and that is not sticky is refused",
    );
}

/// A parent others can write to and that is not sticky could have the working directory
/// swapped for a link: refused. A sticky one (/tmp, /dev/shm) is fine.
#[test]
fn bench_refuses_a_parent_others_could_swap_its_directory_in() {
    let dir = private_dir();
    chmod(dir.path(), 0o777);
    let out = sessions(dir.path(), &["bench-async", "--n", "2", "--rounds", "1"]);
    assert_error(&out, "improperly-configured", "can be written by other users and is not sticky");
    chmod(dir.path(), 0o1777);
    let out = sessions(dir.path(), &["bench-async", "--n", "2", "--rounds", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// `sessions bench-async --json` prints one JSON object with the three ways; the table and
/// Markdown forms come from the same renderer.
#[test]
fn bench_async_prints_the_documented_json() {
    let dir = private_dir();
    let out = sessions(dir.path(), &["bench-async", "--n", "20", "--rounds", "1", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().count(), 1, "one JSON object on one line: {text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!((report["n"].as_u64(), report["rounds"].as_u64()), (Some(20), Some(1)));
    for way in ["sync_sequential", "async_sequential", "async_concurrent"] {
        let v = report[way]["us_per_load"].as_f64().unwrap_or_else(|| panic!("{way}.us_per_load in {report}"));
        assert!(v > 0.0, "{way}.us_per_load = {v}");
    }
    assert!(names(dir.path()).is_empty(), "nothing left behind");

    let table = stdout(&sessions(dir.path(), &["bench-async", "--n", "5", "--rounds", "1"]));
    assert!(table.starts_with("filesystem") && table.contains("concurrent ÷ sync throughput"), "{table}");
    let markdown = stdout(&sessions(dir.path(), &["bench-async", "--n", "5", "--rounds", "1", "--markdown"]));
    assert!(markdown.starts_with("| filesystem | N |") && markdown.contains("|---|---:|"), "{markdown}");
}

/// `bench-report --update` rewrites the marked sections of a document (what bench/run.sh
/// does to PERFORMANCE.md), and says so when the markers are missing.
#[test]
fn bench_report_updates_marked_sections() {
    let dir = private_dir();
    let report = json!({"filesystem": "tmpfs", "n": 10, "rounds": 1, "threads": 2,
        "sync_sequential": {"us_per_load": 15.0}, "async_sequential": {"us_per_load": 180.0},
        "async_concurrent": {"us_per_load": 50.0}, "concurrent_vs_sync": 0.3});
    let saved = dir.path().join("async.json");
    std::fs::write(&saved, report.to_string()).unwrap();
    let doc = dir.path().join("DOC.md");
    std::fs::write(&doc, "# Title\n<!-- async:begin -->\nold\n<!-- async:end -->\ntail\n").unwrap();
    let out = sessions(dir.path(), &["bench-report", "--update", doc.to_str().unwrap(), saved.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = std::fs::read_to_string(&doc).unwrap();
    assert!(text.starts_with("# Title\n<!-- async:begin -->\n| filesystem | N |"), "{text}");
    assert!(text.contains("| tmpfs | 10 | 15.0 | 180.0 | 50.0 | 0.30× |\n"), "{text}");
    assert!(text.ends_with("<!-- async:end -->\ntail\n") && !text.contains("old"), "{text}");

    std::fs::write(&doc, "no markers\n").unwrap();
    let out = sessions(dir.path(), &["bench-report", "--update", doc.to_str().unwrap(), saved.to_str().unwrap()]);
    assert_error(&out, "improperly-configured", "has no <!-- async:begin/end --> markers");
    let out = sessions(dir.path(), &["bench-report", doc.to_str().unwrap()]);
    assert_error(&out, "improperly-configured", "is not a benchmark report");
}

// ---------------------------------------------------------------------------------------
// Installed: the binary alone, with no build tree (issue #11: `cargo install` gives a working
// `sessions`)
// ---------------------------------------------------------------------------------------

/// A copy of `sessions` run where the whole repository (sources and `target/`) is hidden
/// under an empty tmpfs, in a mount namespace of its own, with an empty precompiled-code
/// cache: what `cargo install --path host-tests` leaves an operator with once the checkout is
/// gone. Any read of a build path at run time fails here.
#[test]
fn an_installed_copy_works_without_the_build_tree() {
    if !running_as_root() || Command::new("unshare").arg("--version").output().is_err() {
        eprintln!("SKIPPED: needs root and unshare(1) to hide the repository in a mount namespace");
        return;
    }
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().canonicalize().unwrap();
    let home = tempfile::tempdir().unwrap(); // the binary, HOME and the cache: outside the repo
    let bin = home.path().join("sessions");
    std::fs::copy(SESSIONS, &bin).unwrap();
    let dir = private_dir();
    assert!(!dir.path().starts_with(&repo) && !home.path().starts_with(&repo));
    // Every command runs in a namespace where the repository is an empty tmpfs.
    let run = |args: &[&str]| -> Output {
        let script = r#"mount -t tmpfs none "$1" && [ -z "$(ls -A "$1")" ] && shift && exec "$@""#;
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh", "-c", script, "sh"])
            .arg(&repo)
            .arg(&bin)
            .args(["--dir", dir.path().to_str().unwrap()])
            .args(args)
            .current_dir(home.path())
            .env("HOME", home.path())
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .env("SECRET_KEY", "installed-test-secret")
            .env_remove("CARGO_MANIFEST_DIR")
            .stdin(Stdio::null());
        cmd.output().unwrap()
    };
    let created = run(&["create", r#"{"user_id": 42}"#]);
    assert!(created.status.success(), "create: {}", stderr(&created));
    let key = stdout(&created).trim().to_owned();
    for args in [vec!["load", key.as_str()], vec!["--async", "load", key.as_str()]] {
        let out = run(&args);
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        assert_eq!(serde_json::from_str::<Value>(&stdout(&out)).unwrap(), json!({"user_id": 42}), "{args:?}");
    }
    let components = run(&["components"]);
    assert!(components.status.success(), "components: {}", stderr(&components));
    assert_eq!(stdout(&components).lines().count(), 3, "{}", stdout(&components));
    // The cache it filled is the one it was given, and it is private.
    let cache = home.path().join("cache").join("file-sessions");
    assert_eq!(std::fs::metadata(&cache).unwrap().mode() & 0o777, 0o700);
    assert!(std::fs::read_dir(&cache).unwrap().count() >= 2, "the portable and the async component cached");
}
