//! The load generator: Debian's `wrk`, driven by `bench/http.lua` (embedded), which checks
//! every response and prints its figures as one JSON line.

use super::Flow;
use file_sessions_host::HostError;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The script, written into the benchmark's working directory.
const SCRIPT: &str = include_str!("../../../../../../bench/http.lua");

/// How hard to load a server.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// `wrk -t`.
    pub threads: u32,
    /// `wrk -c`.
    pub connections: u32,
}

/// `wrk`, with its script in place.
pub struct Wrk {
    script: PathBuf,
    /// `wrk --version`'s first line.
    pub version: String,
}

impl Wrk {
    /// Finds `wrk` and writes the script into `dir`.
    pub fn new(dir: &Path) -> Result<Wrk, HostError> {
        // `wrk --version` prints its banner and exits 1.
        let out = Command::new("wrk").arg("--version").output().map_err(|e| {
            let why = std::io::Error::new(e.kind(), format!("{e} (install it: apt-get install wrk)"));
            HostError::io("cannot run", Path::new("wrk"), why)
        })?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
        // "wrk debian/4.1.0-3+b2 [epoll] Copyright ...": the name and the version.
        let version = text.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
        let script = dir.join("http.lua");
        std::fs::write(&script, SCRIPT).map_err(|e| HostError::io("cannot write", &script, e))?;
        Ok(Wrk { script, version })
    }

    /// Loads `addr` with `flow` for `seconds`; the script's JSON figures.
    pub fn run(&self, addr: SocketAddr, path: &str, flow: Flow, load: Load, seconds: u32) -> Result<Value, HostError> {
        let out = Command::new("wrk")
            .args(["-t", &load.threads.to_string(), "-c", &load.connections.to_string()])
            .args(["-d", &format!("{seconds}s"), "--timeout", "5s", "-s"])
            .arg(&self.script)
            .arg(format!("http://{addr}{path}"))
            .args(["--", flow.name(), super::COOKIE_NAME])
            .output()
            .map_err(|e| HostError::io("cannot run", Path::new("wrk"), e))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let line = stdout.lines().rev().find(|l| l.starts_with('{'));
        let figures = line.and_then(|l| serde_json::from_str::<Value>(l).ok());
        match figures {
            Some(figures) if out.status.success() => Ok(figures),
            _ => {
                let stderr = String::from_utf8_lossy(&out.stderr);
                let why = std::io::Error::other(format!("{}: {}{}", out.status, stdout.trim(), stderr.trim()));
                Err(HostError::io("no figures from", Path::new("wrk"), why))
            }
        }
    }
}
