//! The secret a command signs with: `SECRET_KEY` from the environment, else the one kept in
//! `DIR/.secret-key`, generated for a directory that holds no sessions yet.
//!
//! The file is trusted only as far as a private key file can be: opened without following
//! a link and without blocking (a FIFO would hang the command), it must be a regular file
//! owned by this user, readable by no one else, and at most 1 KiB. Anything else is an
//! error that names the file, never a silent fallback.

use crate::failure::misconfigured;
use file_sessions_host::HostError;
use rustix::fs::{AtFlags, FileType, Mode, OFlags};
use rustix::io::Errno;
use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::path::Path;

/// The file's name in the session directory.
const NAME: &str = ".secret-key";

/// The largest secret file read.
const MAX_BYTES: u64 = 1024;

/// `SECRET_KEY`, or the secret kept in `dir`.
pub fn secret_key(dir: &Path) -> Result<String, HostError> {
    match std::env::var_os("SECRET_KEY") {
        Some(value) if !value.is_empty() => value
            .into_string()
            .map_err(|_| misconfigured("The SECRET_KEY setting is not valid UTF-8 (it is signed with as text)".into())),
        _ => stored(dir),
    }
}

/// The secret in `dir/.secret-key`, generated when the file is missing and the directory
/// holds no sessions. Generated into a temporary file and hard-linked into place, so
/// concurrent first runs agree on one secret.
fn stored(dir: &Path) -> Result<String, HostError> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    let fd = rustix::fs::open(dir, flags, Mode::empty()).map_err(|e| HostError::io("cannot open", dir, e.into()))?;
    let path = dir.join(NAME);
    for _ in 0..10 {
        if let Some(secret) = read(&fd, &path)? {
            return Ok(secret);
        }
        refuse_if_sessions(dir)?;
        if let Some(secret) = generate(&fd, &path)? {
            return Ok(secret);
        }
        // Another process linked its secret first: read that one.
    }
    Err(refused(&path, "keeps appearing and disappearing"))
}

/// The secret in the file, `None` when there is none, an error when it is not a private
/// key file.
fn read(dir: &OwnedFd, path: &Path) -> Result<Option<String>, HostError> {
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = match rustix::fs::openat(dir, NAME, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => return Err(refused(path, "is a symbolic link")),
        Err(e) => return Err(HostError::io("cannot open", path, e.into())),
    };
    let stat = rustix::fs::fstat(&fd).map_err(|e| HostError::io("cannot stat", path, e.into()))?;
    let me = rustix::process::geteuid().as_raw();
    if FileType::from_raw_mode(stat.st_mode) != FileType::RegularFile {
        return Err(refused(path, "is not a regular file"));
    }
    if stat.st_uid != me {
        return Err(refused(path, &format!("belongs to another user (uid {}, this is uid {me})", stat.st_uid)));
    }
    if stat.st_mode & 0o077 != 0 {
        return Err(refused(path, &format!("has mode {:o}, not 0600", stat.st_mode & 0o7777)));
    }
    let mut bytes = Vec::new();
    std::fs::File::from(fd)
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| HostError::io("cannot read", path, e))?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(refused(path, "is larger than 1 KiB"));
    }
    let text = String::from_utf8(bytes).map_err(|_| refused(path, "is not UTF-8"))?;
    match text.trim() {
        "" => Err(refused(path, "is empty")),
        secret => Ok(Some(secret.to_owned())),
    }
}

/// Sessions signed with a secret nobody has any more would all read as `{}`, and the next
/// save of each would start a new session: ask for the secret instead.
fn refuse_if_sessions(dir: &Path) -> Result<(), HostError> {
    let prefix = std::env::var("SESSION_COOKIE_NAME").ok().filter(|p| !p.is_empty());
    let prefix = prefix.as_deref().unwrap_or("sessionid");
    let listing = std::fs::read_dir(dir).map_err(|e| HostError::io("cannot list", dir, e))?;
    let holds_sessions = listing.flatten().any(|entry| entry.file_name().to_string_lossy().starts_with(prefix));
    if holds_sessions {
        return Err(misconfigured(format!(
            "{} holds sessions but no {NAME}: set SECRET_KEY to the secret they were signed with (a new secret would make every one of them read as {{}})",
            dir.display()
        )));
    }
    Ok(())
}

/// Writes a new random secret and links it into place; `None` when another process's is
/// there first.
fn generate(dir: &OwnedFd, path: &Path) -> Result<Option<String>, HostError> {
    let secret = random_hex(36)?;
    let temp = format!("{NAME}.{}", random_hex(8)?);
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let fd = rustix::fs::openat(dir, &temp, flags, Mode::from_raw_mode(0o600))
        .map_err(|e| HostError::io("cannot write", &path.with_file_name(&temp), e.into()))?;
    let linked = std::fs::File::from(fd)
        .write_all(secret.as_bytes())
        .and_then(|()| rustix::fs::linkat(dir, &temp, dir, NAME, AtFlags::empty()).map_err(std::io::Error::from));
    let _ = rustix::fs::unlinkat(dir, &temp, AtFlags::empty());
    match linked {
        Ok(()) => Ok(Some(secret)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
        Err(e) => Err(HostError::io("cannot write", path, e)),
    }
}

/// `bytes` random bytes from the system's CSPRNG, as hex.
fn random_hex(bytes: usize) -> Result<String, HostError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)
        .map_err(|e| HostError::io("no randomness from", Path::new("getrandom"), std::io::Error::other(e)))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

fn refused(path: &Path, why: &str) -> HostError {
    misconfigured(format!(
        "{} {why}: refused (it must be a regular file owned by you, mode 0600, at most 1 KiB; or set SECRET_KEY)",
        path.display()
    ))
}
