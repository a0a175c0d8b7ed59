//! The store commands (create, load, save, exists, delete, clear-expired), written once
//! against [`Instance`]: the portable component through the sync API, or the async one
//! through Django's async twins.

use crate::failure::Failure;
use crate::place;
use crate::sweep::{self, Counts};
use clap::Args;
use file_sessions_host::twins::{AsyncGuest, AsyncRuntime};
use file_sessions_host::{Guest, GuestStderr, HostError, Runtime, SessionHandle, Tenant};

/// Options of `clear-expired`.
#[derive(Args, Debug)]
pub struct ClearArgs {
    /// Directory entries the component examines per step of the sweep (`clear-expired-batch`);
    /// progress is shown between steps.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
}

/// `sessions create [JSON-OBJECT]`.
pub fn create(place: &place::Options, data: Option<&str>) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    let s = guest.session(None)?;
    guest.update(s, data.unwrap_or("{}"))?;
    guest.create(s)?;
    println!("{}", guest.session_key(s)?.unwrap_or_default());
    Ok(())
}

/// `sessions load KEY`.
pub fn load(place: &place::Options, key: &str) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    guest.check_key(key)?;
    let s = guest.session(Some(key))?;
    println!("{}", guest.load(s)?);
    Ok(())
}

/// `sessions save KEY JSON-OBJECT`.
pub fn save(place: &place::Options, key: &str, data: &str) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    guest.check_key(key)?;
    let s = guest.session(Some(key))?;
    guest.keys(s)?; // load, as a request reading the session does
    guest.clear(s)?;
    guest.update(s, data)?;
    guest.save(s, false)?;
    println!("{}", guest.session_key(s)?.unwrap_or_default());
    Ok(())
}

/// `sessions exists KEY`.
pub fn exists(place: &place::Options, key: &str) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    let s = guest.session(None)?;
    println!("{}", guest.exists(s, key)?);
    Ok(())
}

/// `sessions delete KEY`.
pub fn delete(place: &place::Options, key: &str) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    let s = guest.session(None)?;
    guest.delete(s, Some(key))?;
    Ok(())
}

/// `sessions clear-expired`.
pub fn clear_expired(place: &place::Options, args: &ClearArgs) -> Result<(), Failure> {
    let mut guest = Instance::open(place)?;
    let counts =
        sweep::run(&mut |cursor, limit, dry_run| guest.clear_batch(cursor, limit, dry_run), args.batch, false)?;
    println!("{}", counts.json());
    Ok(())
}

/// The portable component's runtime for the CLI: the guest's stderr (its warnings, as
/// Django's log) goes to the command's stderr.
pub fn portable(tenant: &Tenant) -> Result<Guest, HostError> {
    Runtime::builder().stderr(GuestStderr::Inherit).build()?.instantiate(tenant)
}

/// The instance a store command runs on. (Both boxed: a wasmtime store is large, and the
/// two differ in size.)
enum Instance {
    /// The portable component (`file-sessions` world).
    Portable(Box<Guest>),
    /// The async component (`file-sessions-async` world), called through `async-store`.
    Async(Box<Twin>),
}

/// An instance of the async component and the executor that runs its calls.
struct Twin {
    // Declared before `executor`, so the instance is dropped while the executor that ran
    // it still exists.
    guest: AsyncGuest,
    executor: tokio::runtime::Runtime,
}

/// One operation on either instance: `$sync` with the portable `Guest`, `$twin` (a
/// future) with the async one, run to completion.
macro_rules! on_either {
    ($self:ident, $g:ident => $sync:expr, $twin:expr) => {
        match $self {
            Instance::Portable($g) => $sync,
            Instance::Async(twin) => {
                let Twin { guest: $g, executor } = &mut **twin;
                executor.block_on($twin)
            }
        }
    };
}

impl Instance {
    /// The instance `--async` asks for, on the session directory.
    fn open(place: &place::Options) -> Result<Instance, HostError> {
        let tenant = place.tenant(false)?;
        if !place.use_async {
            return Ok(Instance::Portable(Box::new(portable(&tenant)?)));
        }
        // One instance, one task: a current-thread executor (WASI 0.3 file calls still run
        // on tokio's blocking pool), as the README recommends.
        let executor = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| HostError::io("cannot start", std::path::Path::new("the executor"), e))?;
        let runtime = AsyncRuntime::builder().stderr(GuestStderr::Inherit).build()?;
        let guest = executor.block_on(runtime.instantiate(&tenant))?;
        Ok(Instance::Async(Box::new(Twin { guest, executor })))
    }

    /// A key typed on the command line must be able to name a session: the store's own
    /// check (Django's `load` would quietly give `{}` for a key that can name no file,
    /// which an operator would read as "the session is gone").
    fn check_key(&mut self, key: &str) -> Result<(), HostError> {
        let probe = self.session(None)?;
        self.exists(probe, key).map(drop)
    }

    /// `SessionStore(session_key)`.
    fn session(&mut self, key: Option<&str>) -> Result<SessionHandle, HostError> {
        on_either!(self, g => g.session(key), g.session(key))
    }

    fn session_key(&mut self, s: SessionHandle) -> Result<Option<String>, HostError> {
        on_either!(self, g => g.session_key(s), g.session_key(s))
    }

    /// `load()` / `aload()`.
    fn load(&mut self, s: SessionHandle) -> Result<String, HostError> {
        on_either!(self, g => g.load(s), g.aload(s))
    }

    /// `keys()` / `akeys()`: loads the data into the session, as reading it does.
    fn keys(&mut self, s: SessionHandle) -> Result<Vec<String>, HostError> {
        on_either!(self, g => g.keys(s), g.akeys(s))
    }

    fn clear(&mut self, s: SessionHandle) -> Result<(), HostError> {
        on_either!(self, g => g.clear(s), g.clear(s))
    }

    /// `update(dict)` / `aupdate(dict)`.
    fn update(&mut self, s: SessionHandle, data: &str) -> Result<(), HostError> {
        on_either!(self, g => g.update(s, data), g.aupdate(s, data))
    }

    /// `create()` / `acreate()`.
    fn create(&mut self, s: SessionHandle) -> Result<(), HostError> {
        on_either!(self, g => g.create(s), g.acreate(s))
    }

    /// `save(must_create)` / `asave(must_create)`.
    fn save(&mut self, s: SessionHandle, must_create: bool) -> Result<(), HostError> {
        on_either!(self, g => g.save(s, must_create), g.asave(s, must_create))
    }

    /// `exists(key)` / `aexists(key)`.
    fn exists(&mut self, s: SessionHandle, key: &str) -> Result<bool, HostError> {
        on_either!(self, g => g.exists(s, key), g.aexists(s, key))
    }

    /// `delete(key)` / `adelete(key)`.
    fn delete(&mut self, s: SessionHandle, key: Option<&str>) -> Result<(), HostError> {
        on_either!(self, g => g.delete(s, key), g.adelete(s, key))
    }

    /// `clear_expired_batch(..)` / `aclear_expired_batch(..)`: one step of a sweep.
    fn clear_batch(
        &mut self,
        cursor: Option<&str>,
        limit: u32,
        dry_run: bool,
    ) -> Result<(Counts, Option<String>), HostError> {
        let (report, cursor) = match self {
            Instance::Portable(g) => {
                let batch = g.clear_expired_batch(cursor, limit, dry_run)?;
                (batch.report.into(), batch.cursor)
            }
            Instance::Async(twin) => {
                let batch = twin.executor.block_on(twin.guest.aclear_expired_batch(cursor, limit, dry_run))?;
                (batch.report.into(), batch.cursor)
            }
        };
        Ok((report, cursor))
    }
}

/// How many sessions `clear-expired` would remove now: the component's sweep, run dry, so
/// it decides exactly as the real one would.
pub fn expired_count(tenant: &Tenant) -> Result<u64, HostError> {
    let mut guest = portable(tenant)?;
    let counts = sweep::run(
        &mut |cursor, limit, dry_run| {
            let batch = guest.clear_expired_batch(cursor, limit, dry_run)?;
            Ok((batch.report.into(), batch.cursor))
        },
        1000,
        true,
    )?;
    Ok(counts.expired_sessions)
}
