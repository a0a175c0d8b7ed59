//! `sessions stats`: what an operator asks first about a session directory.
//!
//! The names, sizes and times come from a scan of the directory by the host (no file is
//! opened, no link followed); how many sessions are expired comes from the component's
//! own sweep, run dry, so it is decided exactly as `clear-expired` would decide it.

use crate::failure::Failure;
use crate::place;
use clap::Args;
use file_sessions_host::HostError;
use serde_json::{Value, json};
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Options of `stats`.
#[derive(Args, Debug)]
pub struct StatsArgs {
    /// One JSON object on stdout instead of the table.
    #[arg(long)]
    json: bool,
}

/// What the scan found.
#[derive(Debug, Default)]
struct Scan {
    /// Files named like a session, with data.
    sessions: u64,
    /// Temporary files of saves (`<prefix><key>_out_<suffix>`).
    temp_files: u64,
    /// Empty files named like a session: placeholders of creates.
    placeholders: u64,
    /// Other entries named with the prefix (links, directories, FIFOs, ...).
    other: u64,
    total_bytes: u64,
    largest_bytes: u64,
    /// Modification times (Unix seconds) of the oldest and newest session.
    oldest: Option<i64>,
    newest: Option<i64>,
}

/// `sessions stats [--json]`.
pub fn run(place: &place::Options, args: &StatsArgs) -> Result<(), Failure> {
    let tenant = place.tenant(false)?;
    let prefix = tenant.env.iter().find(|(k, _)| k == "SESSION_COOKIE_NAME").map_or("sessionid", |(_, v)| v.as_str());
    let scan = scan(&tenant.dir, prefix)?;
    let expired = crate::store::expired_count(&tenant)?;
    let report = to_json(&scan, expired);
    if args.json {
        println!("{report}");
    } else {
        print!("{}", table(&tenant.dir, &report));
    }
    Ok(())
}

/// Lists `dir` and classifies each entry that starts with `prefix` by its name and its
/// `lstat`.
fn scan(dir: &Path, prefix: &str) -> Result<Scan, HostError> {
    let mut scan = Scan::default();
    let listing = std::fs::read_dir(dir).map_err(|e| HostError::io("cannot list", dir, e))?;
    for entry in listing {
        let entry = entry.map_err(|e| HostError::io("cannot list", dir, e))?;
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(prefix)) else { continue };
        let Ok(meta) = entry.metadata() else { continue }; // gone since the listing
        if !meta.is_file() {
            scan.other += 1;
        } else if rest.contains("_out_") {
            scan.temp_files += 1;
        } else if meta.len() == 0 {
            scan.placeholders += 1;
        } else {
            scan.add_session(meta.len(), meta.mtime());
        }
    }
    Ok(scan)
}

impl Scan {
    fn add_session(&mut self, bytes: u64, mtime: i64) {
        self.sessions += 1;
        self.total_bytes += bytes;
        self.largest_bytes = self.largest_bytes.max(bytes);
        self.oldest = Some(self.oldest.map_or(mtime, |t| t.min(mtime)));
        self.newest = Some(self.newest.map_or(mtime, |t| t.max(mtime)));
    }
}

fn to_json(scan: &Scan, expired: u64) -> Value {
    json!({
        "sessions": scan.sessions,
        "expired_sessions": expired,
        "temp_files": scan.temp_files,
        "placeholders": scan.placeholders,
        "other_entries": scan.other,
        "total_bytes": scan.total_bytes,
        "largest_bytes": scan.largest_bytes,
        "oldest": scan.oldest.map(iso8601),
        "newest": scan.newest.map(iso8601),
    })
}

/// A Unix time as Python's `isoformat()` gives it in UTC (the guest crate's formatter).
fn iso8601(unix: i64) -> String {
    use file_sessions::expiry::{DateTime, format_iso, from_unix};
    format_iso(&DateTime::Aware(from_unix(unix, 0)))
}

/// The report as a small two-column table.
fn table(dir: &Path, report: &Value) -> String {
    let mut out = format!("{}\n", dir.display());
    for (label, key) in [
        ("sessions", "sessions"),
        ("  expired", "expired_sessions"),
        ("temporary files", "temp_files"),
        ("placeholders", "placeholders"),
        ("other entries", "other_entries"),
        ("total bytes", "total_bytes"),
        ("largest bytes", "largest_bytes"),
        ("oldest", "oldest"),
        ("newest", "newest"),
    ] {
        let value = match &report[key] {
            Value::String(s) => s.clone(),
            Value::Null => "-".into(),
            v => v.to_string(),
        };
        out.push_str(&format!("  {label:<16} {value}\n"));
    }
    out
}
