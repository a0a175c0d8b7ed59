//! The storage directory natively: `std::fs` on a path. Every future is ready at once.

use super::{Contents, EntryStream, Name, Stat, Storage, not_a_file, vanished};
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

impl EntryStream for Entries {
    async fn next_name(&mut self) -> Option<io::Result<Name>> {
        Some(self.0.next()?.map(|entry| entry.file_name().into_string().map_or(Name::Undecodable, Name::Text)))
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
}

impl Storage for Dir {
    type Entries = Entries;

    async fn read(&self, name: &str, limit: u64) -> io::Result<Contents> {
        let path = self.path.join(name);
        // Checked before opening: not a symlink, and not a FIFO (opening one blocks).
        if !fs::symlink_metadata(&path)?.is_file() {
            return Err(not_a_file());
        }
        let mut file = File::open(&path).map_err(vanished)?;
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

    async fn stat(&self, name: &str) -> io::Result<Stat> {
        let meta = fs::symlink_metadata(self.path.join(name))?;
        Ok(Stat { is_file: meta.is_file(), size: meta.len(), mtime: mtime_of(&meta)? })
    }

    async fn write_new(&self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let path = self.path.join(name);
        let mut file = OpenOptions::new().write(true).create_new(true).open(&path)?;
        if let Err(e) = file.write_all(bytes) {
            drop(file);
            let _ = fs::remove_file(&path);
            return Err(e);
        }
        Ok(())
    }

    async fn link(&self, from: &str, to: &str) -> io::Result<()> {
        fs::hard_link(self.path.join(from), self.path.join(to))
    }

    async fn rename(&self, from: &str, to: &str) -> io::Result<()> {
        fs::rename(self.path.join(from), self.path.join(to))
    }

    async fn remove(&self, name: &str) -> io::Result<()> {
        fs::remove_file(self.path.join(name))
    }

    async fn entries(&self) -> io::Result<Entries> {
        Ok(Entries(fs::read_dir(&self.path)?))
    }

    async fn pause(&self, ms: u64) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}
