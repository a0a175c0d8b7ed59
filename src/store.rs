//! The file backend: Django's `django/contrib/sessions/backends/file.py`, over [`Dir`].
//!
//! One file per session, named `SESSION_COOKIE_NAME + key`, holding the signed text of
//! [`codec`](crate::codec). Every write goes to a temporary file first and is published
//! with one atomic step, so readers see the old session or the new one, never a mix.

use crate::dir::{self, Dir, Storage};
use crate::error::{Error, Result};
use crate::expiry::{self, is_expired};
use crate::key;
use crate::session::{Backend, Codec, Data, EXPIRY_KEY, State};
use crate::settings::Settings;
use crate::sweep::Sweep;
use std::cell::RefCell;
use std::io;
use std::rc::Rc;
use time::OffsetDateTime;

/// Largest session file read: room for [`MAX_JSON_BYTES`](crate::codec::MAX_JSON_BYTES) of JSON in base64.
/// Bigger files load as corrupt (`{}`); sessions too big or too deep to read back are
/// refused on save, so nothing is ever written that could not be read back.
pub const MAX_FILE_BYTES: u64 = (crate::codec::MAX_JSON_BYTES as u64) * 3 / 2;

/// Bound on `create`'s retries on key collisions (with 165-bit keys, one never happens).
const MAX_CREATE_ATTEMPTS: usize = 100;

/// Attempts at a read, a stat or an unlink before an error that may pass is reported as
/// `io`. On a network filesystem a file replaced by another host's rename fails a read now
/// and then (`ESTALE`); on GlusterFS the next attempt nearly always succeeds, and the
/// pauses between attempts (1, 2, 4, 8, then 16 ms: 63 ms in all) outlast a run of them
/// while another host renames over the file back to back (DEPLOYMENT.md).
const ATTEMPTS: u32 = 8;

/// The longest pause between two attempts, in milliseconds.
const MAX_PAUSE_MS: u64 = 16;

/// What a session file turned out to hold.
pub(crate) enum Found {
    /// No readable regular file (missing, unreadable, a directory, a symlink, ...).
    Nothing,
    /// An empty file: a placeholder left by a concurrent or crashed create. Live, empty.
    Placeholder { mtime: OffsetDateTime },
    /// A live session (data that does not verify or parse reads as `{}`, as in Django).
    Live(Data),
    /// Expired by its expiry or by mtime + cookie age. `removable` once it has been
    /// expired for `SESSION_FILE_CLOCK_SKEW` seconds: then no host whose clock is that
    /// close to ours still finds it live.
    Expired { removable: bool },
}

/// The file session store: settings, the storage directory and the sessions' codec, shared by all
/// sessions of an instance. Generic over how the directory is reached ([`Storage`]): the
/// logic is the same for the synchronous and the async component.
pub struct FileStore<D: Storage = Dir> {
    pub(crate) settings: Settings,
    pub(crate) dir: D,
    /// The sessions' encoding, which the store applies to what it reads and writes.
    codec: Rc<Codec>,
    /// The listing of the last `clear_expired_batch`, kept for the next step.
    pub(crate) sweep: RefCell<Option<Sweep<D::Entries>>>,
}

impl FileStore<Dir> {
    /// Opens the storage directory named by the settings and derives the signing keys.
    pub fn new(settings: Settings) -> Result<FileStore> {
        let dir = Dir::open(&settings.file_path).map_err(|e| unusable_path(&settings, &e))?;
        Ok(FileStore::with_dir(settings, dir))
    }
}

/// `ImproperlyConfigured`, in Django's words, for a storage path that cannot be opened.
pub fn unusable_path(settings: &Settings, e: &io::Error) -> Error {
    Error::ImproperlyConfigured(format!(
        "The session storage path '{}' doesn't exist or is not a directory visible \
         through a WASI preopen ({e}). Please set your SESSION_FILE_PATH setting to an \
         existing directory the host preopens.",
        settings.file_path
    ))
}

impl<D: Storage> FileStore<D> {
    /// A store over an already opened directory; derives the signing keys.
    pub fn with_dir(settings: Settings, dir: D) -> FileStore<D> {
        let codec = Rc::new(Codec::new(&settings));
        FileStore::with_codec(settings, dir, codec)
    }

    /// A store over an already opened directory, with the sessions' codec.
    pub fn with_codec(settings: Settings, dir: D, codec: Rc<Codec>) -> FileStore<D> {
        FileStore { settings, dir, codec, sweep: RefCell::new(None) }
    }

    /// `SESSION_FILE_PATH` as configured.
    pub fn storage_path(&self) -> &str {
        &self.settings.file_path
    }

    /// `file_prefix`: `SESSION_COOKIE_NAME`.
    pub fn file_prefix(&self) -> &str {
        &self.settings.cookie_name
    }

    /// `encode(session_dict)` with this store's codec (see [`Codec::encode`]).
    pub fn encode<T: serde::Serialize + ?Sized>(&self, data: &T) -> Result<String> {
        self.codec.encode(data)
    }

    /// A session file's name as errors show it: the prefix and the key's first 4
    /// characters, enough to find the file. The key is a bearer token, and hosts log errors.
    fn shown(&self, name: &str) -> String {
        let prefix = self.settings.cookie_name.as_str();
        let key = name.strip_prefix(prefix).unwrap_or(name);
        let head = key.char_indices().nth(4).map_or(key, |(cut, _)| &key[..cut]);
        // Keys are `[a-z0-9]`: an underscore is the `_out_` of a temporary file.
        let temporary = if key.contains('_') { " (a temporary file)" } else { "" };
        format!("{prefix}{head}…{temporary}")
    }

    fn taken(&self, name: &str) -> Error {
        Error::Create(format!("the session {} already exists", self.shown(name)))
    }

    /// `_key_to_file`: the file name for `key`. The `[a-z0-9]` check is what keeps path
    /// separators and `..` out of it.
    fn file_name(&self, key: &str) -> Result<String> {
        if !key::has_valid_chars(key) {
            return Err(Error::InvalidSessionKey("Invalid characters in session key".into()));
        }
        let mut name = String::with_capacity(self.settings.cookie_name.len() + key.len());
        name.push_str(&self.settings.cookie_name);
        name.push_str(key);
        Ok(name)
    }

    fn new_key() -> Result<String> {
        key::generate().map_err(|e| Error::Io(format!("no randomness for a session key: {e}")))
    }

    /// Reads a session file (stat, open, one read, close) and classifies it. No file (or
    /// not a regular file) is an answer; any other error, once it has lasted [`ATTEMPTS`]
    /// reads, is an error: a session that cannot be read is not a missing one.
    pub(crate) async fn find(&self, name: &str, now: OffsetDateTime) -> io::Result<Found> {
        let file = match retried(&self.dir, async || self.dir.read(name, MAX_FILE_BYTES).await).await {
            Ok(file) => file,
            Err(e) if dir::is_absent(&e) || dir::is_not_a_file(&e) => return Ok(Found::Nothing),
            Err(e) => return Err(e),
        };
        if file.bytes.as_ref().is_some_and(Vec::is_empty) {
            return Ok(Found::Placeholder { mtime: file.mtime });
        }
        let data = file.bytes.and_then(|b| self.codec.decode_object(&b)).unwrap_or_default();
        let expired_at = |t| is_expired(data.get(EXPIRY_KEY), file.mtime, t, self.settings.cookie_age);
        Ok(if !expired_at(now) {
            Found::Live(data)
        } else {
            Found::Expired { removable: expired_at(self.settled(now)) }
        })
    }

    /// `now` moved back by `SESSION_FILE_CLOCK_SKEW`: what is expired then is expired for
    /// every host whose clock is at most that far ahead of the writer's (#12).
    pub(crate) fn settled(&self, now: OffsetDateTime) -> OffsetDateTime {
        now.saturating_sub(time::Duration::seconds(self.settings.clock_skew))
    }

    /// `load()`, with the expired-session replacement optional (`clear_expired` suppresses
    /// it so that sweeping never creates files).
    async fn load_with(&self, state: &mut State, replace_expired: bool) -> Result<Data> {
        let Some(key) = state.key().map(str::to_owned) else {
            // Django invents a key here, finds no file for it and drops it again.
            return Ok(Data::new());
        };
        let Ok(name) = self.file_name(&key) else {
            state.set_key(None);
            return Ok(Data::new());
        };
        // Django reads every error as "no session" and starts a new one: a logout at random
        // on a network filesystem. Here the key is kept and the error reported.
        let found =
            self.find(&name, expiry::now()).await.map_err(|e| Error::io("cannot read", &self.shown(&name), &e))?;
        match found {
            // An unknown key never creates a record (CVE-2015-5143): forget it, so the
            // next save creates a session under a fresh key.
            Found::Nothing => {
                state.set_key(None);
                Ok(Data::new())
            }
            Found::Placeholder { .. } => Ok(Data::new()),
            Found::Live(data) => Ok(data),
            Found::Expired { removable } => {
                if removable {
                    let _ = self.dir.remove(&name).await;
                }
                if replace_expired && self.create(state).await.is_err() {
                    state.set_key(None);
                }
                Ok(Data::new())
            }
        }
    }

    /// Writes `bytes` under a fresh temporary name beside `name` (`<name>_out_<8 chars>`,
    /// as Django's `mkstemp`), retrying on collisions.
    async fn write_temp(&self, name: &str, bytes: &[u8]) -> Result<String> {
        for _ in 0..MAX_CREATE_ATTEMPTS {
            let suffix = key::temp_suffix().map_err(|e| Error::Io(format!("no randomness: {e}")))?;
            let temp = format!("{name}_out_{suffix}");
            match self.dir.write_new(&temp, bytes).await {
                Ok(()) => return Ok(temp),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(Error::io("cannot write", &self.shown(&temp), &e)),
            }
        }
        Err(Error::Io(format!("no free temporary name beside {}", self.shown(name))))
    }

    /// Publishes `bytes` as `name`. The complete contents are written to a temporary file
    /// first and then made visible in one atomic step (link or rename), so a reader never
    /// sees a partly written session and a failed write leaves the previous file intact.
    async fn publish(&self, name: &str, bytes: &[u8], must_create: bool) -> Result<()> {
        let temp = self.write_temp(name, bytes).await?;
        let result =
            if must_create { self.publish_new(&temp, name).await } else { self.publish_update(&temp, name).await };
        // A link leaves the temporary name behind, and so does a failed rename.
        if must_create || result.is_err() {
            let _ = self.dir.remove(&temp).await;
        }
        result
    }

    /// `link` fails when `name` exists, so it is an exclusive create that publishes
    /// complete contents: no empty placeholder is ever visible, unlike Django's
    /// `O_CREAT|O_EXCL` then rename.
    async fn publish_new(&self, temp: &str, name: &str) -> Result<()> {
        match self.dir.link(temp, name).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(self.taken(name)),
            // Filesystems without hard links: Django's way, placeholder then rename.
            Err(e) if matches!(e.kind(), io::ErrorKind::Unsupported | io::ErrorKind::PermissionDenied) => {
                match self.dir.write_new(name, b"").await {
                    Ok(()) => self
                        .dir
                        .rename(temp, name)
                        .await
                        .map_err(|e| Error::io("cannot publish", &self.shown(name), &e)),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Err(self.taken(name)),
                    Err(e) => Err(Error::io("cannot create", &self.shown(name), &e)),
                }
            }
            Err(e) => Err(Error::io("cannot create", &self.shown(name), &e)),
        }
    }

    /// Replaces an existing session file. Django's existence gate (#21608) refuses to
    /// resurrect a session deleted meanwhile, e.g. by a concurrent logout; it runs after
    /// the temporary file is written, right before the rename, to keep the remaining
    /// window (#37249) as short as a rename-based publish allows.
    async fn publish_update(&self, temp: &str, name: &str) -> Result<()> {
        let deleted =
            || Error::Update(format!("the session {} was deleted while it was being saved", self.shown(name)));
        match retried(&self.dir, async || self.dir.stat(name).await).await {
            Ok(stat) if stat.is_file => match self.dir.rename(temp, name).await {
                Ok(()) => Ok(()),
                // The temporary file is there (just written), so it is the session that went:
                // on GlusterFS a rename fails this way when another host unlinks its target
                // meanwhile (1 in about 1,000 logouts racing a save). The logout won.
                Err(e) if dir::is_absent(&e) => Err(deleted()),
                Err(e) => Err(Error::io("cannot replace", &self.shown(name), &e)),
            },
            Ok(_) => Err(Error::Io(format!("cannot replace {}: not a regular file", self.shown(name)))),
            Err(e) if dir::is_absent(&e) => Err(deleted()),
            Err(e) => Err(Error::io("cannot replace", &self.shown(name), &e)),
        }
    }
}

/// Runs `op` up to [`ATTEMPTS`] times while it fails with an error that may pass: every
/// error but "no such file" and "not a regular file", which are answers. Only for calls
/// that can be repeated safely (reads, stats, unlinks). The pauses double from 1 ms up to
/// [`MAX_PAUSE_MS`].
async fn retried<T, D: Storage>(dir: &D, mut op: impl AsyncFnMut() -> io::Result<T>) -> io::Result<T> {
    let mut attempt = 1;
    loop {
        match op().await {
            Err(e) if attempt < ATTEMPTS && !dir::is_absent(&e) && !dir::is_not_a_file(&e) => {
                dir.pause((1 << (attempt - 1)).min(MAX_PAUSE_MS)).await;
                attempt += 1;
            }
            result => return result,
        }
    }
}

impl<D: Storage> FileStore<D> {
    /// Publishes `text` under the state's key: the common tail of `save` and `create`.
    async fn write(&self, state: &mut State, text: String, must_create: bool) -> Result<()> {
        // Loading an unknown key dropped it; like Django's `_key_to_file`, invent one,
        // which then fails the existence gate with `UpdateError`.
        if state.key().is_none() {
            state.set_key(Some(Self::new_key()?));
        }
        let name = self.file_name(state.key().unwrap_or_default())?;
        self.publish(&name, text.as_bytes(), must_create).await
    }
}

impl<D: Storage> Backend for FileStore<D> {
    async fn load(&self, state: &mut State) -> Result<Data> {
        self.load_with(state, true).await
    }

    async fn save(&self, state: &mut State, must_create: bool) -> Result<()> {
        if state.key().is_none() {
            return self.create(state).await;
        }
        let text = self.codec.encode(state.data(self, must_create).await?)?;
        self.write(state, text, must_create).await
    }

    /// Never loads (its data is what is cached, or `{}`), so `load` can call it to replace
    /// an expired session without the two calling each other.
    async fn create(&self, state: &mut State) -> Result<()> {
        for _ in 0..MAX_CREATE_ATTEMPTS {
            state.set_key(Some(Self::new_key()?));
            let text = self.codec.encode(state.data_unloaded())?;
            match self.write(state, text, true).await {
                Err(Error::Create(_)) => continue,
                Err(e) => return Err(e),
                Ok(()) => {
                    state.modified = true;
                    return Ok(());
                }
            }
        }
        Err(Error::Create(format!("no free session key after {MAX_CREATE_ATTEMPTS} attempts")))
    }

    /// Unlike Django's `os.path.exists`, an error other than "no such file" is an error,
    /// not `false`.
    async fn exists(&self, session_key: &str) -> Result<bool> {
        let name = self.file_name(session_key)?;
        match retried(&self.dir, async || self.dir.stat(&name).await).await {
            Ok(_) => Ok(true),
            Err(e) if dir::is_absent(&e) => Ok(false),
            Err(e) => Err(Error::io("cannot check", &self.shown(&name), &e)),
        }
    }

    /// Retried like a read: an unlink whose answer was lost is found done the next time.
    async fn delete(&self, state: &State, session_key: Option<&str>) -> Result<()> {
        let Some(key) = session_key.or(state.key()) else { return Ok(()) };
        let name = self.file_name(key)?;
        match retried(&self.dir, async || self.dir.remove(&name).await).await {
            Ok(()) => Ok(()),
            Err(e) if dir::is_absent(&e) => Ok(()),
            // Django swallows this; a logout that silently did not happen is worse.
            Err(e) => Err(Error::io("cannot delete", &self.shown(&name), &e)),
        }
    }

    fn cookie_age(&self) -> i64 {
        self.settings.cookie_age
    }

    fn expire_at_browser_close(&self) -> bool {
        self.settings.expire_at_browser_close
    }

    fn codec(&self) -> &Codec {
        &self.codec
    }
}

#[cfg(test)]
mod tests {
    //! The store natively, on a real temporary directory (the wasmtime tests in
    //! `host-tests/` cover the same paths through the component).
    use super::*;
    use crate::run_sync;
    use crate::session::{ExpiredDeletion, Session};
    use serde_json::json;
    use std::rc::Rc;

    fn store(dir: &std::path::Path, extra: &[(&str, &str)]) -> Rc<FileStore> {
        let mut vars = vec![
            ("SECRET_KEY".to_string(), "unit-test-secret".to_string()),
            ("SESSION_FILE_PATH".to_string(), dir.to_str().unwrap().to_string()),
        ];
        vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Rc::new(FileStore::new(Settings::from_vars(vars).unwrap()).unwrap())
    }

    fn names(dir: &std::path::Path) -> Vec<String> {
        let mut v: Vec<String> =
            std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        v.sort();
        v
    }

    fn set_mtime(path: &std::path::Path, seconds_ago: u64) {
        let t = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
        std::fs::File::options().write(true).open(path).unwrap().set_modified(t).unwrap();
    }

    #[test]
    fn save_then_load_round_trips_and_leaves_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path(), &[]);
        let mut s = Session::new(st.clone(), None);
        run_sync(s.set("a", json!({"b": [1, "é"]}))).unwrap();
        run_sync(s.save(false)).unwrap();
        let key = s.state.key().unwrap().to_owned();
        assert_eq!(names(dir.path()), [format!("sessionid{key}")]);
        let mut t = Session::new(st, Some(key));
        assert_eq!(run_sync(t.get("a", None)).unwrap(), Some(json!({"b": [1, "é"]})));
        assert!(t.state.accessed && !t.state.modified);
    }

    #[test]
    fn create_is_exclusive_and_update_needs_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path(), &[]);
        let mut s = Session::new(st.clone(), None);
        run_sync(s.create()).unwrap();
        let key = s.state.key().unwrap().to_owned();
        assert!(std::fs::metadata(dir.path().join(format!("sessionid{key}"))).unwrap().len() > 0);
        // must_create on a taken key
        let mut dup = Session::new(st.clone(), Some(key.clone()));
        dup.clear();
        assert!(matches!(run_sync(dup.save(true)), Err(Error::Create(_))));
        // update after someone else deleted it
        run_sync(st.delete(&State::default(), Some(&key))).unwrap();
        run_sync(s.set("x", json!(1))).unwrap();
        assert!(matches!(run_sync(s.save(false)), Err(Error::Update(_))));
        assert!(names(dir.path()).is_empty(), "not resurrected, no temp file left");
    }

    #[test]
    fn expired_on_load_rotates_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let st = store(dir.path(), &[]);
        let mut s = Session::new(st.clone(), None);
        run_sync(s.set("a", json!(1))).unwrap();
        run_sync(s.save(false)).unwrap();
        let key = s.state.key().unwrap().to_owned();
        set_mtime(&dir.path().join(format!("sessionid{key}")), 15 * 24 * 3600);
        let mut t = Session::new(st, Some(key.clone()));
        assert_eq!(run_sync(t.load()).unwrap(), Data::new());
        let new_key = t.state.key().unwrap().to_owned();
        assert_ne!(new_key, key);
        assert!(t.state.modified);
        assert_eq!(names(dir.path()), [format!("sessionid{new_key}")]);
    }

    #[test]
    fn retries_stop_at_an_answer_or_after_the_bound() {
        let dir = Dir::open(tempfile::tempdir().unwrap().path().to_str().unwrap()).unwrap();
        let calls = std::cell::Cell::new(0);
        let failing = |kind: io::ErrorKind, times: u32| {
            calls.set(0);
            run_sync(retried(&dir, async || {
                calls.set(calls.get() + 1);
                if calls.get() <= times { Err(io::Error::from(kind)) } else { Ok(calls.get()) }
            }))
        };
        // Answers come back at once: no such file, not a regular file.
        for kind in [io::ErrorKind::NotFound, io::ErrorKind::InvalidFilename, io::ErrorKind::IsADirectory] {
            assert_eq!(failing(kind, 1).unwrap_err().kind(), kind);
            assert_eq!(calls.get(), 1, "{kind:?} retried");
        }
        // What may pass is retried until it does, up to ATTEMPTS calls in all.
        assert_eq!(failing(io::ErrorKind::Other, ATTEMPTS - 1).unwrap(), ATTEMPTS);
        assert_eq!(failing(io::ErrorKind::Other, ATTEMPTS).unwrap_err().kind(), io::ErrorKind::Other);
        assert_eq!(calls.get(), ATTEMPTS);
        // A file found by the stat but gone at the open is retried, then found absent.
        assert_eq!(dir::vanished(io::Error::from(io::ErrorKind::NotFound)).kind(), io::ErrorKind::Interrupted);
    }

    #[test]
    fn clock_skew_delays_removal_not_expiry() {
        let dir = tempfile::tempdir().unwrap();
        let age = [("SESSION_COOKIE_AGE", "100")];
        let skewed = store(dir.path(), &[age[0], ("SESSION_FILE_CLOCK_SKEW", "60")]);
        // Expired 30 s ago and 100 s ago (mtime + cookie age), by this host's clock.
        let plant = |st: &Rc<FileStore>, seconds_ago: u64| {
            let mut s = Session::new(st.clone(), None);
            run_sync(s.set("a", json!(1))).unwrap();
            run_sync(s.save(false)).unwrap();
            let key = s.state.key().unwrap().to_owned();
            let path = dir.path().join(format!("sessionid{key}"));
            set_mtime(&path, seconds_ago);
            (key, path)
        };
        let (recent, recent_path) = plant(&skewed, 130);
        let (_, old_path) = plant(&skewed, 200);
        assert_eq!(run_sync(skewed.clear_expired()).unwrap().expired_sessions, 1);
        assert!(recent_path.exists() && !old_path.exists(), "only the one expired over 60 s ago swept");
        // A load answers {} for an expired session either way, and removes only an old one.
        let load = |key: &str| {
            let mut s = Session::new(skewed.clone(), Some(key.to_owned()));
            assert_eq!(run_sync(s.load()).unwrap(), Data::new());
            assert_ne!(s.state.key(), Some(key), "an expired session's key is replaced");
        };
        load(&recent);
        assert!(recent_path.exists(), "removed within the skew");
        let (old, old_path) = plant(&skewed, 200);
        load(&old);
        assert!(!old_path.exists(), "kept past the skew");
        // Without the setting (Django), both go at once.
        let plain = store(dir.path(), &age);
        assert_eq!(run_sync(plain.clear_expired()).unwrap().expired_sessions, 1);
        assert!(!recent_path.exists());
    }
}
