#!/usr/bin/env python3
"""Benchmark REAL Django's file session backend, op for op like `sessions bench`.

Every operation goes through `django.contrib.sessions.backends.file.SessionStore`
of the Django installed in the running interpreter (5.2.19 from
host-tests/django/ensure-venv.sh), configured with SECRET_KEY="bench-secret",
USE_TZ=True, the default SESSION_COOKIE_NAME ("sessionid"), SESSION_COOKIE_AGE
(two weeks) and serializer (JSON). The Rust side (host-tests/src/bench.rs) runs
the same operations on the component and natively.

Usage:
    python django_bench.py --dir DIR [--n N] [--rounds R]
                           [--clear-sizes 1000,10000,100000]

`sessions bench --django PYTHON` runs it (embedded in the binary) and renders its report
with the Rust side's; it prints raw JSON only.

DIR is only used through a fresh subdirectory (`django-bench-XXXXXX`) that this
script creates, sets as SESSION_FILE_PATH, and removes at the end (also on
error). Nothing else in DIR is read, written or listed.

DATA, the session every operation stores, is bench/session.json (shared with
the Rust side; a copy is embedded below in case the file is missing). Its
compact JSON is 200 bytes:

    {"_auth_user_id": "42",
     "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
     "_auth_user_hash": "3f2a9c1e7b4d8f60a5c2e9b17d3f4a8c6e1b5d92",   (40 hex)
     "cart": [101, 202, 303], "theme": "dark", "csrf": "Xk3vQ9"}

Operations (each timed individually with time.perf_counter_ns):
  create   timed: `s = SessionStore(); s.update(DATA); s.create()`.
  save     untimed: `s = SessionStore(key); s.items()` (loads an existing
           session); timed: `s["theme"] = "light"` or `"dark"` (alternating
           on every save), then `s.save()`.
  load     timed: `SessionStore(key).load()` of a live session.
  exists   timed: `s.exists(key)` of a live key, one store object reused.
  delete   timed: `s.delete(key)` of an existing session (one store object
           reused); the sessions deleted are those made by that round's
           `create` phase.
  clear_expired
           for each size M of --clear-sizes: a fresh directory (SESSION_FILE_PATH
           switched to it, the class-level `_storage_path` cache cleared) gets M
           files named `sessionid` + 32 random [a-z0-9], all holding the same
           `SessionStore().encode(DATA)` text; the files with an even index
           (ceil(M/2) of them) get their mtime (and atime) set 15 days in the
           past with os.utime, so they are expired; then ONE
           `SessionStore.clear_expired()` call is timed and reported as total
           and per file (total / M). Afterwards exactly the floor(M/2)
           unexpired files must remain (checked by count, and that none of
           the files left has an old mtime).

"Live" sessions: min(N, 500) sessions created before the first round;
save, load and exists cycle through them (op i uses live[i % len(live)]).

Each round runs, in order, N creates, N saves, N loads, N exists and N
deletes. Before round 1, 100 untimed iterations of each op warm up. With R
rounds there are N*R samples per op, and per op we report:
  median_us                   median of all N*R individual timings
  p99_us                      99th percentile of them
  median_of_round_medians_us  median over the R per-round medians
  ops_per_s                   throughput: N*R / (sum of all timings)
Quantiles are taken like the Rust side: sorted[round((len - 1) * q)].

Also reported: peak RSS of this process (getrusage ru_maxrss, KiB), the
filesystem type of DIR (/proc/self/mounts, longest mount-point prefix), and
the Python and Django versions.

Output: exactly one JSON object on stdout:
  {"implementation": "django", "django": "5.2.19", "python": "3.x.y",
   "filesystem": "tmpfs", "dir": DIR, "n": N, "rounds": R, "data_bytes": 200,
   "ops": {"create": {"median_us", "p99_us", "median_of_round_medians_us",
                      "ops_per_s"},
           "save": {...}, "load": {...}, "exists": {...}, "delete": {...},
           "clear_expired": {"1000": {"per_file_us", "total_ms", "files",
                                      "expired", "remaining"}, ...}},
   "peak_rss_kib": ...}
Failures print a traceback on stderr and exit non-zero.
"""

import argparse
import json
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import django
from django.conf import settings

SECRET = "bench-secret"
PREFIX = "sessionid"  # Django's default SESSION_COOKIE_NAME
WARMUP = 100
MAX_LIVE = 500
EXPIRED_AGE_S = 15 * 24 * 3600

# Identical to bench/session.json (used only if that file is missing).
EMBEDDED_DATA = {
    "_auth_user_id": "42",
    "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
    "_auth_user_hash": "3f2a9c1e7b4d8f60a5c2e9b17d3f4a8c6e1b5d92",
    "cart": [101, 202, 303],
    "theme": "dark",
    "csrf": "Xk3vQ9",
}

OPS = ("create", "save", "load", "exists", "delete")


def load_data():
    path = Path(__file__).resolve().parent / "session.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        data = EMBEDDED_DATA
    if not isinstance(data, dict):
        raise ValueError("%s: expected a JSON object" % path)
    size = len(compact(data))
    if not 190 <= size <= 210:
        raise ValueError("DATA is %d bytes of compact JSON, expected 190-210" % size)
    return data


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


# --------------------------------------------------------------------------
# Environment
# --------------------------------------------------------------------------


def filesystem_type(path):
    """Type of the filesystem holding `path`: the longest matching mount point."""
    path = os.path.realpath(path)

    def unescape(field):  # /proc/self/mounts escapes space, tab, newline, \
        out, i = [], 0
        while i < len(field):
            if field[i] == "\\" and field[i + 1 : i + 4].isdigit():
                out.append(chr(int(field[i + 1 : i + 4], 8)))
                i += 4
            else:
                out.append(field[i])
                i += 1
        return "".join(out)

    best = (-1, "unknown")
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="replace") as f:
            for line in f:
                fields = line.split()
                if len(fields) < 3:
                    continue
                mount, fstype = unescape(fields[1]), fields[2]
                inside = (
                    path == mount
                    or mount == "/"
                    or path.startswith(mount.rstrip("/") + "/")
                )
                # ">=": of two mounts on the same point, the later one is visible.
                if inside and len(mount) >= best[0]:
                    best = (len(mount), fstype)
    except OSError:
        pass
    return best[1]


def peak_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def set_storage(Store, path):
    """Point SESSION_FILE_PATH at `path` and drop the store's cached copy of it."""
    settings.SESSION_FILE_PATH = str(path)
    if "_storage_path" in Store.__dict__:
        del Store._storage_path
    assert Store._get_storage_path() == str(path)


# --------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------


def quantile(sorted_ns, q):
    return sorted_ns[round((len(sorted_ns) - 1) * q)]


def summarize(rounds_ns):
    """µs statistics from per-round lists of nanosecond timings."""
    all_ns = sorted(ns for r in rounds_ns for ns in r)
    if not all_ns:
        return {"median_us": None, "p99_us": None,
                "median_of_round_medians_us": None, "ops_per_s": None}
    round_medians = sorted(quantile(sorted(r), 0.5) for r in rounds_ns if r)
    total = sum(all_ns)
    return {
        "median_us": round(quantile(all_ns, 0.5) / 1000, 2),
        "p99_us": round(quantile(all_ns, 0.99) / 1000, 2),
        "median_of_round_medians_us": round(quantile(round_medians, 0.5) / 1000, 2),
        "ops_per_s": round(len(all_ns) / (total / 1e9), 1) if total else None,
    }


# --------------------------------------------------------------------------
# The operations
# --------------------------------------------------------------------------


class Bench:
    def __init__(self, Store, data):
        self.Store = Store
        self.data = data
        self.flip = False
        self.probe = Store()  # reused by exists and delete

    def create(self, count):
        """Times `count` creates; returns (timings, keys created)."""
        Store, data, clock = self.Store, self.data, time.perf_counter_ns
        ns, keys = [], []
        for _ in range(count):
            t = clock()
            s = Store()
            s.update(data)
            s.create()
            ns.append(clock() - t)
            keys.append(s.session_key)
        return ns, keys

    def save(self, live, count):
        Store, clock = self.Store, time.perf_counter_ns
        ns = []
        for i in range(count):
            s = Store(live[i % len(live)])
            s.items()  # untimed: load the existing session
            self.flip = not self.flip
            theme = "light" if self.flip else "dark"
            t = clock()
            s["theme"] = theme
            s.save()
            ns.append(clock() - t)
        return ns

    def load(self, live, count):
        Store, clock = self.Store, time.perf_counter_ns
        ns = []
        for i in range(count):
            key = live[i % len(live)]
            t = clock()
            data = Store(key).load()
            ns.append(clock() - t)
            if not data:
                raise RuntimeError("load of live session %s came back empty" % key)
        return ns

    def exists(self, live, count):
        probe, clock = self.probe, time.perf_counter_ns
        ns = []
        for i in range(count):
            key = live[i % len(live)]
            t = clock()
            found = probe.exists(key)
            ns.append(clock() - t)
            if not found:
                raise RuntimeError("live session %s does not exist" % key)
        return ns

    def delete(self, keys):
        probe, clock = self.probe, time.perf_counter_ns
        ns = []
        for key in keys:
            t = clock()
            probe.delete(key)
            ns.append(clock() - t)
        return ns


def run_ops(bench, root, n, rounds):
    live = bench.create(min(n, MAX_LIVE))[1]

    # Warm-up: 100 untimed iterations of each op.
    _, keys = bench.create(WARMUP)
    bench.save(live, WARMUP)
    bench.load(live, WARMUP)
    bench.exists(live, WARMUP)
    bench.delete(keys)

    samples = {op: [] for op in OPS}
    for _ in range(rounds):
        create_ns, keys = bench.create(n)
        samples["create"].append(create_ns)
        samples["save"].append(bench.save(live, n))
        samples["load"].append(bench.load(live, n))
        samples["exists"].append(bench.exists(live, n))
        samples["delete"].append(bench.delete(keys))

    # Every created session must be gone again, and only the live ones left.
    left = {f for f in os.listdir(root)}
    want = {PREFIX + k for k in live}
    if left != want:
        raise RuntimeError(
            "after the rounds %s holds %d files, expected the %d live sessions"
            % (root, len(left), len(want))
        )
    for k in live:
        os.unlink(os.path.join(root, PREFIX + k))
    return {op: summarize(samples[op]) for op in OPS}


def run_clear(Store, data, root, m):
    """Times one clear_expired() over a fresh directory of m files, half expired."""
    from django.contrib.sessions.backends.base import VALID_KEY_CHARS
    from django.utils.crypto import get_random_string

    d = os.path.join(root, "clear-%d" % m)
    os.mkdir(d)
    set_storage(Store, d)
    encoded = Store().encode(data).encode("ascii")
    old = time.time() - EXPIRED_AGE_S
    # No bookkeeping of the names (it would count in the peak RSS): O_EXCL
    # catches the (unlikely) repeated key, and the check below goes by mtime.
    written = 0
    while written < m:
        path = os.path.join(d, PREFIX + get_random_string(32, VALID_KEY_CHARS))
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        try:
            os.write(fd, encoded)
        finally:
            os.close(fd)
        if written % 2 == 0:
            os.utime(path, (old, old))
        written += 1
    expired = (m + 1) // 2

    t = time.perf_counter_ns()
    Store.clear_expired()
    total_ns = time.perf_counter_ns() - t

    left = os.listdir(d)
    recent = time.time() - EXPIRED_AGE_S / 2
    stale = [f for f in left if os.stat(os.path.join(d, f)).st_mtime < recent]
    if len(left) != m - expired or stale:
        raise RuntimeError(
            "clear_expired over %d files left %d (%d of them expired), expected "
            "exactly the %d unexpired" % (m, len(left), len(stale), m - expired)
        )
    shutil.rmtree(d)
    return {
        "per_file_us": round(total_ns / 1000 / m, 3),
        "total_ms": round(total_ns / 1e6, 3),
        "files": m,
        "expired": expired,
        "remaining": len(left),
    }


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def parse_sizes(text):
    sizes = [int(x) for x in text.split(",") if x.strip()]
    if any(s <= 0 for s in sizes):
        raise argparse.ArgumentTypeError("sizes must be positive integers")
    return sizes


def positive(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--dir", required=True, help="directory to benchmark in")
    p.add_argument("--n", type=positive, default=2000, help="ops per round")
    p.add_argument("--rounds", type=positive, default=5)
    p.add_argument("--clear-sizes", type=parse_sizes, default=[1000, 10000, 100000])
    args = p.parse_args(argv)

    if not os.path.isdir(args.dir):
        p.error("--dir %s is not a directory" % args.dir)
    data = load_data()
    root = tempfile.mkdtemp(prefix="django-bench-", dir=args.dir)
    try:
        ops_dir = os.path.join(root, "ops")
        os.mkdir(ops_dir)
        settings.configure(
            SECRET_KEY=SECRET,
            SESSION_ENGINE="django.contrib.sessions.backends.file",
            SESSION_FILE_PATH=ops_dir,
            USE_TZ=True,
            INSTALLED_APPS=["django.contrib.sessions"],
        )
        django.setup()
        from django.contrib.sessions.backends.file import SessionStore

        set_storage(SessionStore, ops_dir)
        ops = run_ops(Bench(SessionStore, data), ops_dir, args.n, args.rounds)
        os.rmdir(ops_dir)
        ops["clear_expired"] = {
            str(m): run_clear(SessionStore, data, root, m) for m in args.clear_sizes
        }
    finally:
        shutil.rmtree(root, ignore_errors=True)

    report = {
        "implementation": "django",
        "django": django.get_version(),
        "python": platform.python_version(),
        "filesystem": filesystem_type(args.dir),
        "dir": os.path.realpath(args.dir),
        "n": args.n,
        "rounds": args.rounds,
        "data_bytes": len(compact(data)),
        "ops": ops,
        "peak_rss_kib": peak_rss_kib(),
    }
    json.dump(report, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
