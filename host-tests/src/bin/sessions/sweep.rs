//! `clear-expired` as the operator watches it: the component's bounded sweep
//! (`clear-expired-batch`) step by step, the counts added up, progress on a terminal.

use crate::progress;
use file_sessions_host::HostError;
use serde_json::{Value, json};
use std::io::IsTerminal;
use std::time::Instant;

/// A `clear-report`, from either world's bindings (two Rust types with the same fields).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub scanned: u64,
    pub expired_sessions: u64,
    pub orphaned_temp_files: u64,
    pub stale_placeholders: u64,
    pub failures: u64,
    pub undecodable_names: u64,
}

/// Converts either world's `clear-report` (the fields are written once, here).
macro_rules! counts_from {
    ($($report:ty),*) => {$(
        impl From<$report> for Counts {
            fn from(r: $report) -> Counts {
                Counts {
                    scanned: r.scanned,
                    expired_sessions: r.expired_sessions,
                    orphaned_temp_files: r.orphaned_temp_files,
                    stale_placeholders: r.stale_placeholders,
                    failures: r.failures,
                    undecodable_names: r.undecodable_names,
                }
            }
        }
    )*};
}
counts_from!(file_sessions_host::ClearReport, file_sessions_host::twins::ClearReport);

impl std::ops::AddAssign for Counts {
    fn add_assign(&mut self, o: Counts) {
        self.scanned += o.scanned;
        self.expired_sessions += o.expired_sessions;
        self.orphaned_temp_files += o.orphaned_temp_files;
        self.stale_placeholders += o.stale_placeholders;
        self.failures += o.failures;
        self.undecodable_names += o.undecodable_names;
    }
}

impl Counts {
    /// Files removed (or, in a dry run, that would be).
    pub fn removed(&self) -> u64 {
        self.expired_sessions + self.orphaned_temp_files + self.stale_placeholders
    }

    /// The counts as the command prints them (the WIT record's fields, snake_case).
    pub fn json(&self) -> Value {
        json!({
            "scanned": self.scanned,
            "expired_sessions": self.expired_sessions,
            "orphaned_temp_files": self.orphaned_temp_files,
            "stale_placeholders": self.stale_placeholders,
            "failures": self.failures,
            "undecodable_names": self.undecodable_names,
        })
    }
}

/// One step of a sweep: `(cursor, limit, dry_run)` in, the step's counts and the next
/// cursor out.
pub type Step<'a> = dyn FnMut(Option<&str>, u32, bool) -> Result<(Counts, Option<String>), HostError> + 'a;

/// A whole sweep, `limit` entries per step, from no cursor to no cursor; progress on
/// stderr when it is a terminal (files scanned, removed, the rate), then a summary line.
pub fn run(step: &mut Step, limit: u32, dry_run: bool) -> Result<Counts, HostError> {
    let bar = progress::counter(if dry_run { "counting" } else { "clear-expired" });
    let started = Instant::now();
    let (mut total, mut cursor) = (Counts::default(), None);
    loop {
        let (counts, next) = step(cursor.as_deref(), limit, dry_run)?;
        total += counts;
        bar.set_position(total.scanned);
        let rate = total.scanned as f64 / started.elapsed().as_secs_f64().max(1e-6);
        bar.set_message(format!("{} removed, {rate:.0} files/s", total.removed()));
        cursor = match next {
            Some(next) => Some(next),
            None => break,
        };
    }
    bar.finish_and_clear();
    if !dry_run && std::io::stderr().is_terminal() {
        eprintln!("{}", summary(&total, started.elapsed().as_secs_f64()));
    }
    Ok(total)
}

/// The line a terminal gets at the end of a sweep.
fn summary(c: &Counts, seconds: f64) -> String {
    format!(
        "clear-expired: {} files scanned in {seconds:.1} s ({:.0}/s); removed {} expired sessions, {} temporary files, {} placeholders; {} failures, {} undecodable names",
        c.scanned,
        c.scanned as f64 / seconds.max(1e-6),
        c.expired_sessions,
        c.orphaned_temp_files,
        c.stale_placeholders,
        c.failures,
        c.undecodable_names
    )
}
