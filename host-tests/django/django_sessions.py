#!/usr/bin/env python3
"""Drive REAL Django's file session backend from the command line.

Used by the interop tests of the `file-sessions` component: every operation
here goes through `django.contrib.sessions.backends.file.SessionStore` of the
Django installed in the current interpreter (see ensure-venv.sh), so the Rust
side can be checked against the real thing, in both directions.

Usage:
    python django_sessions.py --dir DIR --secret S [--fallbacks JSON_ARRAY]
                              [--cookie-name NAME] [--cookie-age N]
                              SUBCOMMAND ARGS...

Subcommands (KEY may be "-" to mean None, i.e. "no session key"):
    load KEY                  {"key": str|null, "data": {...}, "modified": bool}
    get KEY                   {"key": str|null, "data": {...}}
    save KEY JSON_OBJECT      {"key": str}
    create JSON_OBJECT        {"key": str}
    exists KEY                {"exists": bool}
    delete KEY                {"ok": true}
    clear-expired             {"remaining": [file names in DIR, sorted]}
    encode JSON_OBJECT [--at UNIX_TIME]
                              {"encoded": str}
    decode STRING             {"data": <whatever decode() returned>}
    set-expiry KEY JSON_SPEC  {"key": str, "expiry_age": int, "expiry_date": iso str}
        JSON_SPEC: {"seconds": N} | {"timedelta": SECONDS_FLOAT}
                 | {"datetime": "ISO"} | {"none": true}
    fixtures                  {NAME: {"key": str, "data": {...}|null,
                                      "file": str, "key_kept": bool}, ...}
    batch                     {"results": [RESULT, ...]}
        Reads a JSON array of subcommand argument lists from stdin, e.g.
        [["load", "KEY"], ["clear-expired"]], runs them in order in this one
        process (same global options), and reports each one's document: its
        result, or {"error": ..., "message": ...} if it raised. Saves a
        process launch (~150 ms of Django start-up) per command.

Every subcommand prints exactly one (ASCII) JSON document on stdout and exits
0. Any exception prints {"error": "<ExceptionClass>", "message": "..."} on
stdout and exits 1. (Bad command-line usage is argparse's job: exit 2, usage
text on stderr.)
"""

import argparse
import base64
import contextlib
import json
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime, timedelta
from unittest import mock

import django
from django.conf import settings


# --------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------


def configure(args):
    """Configure Django from the global options and return the store class."""
    fallbacks = json.loads(args.fallbacks)
    if not isinstance(fallbacks, list) or not all(
        isinstance(f, str) for f in fallbacks
    ):
        raise ValueError("--fallbacks must be a JSON array of strings")
    settings.configure(
        SECRET_KEY=args.secret,
        SECRET_KEY_FALLBACKS=fallbacks,
        SESSION_ENGINE="django.contrib.sessions.backends.file",
        SESSION_FILE_PATH=args.dir,
        SESSION_COOKIE_NAME=args.cookie_name,
        SESSION_COOKIE_AGE=args.cookie_age,
        USE_TZ=True,
        INSTALLED_APPS=["django.contrib.sessions"],
    )
    django.setup()
    from django.contrib.sessions.backends.file import SessionStore

    return SessionStore


def key_arg(key):
    """'-' on the command line means "no key" (None)."""
    return None if key == "-" else key


def json_object(text):
    """Parse a JSON object given on the command line."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object, got %s" % type(value).__name__)
    return value


# --------------------------------------------------------------------------
# Simple subcommands
# --------------------------------------------------------------------------


def cmd_load(Store, args):
    s = Store(key_arg(args.key))
    data = s.load()
    return {"key": s.session_key, "data": data, "modified": s.modified}


def cmd_get(Store, args):
    s = Store(key_arg(args.key))
    data = dict(s.items())
    return {"key": s.session_key, "data": data}


def cmd_save(Store, args):
    # What a request does: the middleware's access loads the session first,
    # then the view replaces the contents, then the response saves.
    data = json_object(args.json)
    s = Store(key_arg(args.key))
    s.items()
    s.clear()
    s.update(data)
    s.save()
    return {"key": s.session_key}


def cmd_create(Store, args):
    data = json_object(args.json)
    s = Store()
    s.update(data)  # no key -> no load, just fills the cache
    s.create()  # writes the cache under a fresh key
    return {"key": s.session_key}


def cmd_exists(Store, args):
    return {"exists": Store().exists(key_arg(args.key))}


def cmd_delete(Store, args):
    Store().delete(key_arg(args.key))
    return {"ok": True}


def cmd_clear_expired(Store, args):
    Store.clear_expired()
    return {"remaining": sorted(os.listdir(args.dir))}


def cmd_encode(Store, args):
    data = json_object(args.json)
    if args.at is None:
        return {"encoded": Store().encode(data)}
    # django.core.signing calls time.time() for the timestamp.
    with mock.patch("time.time", return_value=args.at):
        return {"encoded": Store().encode(data)}


def cmd_decode(Store, args):
    return {"data": Store().decode(args.string)}


def cmd_set_expiry(Store, args):
    spec = json_object(args.spec)
    if len(spec) != 1:
        raise ValueError("JSON_SPEC must have exactly one member")
    (kind, raw), = spec.items()
    if kind == "seconds":
        value = raw  # int (or float) stored as-is
    elif kind == "timedelta":
        value = timedelta(seconds=raw)
    elif kind == "datetime":
        value = datetime.fromisoformat(raw)
    elif kind == "none":
        value = None
    else:
        raise ValueError("unknown JSON_SPEC kind %r" % kind)
    s = Store(key_arg(args.key))
    s.items()  # load, as a request would
    s.set_expiry(value)
    s.save()
    return {
        "key": s.session_key,
        "expiry_age": s.get_expiry_age(),
        "expiry_date": s.get_expiry_date().isoformat(),
    }


# --------------------------------------------------------------------------
# Fixtures: session files written by real Django, for the Rust side to read
# --------------------------------------------------------------------------

B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

NESTED = {
    "list": [1, "two", None, True, False, 1.5, [], {}],
    "dict": {"inner": {"deep": [{"x": None}]}, "empty": {}},
    "null": None,
    "t": True,
    "f": False,
    "float": 1.5,
    "big_float": 1e16,
    "small_float": 1e-07,
    "neg_zero": -0.0,
    "neg": -42,
    "big_int": 2**70,
    "\u043a\u043b\u044e\u0447": "\u0437\u043d\u0430\u0447\u0435\u043d\u0438\u0435",
    "\U0001f511": ["\U0001f600", "/slash", "quote\"back\\slash"],
}


@contextlib.contextmanager
def storage_dir(Store, path):
    """Temporarily point the backend at another directory.

    The file backend caches its storage path on the class, so the cache has
    to be dropped on the way in and on the way out.
    """
    from django.test.utils import override_settings

    def drop_cache():
        if "_storage_path" in Store.__dict__:
            del Store._storage_path

    with override_settings(SESSION_FILE_PATH=path):
        drop_cache()
        try:
            yield
        finally:
            drop_cache()


def load_copy(Store, src_dir, file_name):
    """Load a session file with Django without touching the original.

    load() has side effects (an expired session is deleted and replaced by a
    new file under a new key), so the file is copied, mtime included, into a
    scratch directory and loaded there. Returns (data, key_after_load).
    """
    prefix = settings.SESSION_COOKIE_NAME
    key = file_name[len(prefix):]
    scratch = tempfile.mkdtemp(prefix="django-sessions-check-")
    try:
        shutil.copy2(os.path.join(src_dir, file_name), os.path.join(scratch, file_name))
        with storage_dir(Store, scratch):
            s = Store(key)
            data = s.load()
            return data, s.session_key
    finally:
        shutil.rmtree(scratch)


def new_session(Store, data, expiry=None):
    """Create and save a session holding `data`; return (key, stored dict)."""
    s = Store()
    s.update(data)
    if expiry is not None:
        s.set_expiry(expiry)
    s.create()
    return s.session_key, dict(s.items())


def file_of(key):
    return settings.SESSION_COOKIE_NAME + key


def replace_last_sig_char(path, same_bits):
    """Change the last char of the file's signature.

    The 43-char signature encodes 32 bytes; its last char carries 4 data bits
    (index >> 2) and 2 unused low bits (index & 3). With same_bits=True the new
    char decodes to the same MAC bytes (only the unused bits differ); with
    False it changes the MAC itself.
    """
    with open(path, encoding="ascii") as f:
        content = f.read()
    old = B64URL.index(content[-1])
    for new in range(64):
        if new != old and ((new >> 2) == (old >> 2)) == same_bits:
            break
    tampered = content[:-1] + B64URL[new]
    # Double-check the claim about the MAC bytes with a lenient decoder.
    mac = lambda text: base64.urlsafe_b64decode(text.rsplit(":", 1)[1] + "=")
    assert (mac(tampered) == mac(content)) == same_bits, (content, tampered)
    with open(path, "w", encoding="ascii") as f:
        f.write(tampered)


def cmd_fixtures(Store, args):
    d = args.dir
    made = {}  # name -> (key, expected data or None, expect key kept?)

    # Sessions that load back to exactly what was stored.
    for name, data in [
        ("plain", {"a": 1, "b": "x"}),
        ("compressed", {"big": "abc" * 100}),
        ("non_ascii", {"u": "\u00e9\u2603\U0001f600", "k\u00e9y": "\u0000\u007f\n\t"}),
        ("nested", NESTED),
    ]:
        key, stored = new_session(Store, data)
        made[name] = (key, stored, True)
    with open(os.path.join(d, file_of(made["compressed"][0])), encoding="ascii") as f:
        assert f.read().startswith("."), "compressed fixture is not compressed"

    # Expiry variants. An expired one loads as {} under a NEW key (load
    # deletes it and creates a fresh empty session).
    key, _ = new_session(Store, {"x": 1}, expiry=timedelta(seconds=-10))
    made["expired_iso"] = (key, None, False)
    key, stored = new_session(Store, {"x": 2}, expiry=timedelta(days=1))
    made["future_iso"] = (key, stored, True)
    key, stored = new_session(Store, {"x": 3}, expiry=3600)
    made["int_expiry"] = (key, stored, True)

    # Signed with the first fallback key (current SECRET_KEY still verifies
    # with the fallback list).
    fallbacks = settings.SECRET_KEY_FALLBACKS
    if fallbacks:
        from django.test.utils import override_settings

        with override_settings(SECRET_KEY=fallbacks[0]):
            key, stored = new_session(Store, {"signed_with": "fallback"})
        # Make sure it really is signed with the fallback, not SECRET_KEY.
        with open(os.path.join(d, file_of(key)), encoding="ascii") as f:
            content = f.read()
        with override_settings(SECRET_KEY_FALLBACKS=[]):
            assert Store().decode(content) == {}, "fallback fixture not fallback-signed"
        made["fallback_signed"] = (key, stored, True)

    # Bad signatures: decode() gives {}, but the key is kept (mtime is fresh).
    key, _ = new_session(Store, {"t": "tampered"})
    replace_last_sig_char(os.path.join(d, file_of(key)), same_bits=False)
    made["tampered"] = (key, None, True)
    key, _ = new_session(Store, {"t": "pad bit"})
    replace_last_sig_char(os.path.join(d, file_of(key)), same_bits=True)
    made["pad_bit"] = (key, None, True)

    # Empty placeholder, as left by create()'s O_EXCL step: loads as a live,
    # empty session (no expiry check at all).
    key = Store()._get_new_session_key()
    with open(os.path.join(d, file_of(key)), "x"):
        pass
    made["placeholder"] = (key, {}, True)

    # Valid session whose mtime is 30 days old: expired by mtime + cookie age
    # (the default cookie age is 14 days).
    key, _ = new_session(Store, {"old": True})
    old = time.time() - 30 * 86400
    os.utime(os.path.join(d, file_of(key)), (old, old))
    made["old_mtime"] = (key, None, False)

    # Self-check every fixture against Django itself, then report.
    out = {}
    for name, (key, expected, key_kept) in made.items():
        loaded, key_after = load_copy(Store, d, file_of(key))
        want = {} if expected is None else expected
        # Compare the JSON texts too, so 1 vs 1.0 vs True count as different.
        assert loaded == want and json.dumps(loaded) == json.dumps(want), (
            name, loaded, want)
        assert (key_after == key) == key_kept, (name, key, key_after)
        out[name] = {
            "key": key,
            "data": expected,
            "file": file_of(key),
            "key_kept": key_kept,
        }
    return out


def cmd_batch(Store, args):
    commands = json.load(sys.stdin)
    if not isinstance(commands, list) or not all(
        isinstance(c, list) and c and all(isinstance(a, str) for a in c)
        for c in commands
    ):
        raise ValueError("batch: stdin must be a JSON array of non-empty string arrays")
    global_argv = [
        "--dir", args.dir,
        "--secret", args.secret,
        "--fallbacks", args.fallbacks,
        "--cookie-name", args.cookie_name,
        "--cookie-age", str(args.cookie_age),
    ]
    results = []
    for command in commands:
        if command[0] == "batch":
            raise ValueError("batch: batches do not nest")
        sub = parser().parse_args(global_argv + command)
        try:
            results.append(sub.func(Store, sub))
        except Exception as e:  # noqa: BLE001 - reported as JSON on purpose
            results.append({"error": type(e).__name__, "message": str(e)})
    return {"results": results}


# --------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------


def parser():
    p = argparse.ArgumentParser(description="Drive Django's file session backend.")
    p.add_argument("--dir", required=True, help="SESSION_FILE_PATH")
    p.add_argument("--secret", required=True, help="SECRET_KEY")
    p.add_argument("--fallbacks", default="[]",
                   help="SECRET_KEY_FALLBACKS as a JSON array (default [])")
    p.add_argument("--cookie-name", default="sessionid",
                   help="SESSION_COOKIE_NAME, also the file-name prefix")
    p.add_argument("--cookie-age", type=int, default=1209600,
                   help="SESSION_COOKIE_AGE in seconds")
    sub = p.add_subparsers(dest="command", required=True)

    def add(name, func, *positionals):
        sp = sub.add_parser(name)
        for pos in positionals:
            sp.add_argument(pos)
        sp.set_defaults(func=func)
        return sp

    add("load", cmd_load, "key")
    add("get", cmd_get, "key")
    add("save", cmd_save, "key", "json")
    add("create", cmd_create, "json")
    add("exists", cmd_exists, "key")
    add("delete", cmd_delete, "key")
    add("clear-expired", cmd_clear_expired)
    add("encode", cmd_encode, "json").add_argument(
        "--at", type=int, default=None, help="UNIX time to sign at")
    add("decode", cmd_decode, "string")
    add("set-expiry", cmd_set_expiry, "key", "spec")
    add("fixtures", cmd_fixtures)
    add("batch", cmd_batch)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        Store = configure(args)
        result = args.func(Store, args)
    except Exception as e:  # noqa: BLE001 - reported as JSON on purpose
        print(json.dumps({"error": type(e).__name__, "message": str(e)}))
        return 1
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
