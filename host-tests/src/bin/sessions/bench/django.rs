//! Real Django's side of `sessions bench`: `bench/django_bench.py`, embedded in the binary
//! and run from the benchmark's working directory with the Python it is given.

use super::latency::Options;
use file_sessions_host::HostError;
use serde_json::Value;
use std::path::Path;

/// The script, which prints one JSON object (the Rust side renders it).
const SCRIPT: &str = include_str!("../../../../../bench/django_bench.py");

/// Runs the script on `dir` with `python`; its JSON report.
pub fn run(python: &Path, dir: &Path, opts: &Options) -> Result<Value, HostError> {
    let script = dir.join("django_bench.py");
    std::fs::write(&script, SCRIPT).map_err(|e| HostError::io("cannot write", &script, e))?;
    let data = dir.join("session.json");
    std::fs::write(&data, super::DATA).map_err(|e| HostError::io("cannot write", &data, e))?;
    let sizes: Vec<String> = opts.clear_sizes.iter().map(usize::to_string).collect();
    let out = std::process::Command::new(python)
        .arg(&script)
        .arg("--dir")
        .arg(dir)
        .args(["--n", &opts.n.to_string(), "--rounds", &opts.rounds.to_string()])
        .args(["--clear-sizes", &sizes.join(",")])
        .output()
        .map_err(|e| HostError::io("cannot run", python, e))?;
    let _ = (std::fs::remove_file(&script), std::fs::remove_file(&data));
    if !out.status.success() {
        let why = std::io::Error::other(String::from_utf8_lossy(&out.stderr).trim().to_owned());
        return Err(HostError::io("django_bench.py failed under", python, why));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| HostError::io("unreadable output from", &script, e.into()))
}
