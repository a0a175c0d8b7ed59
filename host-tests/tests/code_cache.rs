//! The precompiled-code cache (issue #13, finding 6): compiled code is loaded only from a
//! file only the user could have written, reached without following a link; anything else
//! is compiled again in memory, and the host still works.

mod common;

use common::stress::report;
use file_sessions_host::{CodeCache, CodeSource, Runtime, Tenant};
use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};
use std::path::Path;
use wasmtime::Engine;

/// The smallest component there is (preamble only): compiles in microseconds, so each case
/// can afford to compile again.
const EMPTY_COMPONENT: &[u8] = b"\0asm\x0d\0\x01\0";

fn engine() -> Engine {
    Engine::new(&Runtime::recommended_config()).unwrap()
}

/// A private (0700) cache directory.
fn private_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    dir
}

fn load(dir: &Path) -> CodeSource {
    CodeCache::Dir(dir.to_path_buf()).load(&engine(), EMPTY_COMPONENT).expect("compiling falls back").1
}

fn entry(dir: &Path) -> std::path::PathBuf {
    dir.join(CodeCache::entry_name(&engine(), EMPTY_COMPONENT))
}

fn running_as_root() -> bool {
    rustix::process::geteuid().is_root()
}

#[test]
fn a_private_cache_stores_once_then_loads() {
    let dir = private_dir();
    assert_eq!(load(dir.path()), CodeSource::CompiledAndStored);
    let meta = std::fs::symlink_metadata(entry(dir.path())).unwrap();
    assert!(meta.is_file());
    assert_eq!(meta.mode() & 0o777, 0o600);
    assert_eq!(load(dir.path()), CodeSource::Cached);
    // Nothing but the entry: the temporary file was renamed into place.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn another_engine_or_component_never_picks_up_an_entry() {
    let mut fuel = Runtime::recommended_config();
    fuel.consume_fuel(true);
    let other_engine = Engine::new(&fuel).unwrap();
    assert_ne!(
        CodeCache::entry_name(&engine(), EMPTY_COMPONENT),
        CodeCache::entry_name(&other_engine, EMPTY_COMPONENT)
    );
    assert_ne!(
        CodeCache::entry_name(&engine(), EMPTY_COMPONENT),
        CodeCache::entry_name(&engine(), file_sessions_host::GUEST_WASM)
    );
}

#[test]
fn a_planted_symlink_is_not_followed_for_reading_or_writing() {
    // A genuine entry elsewhere, and a link to it planted under the entry's name.
    let elsewhere = private_dir();
    assert_eq!(load(elsewhere.path()), CodeSource::CompiledAndStored);
    let target = entry(elsewhere.path());
    let before = std::fs::read(&target).unwrap();
    let dir = private_dir();
    symlink(&target, entry(dir.path())).unwrap();

    assert_eq!(load(dir.path()), CodeSource::CompiledAndStored, "the link was not loaded");
    // The rename replaced the link itself; its target is untouched.
    assert!(std::fs::symlink_metadata(entry(dir.path())).unwrap().is_file());
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

#[test]
fn a_cache_directory_others_can_write_is_not_used() {
    for mode in [0o770, 0o777, 0o1777, 0o720] {
        let dir = private_dir();
        assert_eq!(load(dir.path()), CodeSource::CompiledAndStored);
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(load(dir.path()), CodeSource::Compiled, "mode {mode:o}: not loaded, compiled in memory");
        std::fs::remove_file(entry(dir.path())).unwrap();
        assert_eq!(load(dir.path()), CodeSource::Compiled, "mode {mode:o}: nothing stored");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "mode {mode:o}");
    }
}

#[test]
fn a_cache_directory_that_is_a_link_is_not_used() {
    let real = private_dir();
    let parent = tempfile::tempdir().unwrap();
    let link = parent.path().join("cache");
    symlink(real.path(), &link).unwrap();
    assert_eq!(load(&link), CodeSource::Compiled);
    assert_eq!(std::fs::read_dir(real.path()).unwrap().count(), 0);
}

#[test]
fn an_entry_others_can_write_is_not_loaded() {
    let dir = private_dir();
    assert_eq!(load(dir.path()), CodeSource::CompiledAndStored);
    for mode in [0o620, 0o602, 0o666] {
        std::fs::set_permissions(entry(dir.path()), std::fs::Permissions::from_mode(mode)).unwrap();
        assert_eq!(load(dir.path()), CodeSource::CompiledAndStored, "mode {mode:o}: compiled and replaced");
        assert_eq!(std::fs::metadata(entry(dir.path())).unwrap().mode() & 0o777, 0o600);
    }
}

/// Bounded: a load that waits in the FIFO's open fails the test (after 10 s; the empty
/// component compiles in microseconds) and is then let go by a writer.
#[test]
fn a_fifo_under_the_entry_name_neither_blocks_nor_loads() {
    let dir = private_dir();
    let fifo = entry(dir.path());
    let mode = rustix::fs::Mode::from_raw_mode(0o600);
    rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, mode, 0).unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let path = dir.path().to_path_buf();
    std::thread::spawn(move || tx.send(load(&path)));
    let loaded = rx.recv_timeout(std::time::Duration::from_secs(10)).unwrap_or_else(|_| {
        use std::os::unix::fs::OpenOptionsExt;
        let nonblock = rustix::fs::OFlags::NONBLOCK.bits() as i32;
        let _ = std::fs::OpenOptions::new().write(true).custom_flags(nonblock).open(&fifo);
        panic!("the load waited in the open of the FIFO at the entry's name")
    });
    assert_eq!(loaded, CodeSource::CompiledAndStored);
}

#[test]
fn foreign_owned_entries_and_directories_are_not_trusted() {
    if !running_as_root() {
        eprintln!("SKIPPED: making a file another user owns needs root");
        return;
    }
    let nobody = Some(rustix::process::Uid::from_raw(65534));
    let dir = private_dir();
    assert_eq!(load(dir.path()), CodeSource::CompiledAndStored);
    rustix::fs::chown(entry(dir.path()), nobody, None).unwrap();
    assert_eq!(load(dir.path()), CodeSource::CompiledAndStored, "a foreign entry is compiled again and replaced");
    assert_eq!(std::fs::metadata(entry(dir.path())).unwrap().uid(), 0);

    rustix::fs::chown(dir.path(), nobody, None).unwrap();
    assert_eq!(load(dir.path()), CodeSource::Compiled, "a foreign directory is not used");
}

/// The real component through `Runtime`, with a link planted at its entry: compiled again,
/// and the instance works.
#[test]
fn the_runtime_works_when_its_cache_entry_is_refused() {
    let dir = private_dir();
    let decoy = dir.path().join("decoy");
    std::fs::write(&decoy, b"not compiled code").unwrap();
    let name =
        CodeCache::entry_name(&Engine::new(&Runtime::recommended_config()).unwrap(), file_sessions_host::GUEST_WASM);
    symlink(&decoy, dir.path().join(name)).unwrap();

    let runtime = Runtime::builder().cache(CodeCache::Dir(dir.path().to_path_buf())).build().unwrap();
    assert_eq!(runtime.code_source(), CodeSource::CompiledAndStored);
    let sessions = tempfile::tempdir().unwrap();
    let mut guest = runtime.instantiate(&Tenant::new(sessions.path(), common::SECRET)).unwrap();
    let s = guest.session(None).unwrap();
    guest.set(s, "a", "1").unwrap();
    guest.save(s, false).unwrap();
    assert_eq!(std::fs::read(&decoy).unwrap(), b"not compiled code");

    let again = Runtime::builder().cache(CodeCache::Dir(dir.path().to_path_buf())).build().unwrap();
    assert_eq!(again.code_source(), CodeSource::Cached);
    report(
        "precompiled-code cache (finding 6)",
        "a symlink to genuine compiled code and one to a decoy planted at the entry's name; a FIFO there; entries of modes 0620, 0602, 0666; cache directories of modes 0770, 0777, 1777, 0720, reached through a link, or owned by another user; an entry owned by another user",
        "none loaded: each compiled in memory, or compiled again and stored as a 0600 file by rename (the link's target untouched); nothing stored in an untrusted directory; the runtime instantiated and saved a session every time",
    );
}
