//! `clear_expired`: the sweep of the storage directory, in one call or in bounded steps.
//!
//! Django's `clear_expired` lists the whole directory and loads every session in it. This
//! one streams the listing, and its bounded form ([`FileStore::clear_expired_batch`])
//! examines at most `limit` entries per call and returns a cursor to continue from, in the
//! style of `wasi:keyvalue`'s `list-keys`, so a sweep of a large directory can be spread
//! over time with flat memory.
//!
//! The cursor is the count of entries the sweep has passed that are still there (entries
//! examined minus files removed), as `v1:<count>`. The instance that returned it keeps the
//! open listing and continues it; any other re-lists and skips that many entries, which
//! lands where the sweep stopped as long as the directory keeps its order.

use crate::dir::{self, EntryStream, Name, Storage};
use crate::error::{Error, Result};
use crate::expiry::{self, is_expired};
use crate::key;
use crate::session::ExpiredDeletion;
use crate::store::{FileStore, Found};
use std::io;
use time::OffsetDateTime;

/// Age after which `clear_expired` treats a temporary file as left by an interrupted save.
pub const TEMP_FILE_MAX_AGE: i64 = 60 * 60;

/// The cursor's tag: bump it if what the count means ever changes.
const CURSOR_TAG: &str = "v1:";

/// What `clear_expired` did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ClearReport {
    /// Files whose names start with the prefix.
    pub scanned: u64,
    /// Expired sessions deleted.
    pub expired_sessions: u64,
    /// Temporary files older than an hour deleted.
    pub orphaned_temp_files: u64,
    /// Empty placeholders older than the cookie age deleted.
    pub stale_placeholders: u64,
    /// Files that should have gone but could not be deleted.
    pub failures: u64,
    /// Entries whose names are not UTF-8 (never ours), skipped.
    pub undecodable_names: u64,
}

/// One bounded step of a sweep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClearBatch {
    /// What this step did.
    pub report: ClearReport,
    /// Where the next step continues; `None` when the sweep is done.
    pub cursor: Option<String>,
}

/// A sweep under way: its listing, and how many of the entries it passed are still there.
pub struct Sweep<E> {
    entries: E,
    position: u64,
    /// Whether `entries` is already the listing that goes past undecodable names.
    past_undecodable: bool,
}

impl<E: EntryStream> Sweep<E> {
    /// A listing of `dir` with the first `position` entries skipped.
    async fn open(dir: &impl Storage<Entries = E>, position: u64) -> io::Result<Sweep<E>> {
        let mut sweep = Sweep { entries: dir.entries().await?, position: 0, past_undecodable: false };
        while sweep.position < position && sweep.next(dir).await?.is_some() {
            sweep.position += 1;
        }
        Ok(sweep)
    }

    /// The next name. A listing that failed at an entry (a name it could not decode, or an
    /// entry removed or replaced while it was listed: wasmtime stats each entry as it lists,
    /// and WASI 0.3 ends its stream at the first failure) is replaced by one that goes past
    /// failing entries, skipped to where this one was. There an entry that fails is nothing
    /// to sweep now, and is passed.
    async fn next(&mut self, dir: &impl Storage<Entries = E>) -> io::Result<Option<Name>> {
        loop {
            match self.entries.next_name().await.transpose() {
                Err(_) if !self.past_undecodable => {
                    self.entries = dir.entries_past_undecodable().await?;
                    self.past_undecodable = true;
                    let mut skipped = 0;
                    while skipped < self.position {
                        match self.entries.next_name().await {
                            None => return Ok(None),
                            Some(Ok(_)) => skipped += 1,
                            Some(Err(_)) => {}
                        }
                    }
                }
                Err(_) => {}
                other => return other,
            }
        }
    }
}

impl<D: Storage> ExpiredDeletion for FileStore<D> {
    /// `clear_expired()`: deletes expired sessions without creating any, plus temporary
    /// files older than an hour and empty placeholders older than the cookie age (which
    /// Django leaves forever). Files it cannot read or delete, and names that are not
    /// UTF-8, are counted and skipped.
    async fn clear_expired(&self) -> Result<ClearReport> {
        let mut sweep = Sweep::open(&self.dir, 0).await.map_err(|e| self.cannot_list(&e))?;
        let mut report = ClearReport::default();
        self.sweep_some(&mut sweep, u64::MAX, false, &mut report).await?;
        Ok(report)
    }

    /// One bounded step of `clear_expired`: examines at most `limit` (at least 1) entries
    /// from `cursor` (`None`: the start). With `dry_run` nothing is removed and the report
    /// counts what would have been.
    async fn clear_expired_batch(&self, cursor: Option<&str>, limit: u32, dry_run: bool) -> Result<ClearBatch> {
        if limit == 0 {
            return Err(Error::InvalidValue("the batch limit must be at least 1".into()));
        }
        let start = cursor.map(parse_cursor).transpose()?;
        // Taken out, not borrowed: an async sweep racing this one re-lists instead.
        let kept = self.sweep.take().filter(|s| Some(s.position) == start);
        let mut sweep = match kept {
            Some(sweep) => sweep,
            None => Sweep::open(&self.dir, start.unwrap_or(0)).await.map_err(|e| self.cannot_list(&e))?,
        };
        let mut report = ClearReport::default();
        if self.sweep_some(&mut sweep, limit.into(), dry_run, &mut report).await? {
            return Ok(ClearBatch { report, cursor: None });
        }
        let cursor = format!("{CURSOR_TAG}{}", sweep.position);
        self.sweep.replace(Some(sweep));
        Ok(ClearBatch { report, cursor: Some(cursor) })
    }
}

impl<D: Storage> FileStore<D> {
    fn cannot_list(&self, e: &io::Error) -> Error {
        Error::io("cannot list", self.storage_path(), e)
    }

    /// Examines up to `limit` entries; `true` when the listing ended.
    async fn sweep_some(
        &self,
        sweep: &mut Sweep<D::Entries>,
        limit: u64,
        dry_run: bool,
        report: &mut ClearReport,
    ) -> Result<bool> {
        let now = expiry::now();
        for _ in 0..limit {
            let gone = match sweep.next(&self.dir).await.map_err(|e| self.cannot_list(&e))? {
                None => return Ok(true),
                Some(Name::Undecodable) => {
                    report.undecodable_names += 1;
                    false
                }
                Some(Name::Text(name)) => self.sweep_one(&name, now, dry_run, report).await,
            };
            if !gone {
                sweep.position += 1;
            }
        }
        Ok(false)
    }

    /// Sweeps one entry: counts it, removes it if stale. `true` when it is gone.
    async fn sweep_one(&self, name: &str, now: OffsetDateTime, dry_run: bool, report: &mut ClearReport) -> bool {
        let Some(rest) = name.strip_prefix(self.settings.cookie_name.as_str()) else { return false };
        report.scanned += 1;
        let Some(count) = self.staleness(name, rest, now, report).await else { return false };
        if dry_run {
            *count += 1;
            return false;
        }
        match self.dir.remove(name).await {
            Ok(()) => {
                *count += 1;
                true
            }
            Err(e) if dir::is_absent(&e) => true, // someone else got there first
            Err(_) => {
                report.failures += 1;
                false
            }
        }
    }

    /// The count a file belongs to if it is stale, `None` if it stays.
    async fn staleness<'r>(
        &self,
        name: &str,
        rest: &str,
        now: OffsetDateTime,
        report: &'r mut ClearReport,
    ) -> Option<&'r mut u64> {
        if is_temp_name(rest) {
            return match self.dir.stat(name).await {
                Ok(s) if s.is_file && is_expired(None, s.mtime, now, TEMP_FILE_MAX_AGE) => {
                    Some(&mut report.orphaned_temp_files)
                }
                _ => None,
            };
        }
        if !key::has_valid_chars(rest) || rest.chars().count() < 8 {
            return None; // not a name this store writes: uppercase, too short, ...
        }
        // A file that cannot be read is left alone: it may be live. What expired less than
        // SESSION_FILE_CLOCK_SKEW ago stays too: another host may still find it live.
        match self.find(name, now).await {
            Ok(Found::Expired { removable: true }) => Some(&mut report.expired_sessions),
            Ok(Found::Placeholder { mtime })
                if is_expired(None, mtime, self.settled(now), self.settings.cookie_age) =>
            {
                Some(&mut report.stale_placeholders)
            }
            _ => None,
        }
    }
}

/// The position a cursor names.
fn parse_cursor(text: &str) -> Result<u64> {
    text.strip_prefix(CURSOR_TAG)
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| {
            let shown: String = text.chars().take(40).collect();
            Error::InvalidValue(format!("{shown:?} is not a clear-expired-batch cursor (they look like \"v1:123\")"))
        })
}

/// Whether `rest` (a name after the prefix) is a temporary file of a save:
/// `<key>_out_<8 chars from [a-z0-9_]>`.
fn is_temp_name(rest: &str) -> bool {
    let Some(cut) = rest.len().checked_sub(13) else { return false };
    let (key_part, tail) = rest.split_at_checked(cut).unwrap_or(("", ""));
    key::has_valid_chars(key_part)
        && tail.starts_with("_out_")
        && tail[5..].bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    //! The sweep natively, on a real temporary directory (the wasmtime tests in
    //! `host-tests/` cover the same paths through both components).
    use super::*;
    use crate::run_sync;
    use crate::settings::Settings;
    use serde_json::json;
    use std::path::Path;

    fn store(dir: &Path) -> FileStore {
        let vars = [("SECRET_KEY", "unit-test-secret"), ("SESSION_FILE_PATH", dir.to_str().unwrap())];
        FileStore::new(Settings::from_vars(vars.map(|(k, v)| (k.to_owned(), v.to_owned()))).unwrap()).unwrap()
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        v.sort();
        v
    }

    fn write(dir: &Path, name: &str, body: &str, seconds_ago: u64) {
        let path = dir.join(name);
        std::fs::write(&path, body).unwrap();
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
        std::fs::File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
    }

    const OLD: u64 = 15 * 24 * 3600;

    /// One file of every kind the sweep tells apart; 5 of the 9 go.
    fn populate(dir: &Path, st: &FileStore) {
        let live = st.encode(&json!({"a": 1})).unwrap();
        write(dir, "sessionidlive0000000000", &live, 10);
        write(dir, "sessioniddead0000000000", &live, OLD);
        write(dir, "sessionidgarbage00000000", "\u{e9}not ascii", OLD);
        write(dir, "sessionidplaceholder00000", "", OLD);
        write(dir, "sessionidfreshplace00000", "", 10);
        write(dir, "sessionidlive0000000000_out_ab_cd_ef", &live, 2 * 3600);
        write(dir, "sessionidlive0000000000_out_abcdefgh", &live, 60);
        write(dir, "sessionidUPPERCASE000000", &live, OLD);
        write(dir, "unrelated.txt", "x", OLD);
    }

    const SURVIVORS: [&str; 5] = [
        "sessionidUPPERCASE000000",
        "sessionidfreshplace00000",
        "sessionidlive0000000000",
        "sessionidlive0000000000_out_abcdefgh",
        "unrelated.txt",
    ];

    const FULL: ClearReport = ClearReport {
        scanned: 8,
        expired_sessions: 2,
        orphaned_temp_files: 1,
        stale_placeholders: 1,
        failures: 0,
        undecodable_names: 0,
    };

    fn add(a: &mut ClearReport, b: &ClearReport) {
        a.scanned += b.scanned;
        a.expired_sessions += b.expired_sessions;
        a.orphaned_temp_files += b.orphaned_temp_files;
        a.stale_placeholders += b.stale_placeholders;
        a.failures += b.failures;
        a.undecodable_names += b.undecodable_names;
    }

    /// Runs a sweep from `None` to `None` in steps of `limit`, each on the store `each`
    /// gives; returns the summed report and the number of steps.
    fn sweep(mut each: impl FnMut() -> std::rc::Rc<FileStore>, limit: u32, dry_run: bool) -> (ClearReport, usize) {
        let (mut total, mut cursor, mut steps) = (ClearReport::default(), None::<String>, 0);
        loop {
            let batch = run_sync(each().clear_expired_batch(cursor.as_deref(), limit, dry_run)).unwrap();
            add(&mut total, &batch.report);
            steps += 1;
            match batch.cursor {
                None => return (total, steps),
                Some(c) => cursor = Some(c),
            }
        }
    }

    #[test]
    fn clear_expired_counts_and_never_creates() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        populate(dir.path(), &st);
        assert_eq!(run_sync(st.clear_expired()).unwrap(), FULL);
        assert_eq!(names(dir.path()), SURVIVORS);
    }

    #[test]
    fn batches_add_up_to_one_sweep_in_one_instance_or_many() {
        for limit in [1, 2, 4, 9, 10, 1000] {
            let dir = tempfile::tempdir().unwrap();
            let st = std::rc::Rc::new(store(dir.path()));
            populate(dir.path(), &st);
            let (total, steps) = sweep(|| st.clone(), limit, false);
            assert_eq!(total, FULL, "limit {limit}");
            assert_eq!(steps, 9 / limit as usize + 1, "limit {limit}");
            assert_eq!(names(dir.path()), SURVIVORS, "limit {limit}");
            // Resumed by a new store (a new instance) at every step: re-lists and skips.
            let dir = tempfile::tempdir().unwrap();
            populate(dir.path(), &st);
            let (total, _) = sweep(|| std::rc::Rc::new(store(dir.path())), limit, false);
            assert_eq!(total, FULL, "limit {limit}, a new store per step");
            assert_eq!(names(dir.path()), SURVIVORS, "limit {limit}, a new store per step");
        }
    }

    #[test]
    fn a_dry_run_counts_what_would_go_and_removes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let st = std::rc::Rc::new(store(dir.path()));
        populate(dir.path(), &st);
        let before = names(dir.path());
        for limit in [1, 3, 100] {
            assert_eq!(sweep(|| st.clone(), limit, true).0, FULL, "limit {limit}");
            assert_eq!(names(dir.path()), before);
        }
        assert_eq!(run_sync(st.clear_expired()).unwrap(), FULL, "the dry runs left it all to do");
    }

    #[test]
    fn bad_cursors_and_a_zero_limit_are_invalid_values() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path());
        for bad in ["", "v1:", "v1:-1", "v1:+1", "v1: 1", "v1:1x", "v2:1", "1", "v1:99999999999999999999999"] {
            match run_sync(st.clear_expired_batch(Some(bad), 10, false)) {
                Err(Error::InvalidValue(msg)) => assert!(msg.contains("cursor"), "{msg}"),
                other => panic!("{bad:?}: {other:?}"),
            }
        }
        assert!(matches!(run_sync(st.clear_expired_batch(None, 0, false)), Err(Error::InvalidValue(_))));
        // A cursor past the end is a finished sweep, not an error.
        let batch = run_sync(st.clear_expired_batch(Some("v1:5"), 10, false)).unwrap();
        assert_eq!(batch, ClearBatch { report: ClearReport::default(), cursor: None });
    }

    #[test]
    fn names_that_are_not_utf8_are_counted_and_passed() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let st = std::rc::Rc::new(store(dir.path()));
        populate(dir.path(), &st);
        for raw in [&b"sessionid\xff\xfe00000000"[..], b"\xe9t\xe9"] {
            std::fs::write(dir.path().join(std::ffi::OsStr::from_bytes(raw)), "x").unwrap();
        }
        let want = ClearReport { undecodable_names: 2, ..FULL };
        assert_eq!(sweep(|| st.clone(), 2, true).0, want);
        assert_eq!(run_sync(st.clear_expired()).unwrap(), want);
        assert_eq!(names(dir.path()).len(), SURVIVORS.len() + 2, "the undecodable names stay");
    }

    #[test]
    fn temp_names_are_recognised() {
        assert!(is_temp_name("abcdefgh_out_a_b_c_d_"));
        assert!(is_temp_name("zkys8vn2suah97ftjf8bxdo447da63jt_out_g2rdo8p1"));
        assert!(!is_temp_name("abcdefgh_out_ABCDEFGH"));
        assert!(!is_temp_name("abcdefgh"));
        assert!(!is_temp_name("_out_abcdefg"));
        assert!(!is_temp_name("ab/defgh_out_abcdefgh"));
    }
}
