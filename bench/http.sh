#!/usr/bin/env bash
# The HTTP benchmark (issue 10, section 2) on tmpfs and on disk, every server in one run
# each, with real Django on gunicorn; rewrites PERFORMANCE.md's http section through
# `sessions bench-report` (the one renderer). Needs wrk and, for its rows, the wasmtime CLI.
# Usage: bench/http.sh [DISK_DIR] [bench-http options...]   (default: ./target/bench-disk)
set -euo pipefail
cd "$(dirname "$0")/.."
disk=${1:-target/bench-disk}
shift || true
mkdir -p bench/results "$disk"
chmod 700 "$disk"
python=$(bash host-tests/django/ensure-venv.sh target/django-venv | tail -n 1)
cargo build --release -p file-sessions-host
sessions=target/release/sessions
$sessions --dir /dev/shm bench-http --django "$python" --json --svg bench/results/http-tmpfs.svg "$@" \
    > bench/results/http-tmpfs.json
$sessions --dir "$disk" bench-http --django "$python" --json --svg bench/results/http-disk.svg "$@" \
    > bench/results/http-disk.json
$sessions bench-report --update PERFORMANCE.md bench/results/http-tmpfs.json bench/results/http-disk.json
echo "PERFORMANCE.md updated from bench/results/http-*.json"
