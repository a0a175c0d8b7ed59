//! The storage directory: the few descriptor-level calls the store makes, and nothing
//! else touches the filesystem.
//!
//! On `wasm32` these are WASI 0.2 `wasi:filesystem` calls on a descriptor opened once per
//! instance (each path-based call costs a sandboxed resolution on the host, so the store
//! makes as few as it can); natively they are `std::fs` calls, so the same store runs in
//! unit tests and in the native benchmark. Names are plain file names, never paths.

use std::io;
use time::OffsetDateTime;

pub use imp::{Dir, Entries};

/// A file read whole, with its modification time.
pub struct Contents {
    /// The bytes, or `None` when the file is larger than the limit asked for.
    pub bytes: Option<Vec<u8>>,
    /// The modification time (the time of the last save).
    pub mtime: OffsetDateTime,
}

/// What `stat` tells about a name.
pub struct Stat {
    /// A regular file (not a directory, symlink, ...).
    pub is_file: bool,
    /// Size in bytes.
    pub size: u64,
    /// The modification time.
    pub mtime: OffsetDateTime,
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::{Contents, Stat};
    use crate::expiry;
    use std::fs::{self, File, OpenOptions};
    use std::io::{self, Read, Write};
    use std::path::PathBuf;

    /// The storage directory (native: a path).
    pub struct Dir {
        path: PathBuf,
    }

    /// A streaming listing of the directory's file names.
    pub struct Entries(fs::ReadDir);

    impl Iterator for Entries {
        type Item = io::Result<String>;
        fn next(&mut self) -> Option<io::Result<String>> {
            loop {
                match self.0.next()? {
                    Err(e) => return Some(Err(e)),
                    Ok(entry) => match entry.file_name().into_string() {
                        Ok(name) => return Some(Ok(name)),
                        Err(_) => continue, // not UTF-8: never one of ours
                    },
                }
            }
        }
    }

    fn mtime_of(meta: &fs::Metadata) -> io::Result<time::OffsetDateTime> {
        let d = meta.modified()?.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Ok(expiry::from_unix(d.as_secs() as i64, d.subsec_nanos()))
    }

    impl Dir {
        /// Opens `path`, which must be an existing directory.
        pub fn open(path: &str) -> io::Result<Dir> {
            if fs::metadata(path)?.is_dir() {
                Ok(Dir { path: PathBuf::from(path) })
            } else {
                Err(io::Error::new(io::ErrorKind::NotADirectory, "not a directory"))
            }
        }

        /// Reads a regular file whole (when at most `limit` bytes), without following a
        /// symlink in its place.
        pub fn read(&self, name: &str, limit: u64) -> io::Result<Contents> {
            let path = self.path.join(name);
            // Checked before opening: not a symlink, and not a FIFO (opening one blocks).
            if !fs::symlink_metadata(&path)?.is_file() {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "not a regular file"));
            }
            let mut file = File::open(&path)?;
            let meta = file.metadata()?;
            let mtime = mtime_of(&meta)?;
            if meta.len() > limit {
                return Ok(Contents { bytes: None, mtime });
            }
            let mut bytes = Vec::with_capacity(meta.len() as usize);
            Read::by_ref(&mut file).take(limit + 1).read_to_end(&mut bytes)?;
            let bytes = (bytes.len() as u64 <= limit).then_some(bytes);
            Ok(Contents { bytes, mtime })
        }

        /// `stat` without following symlinks.
        pub fn stat(&self, name: &str) -> io::Result<Stat> {
            let meta = fs::symlink_metadata(self.path.join(name))?;
            Ok(Stat { is_file: meta.is_file(), size: meta.len(), mtime: mtime_of(&meta)? })
        }

        /// Creates `name` exclusively (`O_CREAT|O_EXCL`) and writes `bytes` to it.
        pub fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            let path = self.path.join(name);
            let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
            if let Err(e) = file.write_all(bytes) {
                drop(file);
                let _ = fs::remove_file(&path);
                return Err(e);
            }
            Ok(())
        }

        /// Hard-links `from` to `to`; fails with `AlreadyExists` when `to` exists.
        pub fn link(&self, from: &str, to: &str) -> io::Result<()> {
            fs::hard_link(self.path.join(from), self.path.join(to))
        }

        /// Atomically renames `from` over `to`.
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            fs::rename(self.path.join(from), self.path.join(to))
        }

        /// Unlinks a file.
        pub fn remove(&self, name: &str) -> io::Result<()> {
            fs::remove_file(self.path.join(name))
        }

        /// Streams the names in the directory.
        pub fn entries(&self) -> io::Result<Entries> {
            Ok(Entries(fs::read_dir(&self.path)?))
        }
    }
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::{Contents, Stat};
    use crate::expiry;
    use std::io;
    use wasi::filesystem::preopens::get_directories;
    use wasi::filesystem::types::{
        Descriptor, DescriptorFlags, DescriptorStat, DescriptorType, DirectoryEntryStream,
        ErrorCode, OpenFlags, PathFlags,
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

    impl Iterator for Entries {
        type Item = io::Result<String>;
        fn next(&mut self) -> Option<io::Result<String>> {
            match self.stream.read_directory_entry() {
                Ok(Some(entry)) => Some(Ok(entry.name)),
                Ok(None) => None,
                Err(e) => Some(Err(to_io(e))),
            }
        }
    }

    fn to_io(code: ErrorCode) -> io::Error {
        use io::ErrorKind as K;
        let kind = match code {
            ErrorCode::NoEntry => K::NotFound,
            ErrorCode::Exist => K::AlreadyExists,
            ErrorCode::Access | ErrorCode::NotPermitted => K::PermissionDenied,
            ErrorCode::IsDirectory => K::IsADirectory,
            ErrorCode::NotDirectory => K::NotADirectory,
            ErrorCode::NameTooLong => K::InvalidFilename,
            ErrorCode::InsufficientSpace | ErrorCode::Quota => K::StorageFull,
            ErrorCode::ReadOnly => K::ReadOnlyFilesystem,
            ErrorCode::Unsupported => K::Unsupported,
            _ => K::Other,
        };
        io::Error::new(kind, code.message())
    }

    fn mtime_of(stat: &DescriptorStat) -> time::OffsetDateTime {
        let t = stat.data_modification_timestamp.unwrap_or(wasi::clocks::wall_clock::Datetime {
            seconds: 0,
            nanoseconds: 0,
        });
        expiry::from_unix(t.seconds as i64, t.nanoseconds)
    }

    /// Lexical normalisation: drops `.` components and repeated or trailing slashes.
    /// `..` is kept, so it can never match a preopen it would climb out of.
    fn components(path: &str) -> Vec<&str> {
        path.split('/').filter(|c| !c.is_empty() && *c != ".").collect()
    }

    impl Dir {
        /// Opens `path` through the WASI preopen that contains it (the longest match).
        pub fn open(path: &str) -> io::Result<Dir> {
            let want_abs = path.starts_with('/');
            let want = components(path);
            let mut best: Option<(usize, Descriptor)> = None;
            for (fd, name) in get_directories() {
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
            if rest.is_empty() {
                return Ok(Dir { fd: preopen });
            }
            let fd = preopen
                .open_at(PathFlags::empty(), &rest.join("/"), OpenFlags::DIRECTORY, DescriptorFlags::READ)
                .map_err(to_io)?;
            Ok(Dir { fd })
        }

        /// Reads a regular file whole (when at most `limit` bytes), without following a
        /// symlink in its place. The type is checked before opening, since opening a FIFO
        /// would block until a writer appears. Four host calls: stat, open, one read, close.
        pub fn read(&self, name: &str, limit: u64) -> io::Result<Contents> {
            let stat = self.fd.stat_at(PathFlags::empty(), name).map_err(to_io)?;
            if stat.type_ != DescriptorType::RegularFile {
                return Err(io::Error::new(io::ErrorKind::IsADirectory, "not a regular file"));
            }
            let mtime = mtime_of(&stat);
            if stat.size > limit {
                return Ok(Contents { bytes: None, mtime });
            }
            let file = self
                .fd
                .open_at(PathFlags::empty(), name, OpenFlags::empty(), DescriptorFlags::READ)
                .map_err(to_io)?;
            // Ask for one byte more than stat said: a file replaced since the stat (by a
            // rename) shows up as a longer or shorter read and is then read to its end,
            // never cut short. wasmtime-wasi hands out at most 64 KiB per read.
            let mut bytes = Vec::with_capacity(stat.size as usize + 1);
            loop {
                let want = (stat.size + 1).saturating_sub(bytes.len() as u64).clamp(1, 64 * 1024);
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

        /// `stat` without following symlinks.
        pub fn stat(&self, name: &str) -> io::Result<Stat> {
            let stat = self.fd.stat_at(PathFlags::empty(), name).map_err(to_io)?;
            Ok(Stat {
                is_file: stat.type_ == DescriptorType::RegularFile,
                size: stat.size,
                mtime: mtime_of(&stat),
            })
        }

        /// Creates `name` exclusively and writes `bytes` to it. Opens with `WRITE` only
        /// (no directory-mutation flag), which every WASI host accepts.
        pub fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
            let file = self
                .fd
                .open_at(
                    PathFlags::empty(),
                    name,
                    OpenFlags::CREATE | OpenFlags::EXCLUSIVE,
                    DescriptorFlags::WRITE,
                )
                .map_err(to_io)?;
            let mut written = 0usize;
            while written < bytes.len() {
                match file.write(&bytes[written..], written as u64) {
                    Ok(0) => {
                        drop(file);
                        let _ = self.remove(name);
                        return Err(io::Error::new(io::ErrorKind::WriteZero, "short write"));
                    }
                    Ok(n) => written += n as usize,
                    Err(e) => {
                        drop(file);
                        let _ = self.remove(name);
                        return Err(to_io(e));
                    }
                }
            }
            Ok(())
        }

        /// Hard-links `from` to `to`; fails with `AlreadyExists` when `to` exists.
        pub fn link(&self, from: &str, to: &str) -> io::Result<()> {
            self.fd.link_at(PathFlags::empty(), from, &self.fd, to).map_err(to_io)
        }

        /// Atomically renames `from` over `to`.
        pub fn rename(&self, from: &str, to: &str) -> io::Result<()> {
            self.fd.rename_at(from, &self.fd, to).map_err(to_io)
        }

        /// Unlinks a file.
        pub fn remove(&self, name: &str) -> io::Result<()> {
            self.fd.unlink_file_at(name).map_err(to_io)
        }

        /// Streams the names in the directory (through its own `open-at(".")` descriptor).
        pub fn entries(&self) -> io::Result<Entries> {
            let dir = self
                .fd
                .open_at(PathFlags::empty(), ".", OpenFlags::DIRECTORY, DescriptorFlags::READ)
                .map_err(to_io)?;
            let stream = dir.read_directory().map_err(to_io)?;
            Ok(Entries { stream, _dir: dir })
        }
    }
}

/// Whether an error means "there is no such file" (missing, or a name too long to exist).
pub fn is_absent(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::InvalidFilename)
}
