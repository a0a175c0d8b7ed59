//! The async twins do not block: while one `aload` waits on a file that does not answer
//! yet, other calls into the same instance complete; the same wait in the sync `load`
//! holds the whole instance.
//!
//! "A file that does not answer yet" is a real kernel mechanism, not a mock: a write
//! *lease* (`fcntl(F_SETLEASE, F_WRLCK)`, what Samba and NFS servers use for oplocks and
//! delegations) held on the session file makes every `open` of it wait until the holder
//! releases the lease (or `/proc/sys/fs/lease-break-time`, 45 s by default, passes), so
//! the load waits in its `open`, exactly as it would on a slow or remote disk.
//!
//! A FIFO, the obvious stand-in, cannot serve: the store opens a session file for reading
//! and writing, which does not wait on a FIFO, and treats a FIFO as missing precisely so
//! that it never waits on one (see `fifo_race.rs`).

mod common;
use common::*;

use file_sessions_host::SessionHandle;
use file_sessions_host::twins::AsyncGuest;
use serde_json::json;
use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{Duration, Instant};

unsafe extern "C" {
    fn fcntl(fd: i32, cmd: i32, ...) -> i32;
    fn signal(signum: i32, handler: usize) -> usize;
}

/// `F_SETLEASE`, `F_GETLEASE`, `F_WRLCK`, `F_UNLCK`, `SIGIO`, `SIG_IGN` (Linux).
const F_SETLEASE: i32 = 1024;
const F_GETLEASE: i32 = 1025;
const F_WRLCK: i32 = 1;
const F_UNLCK: i32 = 2;
const SIGIO: i32 = 29;
const SIG_IGN: usize = 1;

/// A write lease on a file: until it is released, every `open` of the file waits.
struct Lease(File);

impl Lease {
    fn take(path: &Path) -> Lease {
        // The kernel tells the holder that someone wants the file with SIGIO, whose
        // default action would end this process; the tests release the lease themselves.
        // SAFETY: plain libc calls on a descriptor this struct owns.
        unsafe { signal(SIGIO, SIG_IGN) };
        let file = File::open(path).expect("opening the session file");
        let rc = unsafe { fcntl(file.as_raw_fd(), F_SETLEASE, F_WRLCK) };
        assert_eq!(rc, 0, "F_SETLEASE failed: {}", std::io::Error::last_os_error());
        Lease(file)
    }

    /// Whether an `open` of the file is waiting on the lease: the kernel has started to
    /// break it, and `F_GETLEASE` then reports the type it is to be lowered to.
    fn opener_waiting(&self) -> bool {
        // SAFETY: as above.
        unsafe { fcntl(self.0.as_raw_fd(), F_GETLEASE) != F_WRLCK }
    }

    fn release(&self) {
        // SAFETY: as above.
        let rc = unsafe { fcntl(self.0.as_raw_fd(), F_SETLEASE, F_UNLCK) };
        assert_eq!(rc, 0, "releasing the lease failed: {}", std::io::Error::last_os_error());
    }
}

/// Bound on anything that must happen (reached only when a test fails; nothing here
/// asserts a duration).
const BOUND: Duration = Duration::from_secs(60);

/// Waits (without blocking the executor) until an `open` of the leased file waits.
async fn until_an_open_waits(lease: &Lease) {
    let start = Instant::now();
    while !lease.opener_waiting() {
        assert!(start.elapsed() < BOUND, "no open of the leased file came");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Releases the lease from another thread once `done` says so, or after `patience`;
/// returns when it was released.
fn release_on_signal(
    lease: Arc<Lease>,
    done: mpsc::Receiver<()>,
    patience: Duration,
) -> std::thread::JoinHandle<Instant> {
    std::thread::spawn(move || {
        let _ = done.recv_timeout(patience);
        let at = Instant::now();
        lease.release();
        at
    })
}

/// Two saved sessions, `a` (the one that will wait) and `b`, their keys, and a third,
/// keyless session to call `aexists` through.
async fn two_sessions(g: &mut AsyncGuest) -> (String, String, SessionHandle, SessionHandle, SessionHandle) {
    let mut keys = Vec::new();
    for who in ["a", "b"] {
        let s = g.session(None).await.unwrap();
        g.aset(s, "who", &format!("\"{who}\"")).await.unwrap();
        g.asave(s, false).await.unwrap();
        keys.push(g.session_key(s).await.unwrap().unwrap());
        g.drop_session(s).await.unwrap();
    }
    let (a_key, b_key) = (keys[0].clone(), keys[1].clone());
    let sa = g.session(Some(&a_key)).await.unwrap();
    let sb = g.session(Some(&b_key)).await.unwrap();
    let sc = g.session(None).await.unwrap();
    (a_key, b_key, sa, sb, sc)
}

/// While an `aload` waits in the `open` of its file, another session's `aload` and two
/// `aexists` run to completion in the same instance; the lease is released only after
/// they are done, and then the waiting `aload` completes with the data.
#[tokio::test(flavor = "multi_thread")]
async fn an_aload_waiting_on_the_disk_does_not_block_other_calls() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let (a_key, b_key, sa, sb, sc) = two_sessions(&mut g).await;
    let lease = Arc::new(Lease::take(&env.session_file(&a_key)));
    let (done, signal) = mpsc::channel();
    let releaser = release_on_signal(lease.clone(), signal, BOUND);

    let ((loaded, loaded_at), (others, others_at)) = g
        .run(async move |a, t| {
            let waiting = async { (t.aload(a, sa).await, Instant::now()) };
            let others = async {
                until_an_open_waits(&lease).await;
                let b = t.aload(a, sb).await;
                let exists_a = t.aexists(a, sc, &a_key).await;
                let exists_b = t.aexists(a, sc, &b_key).await;
                let at = Instant::now();
                let _ = done.send(());
                ((b, exists_a, exists_b), at)
            };
            tokio::join!(waiting, others)
        })
        .await
        .unwrap();
    let released_at = releaser.join().unwrap();

    let (b, exists_a, exists_b) = others;
    assert_eq!(json(&b.unwrap()), json!({"who": "b"}));
    assert!(exists_a.unwrap() && exists_b.unwrap());
    assert!(others_at < released_at, "the other calls waited for the blocked aload");
    assert!(loaded_at > released_at, "the aload did not wait on the lease");
    assert_eq!(json(&loaded.unwrap()), json!({"who": "a"}), "the data, once it arrived");
}

/// The same set-up through the sync `load`: while it waits in the `open`, the instance
/// runs nothing else, so the other call completes only after the lease is released
/// (by a timer here, since the other call cannot say it is done).
#[tokio::test(flavor = "multi_thread")]
async fn a_sync_load_waiting_on_the_disk_blocks_the_instance() {
    let env = Env::new();
    let mut g = env.async_guest().await;
    let (a_key, b_key, _, _, sc) = two_sessions(&mut g).await;
    let ua = g.sync_session(Some(&a_key)).await.unwrap();
    let lease = Arc::new(Lease::take(&env.session_file(&a_key)));
    let (done, signal) = mpsc::channel();
    let releaser = release_on_signal(lease.clone(), signal, Duration::from_secs(2));

    let ((loaded, loaded_at), (other, other_at)) = g
        .run(async move |a, t| {
            let waiting = async { (t.load(a, ua).await, Instant::now()) };
            let other = async {
                until_an_open_waits(&lease).await;
                let exists = t.aexists(a, sc, &b_key).await;
                let at = Instant::now();
                let _ = done.send(());
                (exists, at)
            };
            tokio::join!(waiting, other)
        })
        .await
        .unwrap();
    let released_at = releaser.join().unwrap();

    assert!(other.unwrap(), "aexists of a saved session");
    assert!(other_at > released_at, "a call completed while a sync load held the instance");
    assert!(loaded_at > released_at, "the load did not wait on the lease");
    assert_eq!(json(&loaded.unwrap()), json!({"who": "a"}));
}
