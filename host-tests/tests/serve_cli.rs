//! `sessions serve` as an operator runs it: the address it prints, a line per request on
//! stderr, the settings passed through, a clean stop on Ctrl-C (SIGINT), and its usage
//! errors.

mod common;

use common::web::{Request, send};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

const SESSIONS: &str = env!("CARGO_BIN_EXE_sessions");

/// `sessions --dir DIR serve ARGS` with `env` (and nothing of the caller's settings).
fn command(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new(SESSIONS);
    cmd.arg("--dir").arg(dir);
    serve_args(&mut cmd, args, env);
    cmd
}

/// `serve ARGS` with `env` only.
fn serve_args(cmd: &mut Command, args: &[&str], env: &[(&str, &str)]) {
    cmd.arg("serve").args(args);
    for var in file_sessions::settings::SETTINGS.iter().map(|s| s.name).chain(file_sessions_host::serve::WEB_SETTINGS) {
        cmd.env_remove(var);
    }
    cmd.envs(env.iter().copied());
}

/// A running `sessions serve`, its stderr read line by line; killed if the test fails.
struct Serving {
    child: Child,
    lines: Receiver<String>,
    addr: SocketAddr,
}

impl Serving {
    fn start(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> Serving {
        Serving::spawn(command(dir, &[], env), args)
    }

    /// `cmd` (which says where, and `serve`) with `args`, on a free port.
    fn spawn(mut cmd: Command, args: &[&str]) -> Serving {
        let mut child = cmd.args(["--listen", "127.0.0.1:0"]).args(args).stderr(Stdio::piped()).spawn().unwrap();
        let (sender, lines) = channel();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        std::thread::spawn(move || stderr.lines().map_while(Result::ok).try_for_each(|line| sender.send(line)));
        let mut serving = Serving { child, lines, addr: "0.0.0.0:0".parse().unwrap() };
        let first = serving.next_line();
        let url = first.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{first}"));
        serving.addr = url.trim_start_matches("http://").parse().unwrap();
        serving
    }

    fn next_line(&self) -> String {
        self.lines.recv_timeout(Duration::from_secs(120)).expect("a line on stderr")
    }

    /// Ctrl-C, then the exit status and what it printed meanwhile.
    fn interrupt(mut self) -> (ExitStatus, Vec<String>) {
        let status = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let exit = self.child.wait().unwrap();
        (exit, self.lines.try_iter().collect())
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn serves_logs_each_request_and_stops_on_ctrl_c() {
    // Without --dir, in ./sessions, created private as for the other commands.
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("sessions");
    let mut cmd = Command::new(SESSIONS);
    cmd.current_dir(root.path());
    serve_args(&mut cmd, &[], &[]);
    let serving = Serving::spawn(cmd, &[]);
    // No SECRET_KEY given: one is generated and kept, as for the other commands.
    assert!(dir.join(".secret-key").is_file());
    #[cfg(unix)]
    assert_eq!(std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&dir).unwrap().permissions()) & 0o777, 0o700);

    let reply = send(serving.addr, Request::get("/"));
    assert_eq!(reply.status, 200);
    let key = reply.cookie("sessionid").unwrap().value;
    assert!(dir.join(format!("sessionid{key}")).is_file());
    let line = serving.next_line();
    let words: Vec<&str> = line.split(' ').collect();
    assert_eq!(words[..3], ["GET", "/", "200"], "{line}");
    assert!(words[3].strip_suffix("µs").is_some_and(|n| n.parse::<u64>().is_ok()), "{line}");
    assert_eq!(send(serving.addr, Request::get("/nope")).status, 404);
    assert!(serving.next_line().starts_with("GET /nope 404 "));

    let (status, rest) = serving.interrupt();
    assert!(status.success(), "{status}: {rest:?}");
    assert_eq!(rest.last().map(String::as_str), Some("stopped"), "{rest:?}");
}

#[test]
fn passes_the_settings_through() {
    let dir = tempfile::tempdir().unwrap();
    let env = [
        ("SECRET_KEY", "serve-cli-secret"),
        ("SESSION_COOKIE_NAME", "shopid"),
        ("SESSION_COOKIE_AGE", "600"),
        ("SESSION_COOKIE_SECURE", "true"),
        ("PEER_URL", "http://127.0.0.1:9/"),
    ];
    let serving = Serving::start(dir.path(), &env, &["--max-instance-reuse-count", "8"]);
    let reply = send(serving.addr, Request::get("/"));
    let cookie = reply.cookie("shopid").unwrap_or_else(|| panic!("{:?}", reply.headers));
    assert_eq!(cookie.attribute("max-age"), Some(Some("600")));
    assert!(cookie.has("secure"));
    assert!(reply.body.contains(r#"href="http://127.0.0.1:9/""#), "PEER_URL not passed: {}", reply.body);
    assert!(dir.path().join(format!("shopid{}", cookie.value)).is_file());
    assert!(!dir.path().join(".secret-key").exists(), "SECRET_KEY was given");
    // Signed with the secret given.
    let text = std::fs::read_to_string(dir.path().join(format!("shopid{}", cookie.value))).unwrap();
    let signer = file_sessions::codec::Signer::new("serve-cli-secret", &[]);
    assert_eq!(signer.loads(&text).ok(), Some(serde_json::json!({"visits": 1})));
}

#[test]
fn usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    for (args, message) in [
        (&["--listen", "nonsense"][..], "error: invalid value 'nonsense' for '--listen <ADDR>'"),
        (&["--listen"][..], "error: a value is required for '--listen <ADDR>' but none was supplied"),
        (&["--max-instance-reuse-count", "0"][..], "error: invalid value '0' for '--max-instance-reuse-count <N>'"),
        (
            &["--max-instance-reuse-count", "many"][..],
            "error: invalid value 'many' for '--max-instance-reuse-count <N>'",
        ),
        (&["--bogus"][..], "error: unexpected argument '--bogus' found"),
        (&["--async"][..], "error: `serve` does not take --async"),
    ] {
        let out = command(dir.path(), args, &[("SECRET_KEY", "s")]).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.starts_with(message), "{args:?}: {stderr}");
        assert_eq!(stderr.lines().count(), 2, "one line and a hint: {stderr}");
    }
    let help = Command::new(SESSIONS).args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("--max-instance-reuse-count <N>") && help.contains("[default: 127.0.0.1:8000]"), "{help}");
}

#[test]
fn an_address_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let out = command(dir.path(), &["--listen", &addr], &[("SECRET_KEY", "s")]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("Address already in use") || stderr.contains("in use"), "{stderr}");
}
