//! The storage directory: the few descriptor-level calls the store makes, and nothing
//! else touches the filesystem.
//!
//! [`Storage`] is what the store needs: read a file whole, stat, create-exclusive and
//! write, link, rename, unlink, list, and a pause between retries. Three implementations,
//! chosen at build time:
//!
//! * natively, `std::fs` ([`Dir`]), so the same store runs in unit tests and in the native
//!   benchmark;
//! * on `wasm32`, WASI 0.2 `wasi:filesystem` calls on a descriptor opened once per
//!   instance ([`Dir`]; each path-based call costs a sandboxed resolution on the host, so
//!   the store makes as few as it can);
//! * in the async component (feature `async`), the same calls through WASI 0.3
//!   (`AsyncDir`), whose futures let the host run other calls while one waits.
//!
//! The first two answer at once: their futures are ready on the first poll, which is what
//! [`run_sync`](crate::run_sync) relies on. Names are plain file names, never paths.

use std::io;
use time::OffsetDateTime;

#[cfg(not(target_arch = "wasm32"))]
mod native;
#[cfg(not(target_arch = "wasm32"))]
pub use native::{Dir, Entries};

#[cfg(target_arch = "wasm32")]
mod wasi_p2;
#[cfg(target_arch = "wasm32")]
pub use wasi_p2::{Dir, Entries};

#[cfg(all(target_arch = "wasm32", feature = "async"))]
mod wasi_p3;
#[cfg(all(target_arch = "wasm32", feature = "async"))]
pub use wasi_p3::AsyncDir;

/// A file read whole, with its modification time.
pub struct Contents {
    /// The bytes, or `None` when the file is larger than the limit asked for.
    pub bytes: Option<Vec<u8>>,
    /// The modification time (the time of the last save).
    pub mtime: OffsetDateTime,
}

/// What `stat` tells about a name.
pub struct Stat {
    /// A regular file (not a directory, symlink, FIFO, ...).
    pub is_file: bool,
    /// Size in bytes.
    pub size: u64,
    /// The modification time.
    pub mtime: OffsetDateTime,
}

/// The calls the store makes on its directory. Symlinks are never followed.
#[allow(async_fn_in_trait)] // one thread per instance: no `Send` bound wanted
pub trait Storage {
    /// A streaming listing.
    type Entries: EntryStream;

    /// Reads a regular file whole (when at most `limit` bytes); anything else is an error,
    /// and a symlink is not followed. Opening a FIFO for reading would wait for a writer:
    /// the WASI implementations open in a way that does not (see `before_reading`).
    async fn read(&self, name: &str, limit: u64) -> io::Result<Contents>;
    /// `stat` without following symlinks.
    async fn stat(&self, name: &str) -> io::Result<Stat>;
    /// Creates `name` exclusively (`O_CREAT|O_EXCL`) and writes `bytes` to it; on a failed
    /// write the file is removed again.
    async fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()>;
    /// Hard-links `from` to `to`; fails with `AlreadyExists` when `to` exists.
    async fn link(&self, from: &str, to: &str) -> io::Result<()>;
    /// Atomically renames `from` over `to`.
    async fn rename(&self, from: &str, to: &str) -> io::Result<()>;
    /// Unlinks a file.
    async fn remove(&self, name: &str) -> io::Result<()>;
    /// Streams the names in the directory (never all held at once).
    async fn entries(&self) -> io::Result<Self::Entries>;
    /// Waits `ms` milliseconds: the pause before retrying a call that failed with an error
    /// that may pass.
    async fn pause(&self, ms: u64);
    /// A listing that reports every name that is not UTF-8 as [`Name::Undecodable`] and
    /// carries on past entries that fail: what a sweep re-lists with when
    /// [`entries`](Self::entries) stopped at such a name (an error for which
    /// [`is_undecodable`] holds) or at an entry removed while it was listed. Only the WASI
    /// 0.3 listing stops there; the others already carry on, so by default this is
    /// `entries`.
    async fn entries_past_undecodable(&self) -> io::Result<Self::Entries> {
        self.entries().await
    }
}

/// A name from a directory listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// A name in UTF-8.
    Text(String),
    /// A name that is not valid UTF-8: never one of ours (Django and this store write
    /// ASCII names), and one WIT strings cannot carry.
    Undecodable,
}

/// A directory listing, one name at a time.
#[allow(async_fn_in_trait)]
pub trait EntryStream {
    /// The next name, `None` at the end. After an error the listing goes on over WASI 0.2
    /// and natively; over WASI 0.3 it has ended, and the next call returns `None`.
    async fn next_name(&mut self) -> Option<io::Result<Name>>;
}

/// Whether a listing's error says it stopped at a name that is not UTF-8 (WASI 0.3 ends
/// its stream there, WASI 0.2 reports it per entry): the rest of the directory is reached
/// through [`Storage::entries_past_undecodable`].
pub fn is_undecodable(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::InvalidData
}

/// What `read` decides from the type and size of what it opened (the WASI reads share
/// it): anything but a regular file is an error; a file over `limit` gives `Some`
/// contents without bytes, and is never read.
///
/// The WASI reads open a file for reading *and writing* (and never write): on Linux such
/// an open of a FIFO does not wait for a writer, where an open for reading alone would,
/// and then the descriptor's own type is checked. WASI has no non-blocking open, and
/// checking the name's type before opening it for reading leaves a window in which a FIFO
/// renamed over the file blocks the open, and the host thread under it, until a writer
/// comes (issue 13). Only where the directory takes no writes at all (a read-only preopen
/// or mount: `read_only!`) do they check the name first and open it for reading, with
/// that window. (The native `Dir`, for tests and the benchmark, checks the name first.)
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn before_reading(stat: &Stat, limit: u64) -> io::Result<Option<Contents>> {
    if !stat.is_file {
        return Err(not_a_file());
    }
    Ok((stat.size > limit).then_some(Contents { bytes: None, mtime: stat.mtime }))
}

/// Whether a WASI error is what a directory that takes no writes gives: `not-permitted`
/// from a read-only preopen (wasmtime refuses before the system sees the call), and from a
/// read-only mount `read-only` (jco) or `io` (wasmtime-wasi has no code for `EROFS`).
/// Other things give the same codes (`EPERM` for an immutable file, `ETXTBSY` for a file
/// being run, `EIO`), and whoever can write to the directory can plant those, so the reads
/// ask again with a call only the directory can refuse: renaming the name onto itself,
/// which changes nothing and succeeds wherever writes are allowed (even in a directory the
/// user may not write). `access` (`EACCES`, a file of mode 0444, say) is never one: a file
/// the host's user may not write reads as missing rather than bring the window back.
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_macros))]
macro_rules! read_only {
    ($code:expr, $E:ident) => {
        matches!($code, $E::NotPermitted | $E::ReadOnly | $E::Io)
    };
}
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
use read_only;

/// Lexical normalisation: drops `.` components and repeated or trailing slashes.
/// `..` is kept, so it can never match a preopen it would climb out of.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn components(path: &str) -> Vec<&str> {
    path.split('/').filter(|c| !c.is_empty() && *c != ".").collect()
}

/// Picks the preopen that contains `path` (the longest match) and what is left of the
/// path below it, which must not climb with `..`. Shared by the WASI 0.2 and 0.3 opens.
#[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
fn choose_preopen<D>(path: &str, preopens: impl IntoIterator<Item = (D, String)>) -> io::Result<(D, String)> {
    let want_abs = path.starts_with('/');
    let want = components(path);
    let mut best: Option<(usize, D)> = None;
    for (fd, name) in preopens {
        let have = components(&name);
        if name.starts_with('/') != want_abs || !want.starts_with(&have) {
            continue;
        }
        if best.as_ref().is_none_or(|(len, _)| have.len() > *len) {
            best = Some((have.len(), fd));
        }
    }
    let Some((depth, preopen)) = best else {
        return Err(io::Error::new(io::ErrorKind::NotFound, "no WASI preopen contains it"));
    };
    let rest = &want[depth..];
    if rest.contains(&"..") {
        return Err(io::Error::new(io::ErrorKind::InvalidInput, "`..` below a preopen"));
    }
    Ok((preopen, rest.join("/")))
}

/// The `io::ErrorKind` for a WASI `error-code` (0.2 and 0.3 share the names).
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_macros))]
macro_rules! error_kind {
    ($code:expr, $E:ident) => {{
        use std::io::ErrorKind as K;
        match $code {
            $E::NoEntry => K::NotFound,
            $E::Exist => K::AlreadyExists,
            $E::Access | $E::NotPermitted => K::PermissionDenied,
            $E::IsDirectory => K::IsADirectory,
            $E::NotDirectory => K::NotADirectory,
            $E::NameTooLong => K::InvalidFilename,
            $E::InsufficientSpace | $E::Quota => K::StorageFull,
            $E::ReadOnly => K::ReadOnlyFilesystem,
            $E::Unsupported => K::Unsupported,
            $E::IllegalByteSequence => K::InvalidData,
            _ => K::Other,
        }
    }};
}
#[cfg_attr(not(target_arch = "wasm32"), allow(unused_imports))]
use error_kind;

/// Whether an error means "there is no such file" (missing, or a name too long to exist).
pub fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::InvalidFilename)
}

/// The error `read` gives for a name that is not a regular file (a directory, a symlink,
/// a FIFO, ...).
fn not_a_file() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "not a regular file")
}

/// Whether an error is `read`'s "not a regular file".
pub fn is_not_a_file(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::IsADirectory
}

/// What `read` reports when the file its stat found is gone at the open: not "no such
/// file", since on a network filesystem the name can fail to resolve for a moment while
/// another host renames over it (a retry then finds it, or finds it really gone).
pub(crate) fn vanished(e: io::Error) -> io::Error {
    if is_absent(&e) { io::Error::new(io::ErrorKind::Interrupted, format!("replaced while opening: {e}")) } else { e }
}
