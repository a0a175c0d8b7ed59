//! The storage directory through WASI 0.2 (`wasi:filesystem@0.2`): one descriptor opened
//! once per instance, every call relative to it. Every future is ready at once.

use super::{
    Contents, EntryStream, Name, Stat, Storage, before_reading, choose_preopen, error_kind, not_a_file, read_only,
    vanished,
};
use crate::expiry;
use std::io;
use wasi::filesystem::preopens::get_directories;
use wasi::filesystem::types::{
    Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntryStream, ErrorCode, OpenFlags, PathFlags,
};

/// The storage directory: one descriptor, opened once per instance.
pub struct Dir {
    /// The directory itself: every file call is made relative to it.
    fd: Descriptor,
}

/// A streaming listing of the directory's file names.
pub struct Entries {
    stream: DirectoryEntryStream,
    // Keeps the listing's own descriptor open while streaming.
    _dir: Descriptor,
}

impl EntryStream for Entries {
    async fn next_name(&mut self) -> Option<io::Result<Name>> {
        match self.stream.read_directory_entry() {
            Ok(Some(entry)) => Some(Ok(Name::Text(entry.name))),
            Ok(None) => None,
            // Reported for that entry alone; the stream carries on after it.
            Err(ErrorCode::IllegalByteSequence) => Some(Ok(Name::Undecodable)),
            Err(e) => Some(Err(to_io(e))),
        }
    }
}

fn to_io(code: ErrorCode) -> io::Error {
    io::Error::new(error_kind!(code, ErrorCode), code.message())
}

fn to_stat(stat: &DescriptorStat) -> Stat {
    Stat { is_file: stat.type_ == DescriptorType::RegularFile, size: stat.size, mtime: mtime_of(stat) }
}

fn mtime_of(stat: &DescriptorStat) -> time::OffsetDateTime {
    let t = stat.data_modification_timestamp.map_or((0, 0), |t| (t.seconds, t.nanoseconds));
    expiry::from_unix(t.0 as i64, t.1)
}

impl Dir {
    /// Opens `path` through the WASI preopen that contains it (the longest match).
    pub fn open(path: &str) -> io::Result<Dir> {
        let (preopen, rest) = choose_preopen(path, get_directories())?;
        if rest.is_empty() {
            return Ok(Dir { fd: preopen });
        }
        let fd =
            preopen.open_at(PathFlags::empty(), &rest, OpenFlags::DIRECTORY, DescriptorFlags::READ).map_err(to_io)?;
        Ok(Dir { fd })
    }
}

impl Dir {
    /// Opens `name` for reading without ever waiting on a FIFO, and tells what it is (see
    /// `before_reading`): for reading and writing, and where writing is refused, after
    /// checking its type.
    async fn open_to_read(&self, name: &str) -> io::Result<(Descriptor, Stat)> {
        let mut flags = DescriptorFlags::READ | DescriptorFlags::WRITE;
        let file = loop {
            match self.fd.open_at(PathFlags::empty(), name, OpenFlags::empty(), flags) {
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
        let stat = to_stat(&file.stat().map_err(to_io)?);
        Ok((file, stat))
    }

    /// Whether an open for writing failed with `code` because the directory takes no
    /// writes: a read-only preopen or mount (see `read_only!`).
    async fn takes_no_writes(&self, code: &ErrorCode, name: &str) -> bool {
        read_only!(code, ErrorCode)
            && matches!(self.fd.rename_at(name, &self.fd, name), Err(again) if read_only!(again, ErrorCode))
    }
}

impl Storage for Dir {
    type Entries = Entries;

    /// Four host calls: open, stat of the descriptor, one read, close.
    async fn read(&self, name: &str, limit: u64) -> io::Result<Contents> {
        let (file, stat) = self.open_to_read(name).await?;
        if let Some(too_big) = before_reading(&stat, limit)? {
            return Ok(too_big);
        }
        let mtime = stat.mtime;
        // Ask for one byte more than stat said: a file that changed since (grown, or
        // renamed over the name before a fallback open) shows up as a longer or shorter
        // read and is then read to its end, never cut short. Past the stated size, read in
        // large chunks. wasmtime-wasi hands out at most 64 KiB per read.
        const CHUNK: u64 = 64 * 1024;
        let mut bytes = Vec::with_capacity(stat.size as usize + 1);
        loop {
            let want = match (stat.size + 1).saturating_sub(bytes.len() as u64) {
                0 => CHUNK,
                left => left.min(CHUNK),
            };
            let (chunk, _) = file.read(want, bytes.len() as u64).map_err(to_io)?;
            if chunk.is_empty() {
                break;
            }
            let short = (chunk.len() as u64) < want;
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Ok(Contents { bytes: None, mtime });
            }
            if short && bytes.len() as u64 == stat.size {
                break; // all of it, as stat said: no extra call to see the end
            }
        }
        Ok(Contents { bytes: Some(bytes), mtime })
    }

    async fn stat(&self, name: &str) -> io::Result<Stat> {
        Ok(to_stat(&self.fd.stat_at(PathFlags::empty(), name).map_err(to_io)?))
    }

    /// Opens with `WRITE` only (no directory-mutation flag), which every WASI host accepts.
    async fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let file = self
            .fd
            .open_at(PathFlags::empty(), name, OpenFlags::CREATE | OpenFlags::EXCLUSIVE, DescriptorFlags::WRITE)
            .map_err(to_io)?;
        let mut written = 0usize;
        while written < bytes.len() {
            let error = match file.write(&bytes[written..], written as u64) {
                Ok(0) => io::Error::new(io::ErrorKind::WriteZero, "short write"),
                Ok(n) => {
                    written += n as usize;
                    continue;
                }
                Err(e) => to_io(e),
            };
            drop(file);
            let _ = self.fd.unlink_file_at(name);
            return Err(error);
        }
        Ok(())
    }

    async fn link(&self, from: &str, to: &str) -> io::Result<()> {
        self.fd.link_at(PathFlags::empty(), from, &self.fd, to).map_err(to_io)
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        self.fd.rename_at(from, &self.fd, to).map_err(to_io)
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        self.fd.unlink_file_at(name).map_err(to_io)
    }

    /// Lists through its own `open-at(".")` descriptor: jco's shim refuses to list a
    /// preopen descriptor itself.
    async fn entries(&self) -> io::Result<Entries> {
        let dir =
            self.fd.open_at(PathFlags::empty(), ".", OpenFlags::DIRECTORY, DescriptorFlags::READ).map_err(to_io)?;
        let stream = dir.read_directory().map_err(to_io)?;
        Ok(Entries { stream, _dir: dir })
    }

    async fn pause(&self, ms: u64) {
        wasi::clocks::monotonic_clock::subscribe_duration(ms.saturating_mul(1_000_000)).block();
    }
}
