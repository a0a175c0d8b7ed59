"""A Django session backend that is the file-sessions component.

Every method of this ``SessionStore`` is one call into the portable component
(``file_sessions.wasm``, world ``file-sessions``) through the PyPI ``wasmtime``
package, as a Python host would embed it: the data, the flags, the key, the
signing, the files and ``clear_expired`` are all the component's. Nothing is
cached or computed here beyond turning Python values into the contract's JSON
text and back.

Use it as ``SESSION_ENGINE = "component_session"`` (this directory on
``sys.path``) with ``FILE_SESSIONS_WASM`` naming the component, in the
environment or in the settings.

The component reads its settings (``SECRET_KEY``, ``SESSION_FILE_PATH``, ...)
once per instance, so this module keeps one instance per distinct set of
settings and hands each new ``SessionStore`` the one for the settings in force
when it is built. The storage path is cached on the class, as Django's file
backend caches it, and the component checks it.

What differs from Django's own file backend is what the component does
differently (README, "Differences from Django"), plus two things of this
bridge:

* ``a*`` methods run the same sync calls: the PyPI package has no
  component-model async, so the async component is not reachable from here.
* ``_session_key = value`` (tests poke it) builds a fresh component session
  with that key: the contract has no key setter.
"""

import json
import logging
import os
import tempfile
from datetime import datetime, timedelta

import wasmtime
import wasmtime.component as wc
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import InvalidSessionKey
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

INTERFACE = "file-sessions:store/store@0.2.0"

# The contract's error kinds, as the exceptions Django raises for them.
ERRORS = {
    "create-error": CreateError,
    "update-error": UpdateError,
    "invalid-session-key": InvalidSessionKey,
    "improperly-configured": ImproperlyConfigured,
    "key-error": KeyError,
    "invalid-value": ValueError,
    "io": OSError,
}

_NOT_GIVEN = object()
_ENGINE = wasmtime.Engine()
_COMPONENT = None
_INSTANCES = {}


def _component():
    global _COMPONENT
    if _COMPONENT is None:
        path = os.environ.get("FILE_SESSIONS_WASM") or getattr(settings, "FILE_SESSIONS_WASM", None)
        if not path:
            raise ImproperlyConfigured("set FILE_SESSIONS_WASM to the component's path")
        _COMPONENT = wc.Component.from_file(_ENGINE, path)
    return _COMPONENT


class _Instance:
    """One instance of the component, with its settings as its environment."""

    def __init__(self, env, storage_path):
        self.store = wasmtime.Store(_ENGINE)
        wasi = wasmtime.WasiConfig()
        wasi.env = env
        # The preopen is the tenant's boundary. A path that is not a directory is
        # not preopened, and the component then refuses it (improperly-configured).
        if os.path.isdir(storage_path):
            wasi.preopen_dir(storage_path, storage_path)
        self._stderr = b""
        wasi.stderr_custom = self._log
        self.store.set_wasi(wasi)
        linker = wc.Linker(_ENGINE)
        linker.add_wasip2()
        self.instance = linker.instantiate(self.store, _component())
        self.interface = self.instance.get_export_index(self.store, INTERFACE)
        self.funcs = {}

    def _log(self, data):
        """The component's stderr: one ``LEVEL:logger:message`` line per record,
        re-emitted on that Python logger."""
        self._stderr += bytes(data)
        *lines, self._stderr = self._stderr.split(b"\n")
        for line in lines:
            level, logger, message = line.decode("utf-8", "replace").split(":", 2)
            logging.getLogger(logger).log(logging.getLevelName(level), message)

    def call(self, name, *args):
        """Calls one export; a contract error becomes Django's exception."""
        func = self.funcs.get(name)
        if func is None:
            index = self.instance.get_export_index(self.store, name, self.interface)
            func = self.funcs[name] = self.instance.get_func(self.store, index)
        result = func(self.store, *args)
        func.post_return(self.store)
        if isinstance(result, wc.Variant) and result.tag in ERRORS:
            raise ERRORS[result.tag](result.payload)
        return result


def _settings_env(storage_path):
    """The component's environment for the settings in force."""
    return [
        ("SECRET_KEY", settings.SECRET_KEY),
        ("SECRET_KEY_FALLBACKS", json.dumps(list(settings.SECRET_KEY_FALLBACKS))),
        ("SESSION_FILE_PATH", storage_path),
        ("SESSION_COOKIE_NAME", settings.SESSION_COOKIE_NAME),
        ("SESSION_COOKIE_AGE", str(settings.SESSION_COOKIE_AGE)),
        ("SESSION_EXPIRE_AT_BROWSER_CLOSE", "true" if settings.SESSION_EXPIRE_AT_BROWSER_CLOSE else "false"),
    ]


def _instance(storage_path):
    env = _settings_env(storage_path)
    key = tuple(env)
    if key not in _INSTANCES:
        if len(_INSTANCES) >= 16:  # sessions keep theirs alive; the cache need not
            _INSTANCES.pop(next(iter(_INSTANCES)))
        _INSTANCES[key] = _Instance(env, storage_path)
    return _INSTANCES[key]


def _expiry(value):
    """A ``set_expiry``/``expiry=`` value as the contract's ``expiry``: seconds, or
    an instant as ISO text (a timedelta counts from now, as Django counts it)."""
    if isinstance(value, timedelta):
        value = timezone.now() + value
    if isinstance(value, datetime):
        value = value.isoformat()
    return value


class SessionStore(SessionBase):
    """Django's ``SessionStore``, every call answered by the component."""

    def __init__(self, session_key=None):
        # No SessionBase.__init__: the key, the data and the flags live in the component.
        storage_path = self._get_storage_path()
        self._instance = _instance(storage_path)
        self._handle = self._instance.call("[constructor]session-store", session_key)
        type(self)._storage_path = storage_path  # cached once the component accepted it

    @classmethod
    def _get_storage_path(cls):
        try:
            return cls._storage_path
        except AttributeError:
            return os.fspath(getattr(settings, "SESSION_FILE_PATH", None) or tempfile.gettempdir())

    def __del__(self):
        handle = getattr(self, "_handle", None)
        if handle is not None:
            handle.drop(self._instance.store)

    def _call(self, method, *args):
        return self._instance.call("[method]session-store." + method, self._handle, *args)

    # The key and the flags.

    @property
    def session_key(self):
        return self._call("session-key")

    @property
    def _session_key(self):
        return self.session_key

    @_session_key.setter
    def _session_key(self, value):
        old = self._handle
        self._handle = self._instance.call("[constructor]session-store", value)
        old.drop(self._instance.store)

    @property
    def accessed(self):
        return self._call("accessed")

    @accessed.setter
    def accessed(self, value):
        self._call("set-accessed", bool(value))

    @property
    def modified(self):
        return self._call("modified")

    @modified.setter
    def modified(self, value):
        self._call("set-modified", bool(value))

    # The dictionary API; values cross as JSON text.

    def __contains__(self, key):
        return self._call("has-key", key)

    def __getitem__(self, key):
        value = self._call("get", key, None)
        if value is None:
            raise KeyError(key)
        return json.loads(value)

    def __setitem__(self, key, value):
        self._call("set", key, json.dumps(value))

    def __delitem__(self, key):
        self._call("remove", key)

    def get(self, key, default=None):
        value = self._call("get", key, json.dumps(default))
        return json.loads(value)

    def pop(self, key, default=_NOT_GIVEN):
        return json.loads(self._call("pop", key, None if default is _NOT_GIVEN else json.dumps(default)))

    def setdefault(self, key, value):
        return json.loads(self._call("setdefault", key, json.dumps(value)))

    def update(self, dict_):
        self._call("update", json.dumps(dict(dict_)))

    def has_key(self, key):
        return self._call("has-key", key)

    def keys(self):
        return self._call("keys")

    def values(self):
        return [json.loads(v) for v in self._call("values")]

    def items(self):
        return [(k, json.loads(v)) for k, v in self._call("items")]

    def clear(self):
        self._call("clear")

    def is_empty(self):
        return self._call("is-empty")

    def set_test_cookie(self):
        self._call("set-test-cookie")

    def test_cookie_worked(self):
        return self._call("test-cookie-worked")

    def delete_test_cookie(self):
        self._call("delete-test-cookie")

    # Encoding.

    def encode(self, session_dict):
        return self._call("encode", json.dumps(session_dict))

    def decode(self, session_data):
        return json.loads(self._call("decode", session_data))

    # Expiry.

    def _expiry_args(self, kwargs):
        modification = kwargs.get("modification")
        if "expiry" in kwargs:
            expiry = wc.Variant("some", _expiry(kwargs["expiry"]))
        else:
            expiry = wc.Variant("none")
        return (None if modification is None else modification.isoformat(), expiry)

    def get_expiry_age(self, **kwargs):
        return self._call("get-expiry-age", *self._expiry_args(kwargs))

    def get_expiry_date(self, **kwargs):
        return datetime.fromisoformat(self._call("get-expiry-date", *self._expiry_args(kwargs)))

    def set_expiry(self, value):
        self._call("set-expiry", None if value is None else _expiry(value))

    def get_expire_at_browser_close(self):
        return self._call("get-expire-at-browser-close")

    # Persistence.

    def flush(self):
        self._call("flush")

    def cycle_key(self):
        self._call("cycle-key")

    def exists(self, session_key):
        return self._call("exists", session_key)

    def create(self):
        self._call("create")

    def save(self, must_create=False):
        self._call("save", must_create)

    def delete(self, session_key=None):
        self._call("delete", session_key)

    def load(self):
        return json.loads(self._call("load"))

    def _key_to_file(self, session_key=None):
        """Django's file backend's path for a key; the component refuses a bad key."""
        self.exists(session_key)
        key = session_key if session_key is not None else self.session_key
        return os.path.join(self._get_storage_path(), settings.SESSION_COOKIE_NAME + key)

    @classmethod
    def clear_expired(cls):
        _instance(cls._get_storage_path()).call("clear-expired")

    # The async twins: the same calls (see the module doc).

    async def aset(self, key, value):
        self[key] = value

    @classmethod
    async def aclear_expired(cls):
        cls.clear_expired()


def _async_twin(name):
    async def twin(self, *args, **kwargs):
        return getattr(self, name)(*args, **kwargs)

    twin.__name__ = twin.__qualname__ = "a" + name
    return twin


for _name in (
    "get pop setdefault update has_key keys values items set_test_cookie test_cookie_worked "
    "delete_test_cookie get_expiry_age get_expiry_date set_expiry get_expire_at_browser_close "
    "flush cycle_key exists create save delete load"
).split():
    setattr(SessionStore, "a" + _name, _async_twin(_name))
