//! The storage directory through WASI 0.3 (`wasi:filesystem@0.3`, the `wasip3` crate):
//! the same calls as the WASI 0.2 one, but each is an async import, so while one waits on
//! the disk the host can run other calls into the same instance.

use super::{
    Contents, EntryStream, Name, Stat, Storage, before_reading, choose_preopen, error_kind, not_a_file, read_only,
    vanished,
};
use crate::expiry;
use std::io;
use wasip3::filesystem::preopens::get_directories;
use wasip3::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntry, ErrorCode, OpenFlags, PathFlags,
};
use wasip3::wit_bindgen::{FutureReader, StreamReader, StreamResult};

/// The storage directory: one WASI 0.3 descriptor, opened once per instance.
pub struct AsyncDir {
    fd: Descriptor,
    /// The path it was opened from, to list it through WASI 0.2 as well.
    path: String,
}

/// A streaming listing of the directory's file names.
pub enum AsyncEntries {
    /// Through WASI 0.3: the stream, and the future of how it ended (with an error, at a
    /// name that is not UTF-8).
    P3 {
        /// The entries.
        entries: StreamReader<DirectoryEntry>,
        /// Resolves to the listing's error, if it ended on one.
        end: Option<FutureReader<Result<(), ErrorCode>>>,
    },
    /// Through WASI 0.2, which reports a name that is not UTF-8 for that entry alone and
    /// carries on. Its calls block the instance while the host lists, so it is only the
    /// way past such a name.
    P2(super::Entries),
}

impl EntryStream for AsyncEntries {
    async fn next_name(&mut self) -> Option<io::Result<Name>> {
        let (entries, end) = match self {
            AsyncEntries::P2(entries) => return entries.next_name().await,
            AsyncEntries::P3 { entries, end } => (entries, end),
        };
        // Ended (at its end or at an error): reading the stream again would trap.
        end.as_ref()?;
        if let Some(entry) = entries.next().await {
            return Some(Ok(Name::Text(entry.name)));
        }
        match end.take()?.await {
            Ok(()) => None,
            Err(e) => Some(Err(to_io(e))),
        }
    }
}

fn to_io(code: ErrorCode) -> io::Error {
    io::Error::new(error_kind!(code, ErrorCode), format!("{code:?}"))
}

fn to_stat(stat: &DescriptorStat) -> Stat {
    Stat { is_file: matches!(stat.type_, DescriptorType::RegularFile), size: stat.size, mtime: mtime_of(stat) }
}

fn mtime_of(stat: &DescriptorStat) -> time::OffsetDateTime {
    let t = stat.data_modification_timestamp.map_or((0, 0), |t| (t.seconds, t.nanoseconds));
    expiry::from_unix(t.0, t.1)
}

impl AsyncDir {
    /// Opens `path` through the WASI 0.3 preopen that contains it (the longest match).
    pub async fn open(path: &str) -> io::Result<AsyncDir> {
        let (preopen, rest) = choose_preopen(path, get_directories())?;
        let path = path.to_owned();
        if rest.is_empty() {
            return Ok(AsyncDir { fd: preopen, path });
        }
        let fd = preopen
            .open_at(PathFlags::empty(), rest, OpenFlags::DIRECTORY, DescriptorFlags::READ)
            .await
            .map_err(to_io)?;
        Ok(AsyncDir { fd, path })
    }
}

impl AsyncDir {
    /// Opens `name` for reading without ever waiting on a FIFO, and tells what it is, as
    /// the WASI 0.2 `Dir` does (see `before_reading`).
    async fn open_to_read(&self, name: &str) -> io::Result<(Descriptor, Stat)> {
        let mut flags = DescriptorFlags::READ | DescriptorFlags::WRITE;
        let file = loop {
            match self.fd.open_at(PathFlags::empty(), name.to_owned(), OpenFlags::empty(), flags).await {
                Ok(file) => break file,
                Err(code) if flags.contains(DescriptorFlags::WRITE) && self.takes_no_writes(&code, name).await => {
                    before_reading(&Storage::stat(self, name).await?, u64::MAX)?;
                    flags = DescriptorFlags::READ;
                }
                // A symlink: opened without following links, it refuses with `loop`.
                Err(ErrorCode::Loop) => return Err(not_a_file()),
                // On a network filesystem a name another host renames over can fail to
                // resolve for a moment: found again at once, it was replaced, not removed.
                Err(ErrorCode::NoEntry) if flags.contains(DescriptorFlags::WRITE) => {
                    let e = to_io(ErrorCode::NoEntry);
                    return Err(if Storage::stat(self, name).await.is_ok() { vanished(e) } else { e });
                }
                // After the fallback's stat, a name gone at the open was replaced meanwhile.
                Err(code) if !flags.contains(DescriptorFlags::WRITE) => return Err(vanished(to_io(code))),
                Err(code) => return Err(to_io(code)),
            }
        };
        let stat = to_stat(&file.stat().await.map_err(to_io)?);
        Ok((file, stat))
    }

    /// Whether an open for writing failed with `code` because the directory takes no
    /// writes: a read-only preopen or mount (see `read_only!`).
    async fn takes_no_writes(&self, code: &ErrorCode, name: &str) -> bool {
        read_only!(code, ErrorCode)
            && matches!(self.fd.rename_at(name.to_owned(), &self.fd, name.to_owned()).await, Err(again) if read_only!(again, ErrorCode))
    }
}

impl Storage for AsyncDir {
    type Entries = AsyncEntries;

    async fn read(&self, name: &str, limit: u64) -> io::Result<Contents> {
        let (file, stat) = self.open_to_read(name).await?;
        if let Some(too_big) = before_reading(&stat, limit)? {
            return Ok(too_big);
        }
        let mtime = stat.mtime;
        let (mut data, done) = file.read_via_stream(0);
        // Room for one byte more than stat said, as in the WASI 0.2 read: a file that
        // changed since shows up as a longer or shorter read and is then read to its end,
        // never cut short. Each read is a hop to the host's blocking pool, so a
        // read that stops short at exactly the stated size ends it without another hop to
        // see the end of the stream.
        let mut bytes = Vec::with_capacity(stat.size as usize + 1);
        loop {
            if bytes.capacity() == bytes.len() {
                bytes.reserve(64 * 1024);
            }
            let room = bytes.capacity() - bytes.len();
            let (result, buf) = data.read(bytes).await;
            bytes = buf;
            if bytes.len() as u64 > limit {
                return Ok(Contents { bytes: None, mtime });
            }
            match result {
                StreamResult::Complete(n) if n < room && bytes.len() as u64 == stat.size => {
                    return Ok(Contents { bytes: Some(bytes), mtime });
                }
                StreamResult::Complete(_) => continue,
                StreamResult::Dropped | StreamResult::Cancelled => break,
            }
        }
        done.await.map_err(to_io)?;
        Ok(Contents { bytes: Some(bytes), mtime })
    }

    async fn stat(&self, name: &str) -> io::Result<Stat> {
        Ok(to_stat(&self.fd.stat_at(PathFlags::empty(), name.to_owned()).await.map_err(to_io)?))
    }

    /// Opens with `WRITE` only (no directory-mutation flag), as the WASI 0.2 one does.
    async fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .fd
            .open_at(
                PathFlags::empty(),
                name.to_owned(),
                OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                DescriptorFlags::WRITE,
            )
            .await
            .map_err(to_io)?;
        let (mut tx, rx) = wasip3::wit_stream::new::<u8>();
        let done = file.write_via_stream(rx, 0);
        let unsent = tx.write_all(bytes.to_vec()).await;
        drop(tx); // end of data: the host finishes the write
        let result = match done.await {
            Err(e) => Err(to_io(e)),
            Ok(()) if !unsent.is_empty() => Err(io::Error::new(io::ErrorKind::WriteZero, "short write")),
            Ok(()) => Ok(()),
        };
        if result.is_err() {
            drop(file);
            let _ = self.fd.unlink_file_at(name.to_owned()).await;
        }
        result
    }

    async fn link(&self, from: &str, to: &str) -> io::Result<()> {
        self.fd.link_at(PathFlags::empty(), from.to_owned(), &self.fd, to.to_owned()).await.map_err(to_io)
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.fd.rename_at(from.to_owned(), &self.fd, to.to_owned()).await.map_err(to_io)
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        self.fd.unlink_file_at(name.to_owned()).await.map_err(to_io)
    }

    async fn entries(&self) -> io::Result<AsyncEntries> {
        let (entries, end) = self.fd.read_directory();
        Ok(AsyncEntries::P3 { entries, end: Some(end) })
    }

    /// WASI 0.3 ends a listing at the first name that is not UTF-8, and so would every
    /// re-listing; WASI 0.2 (which this component imports too) goes past it.
    async fn entries_past_undecodable(&self) -> io::Result<AsyncEntries> {
        Ok(AsyncEntries::P2(super::Dir::open(&self.path)?.entries().await?))
    }

    async fn pause(&self, ms: u64) {
        wasip3::clocks::monotonic_clock::wait_for(ms.saturating_mul(1_000_000)).await;
    }
}
