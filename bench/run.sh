#!/usr/bin/env bash
# Runs the benchmarks on tmpfs and on disk, with real Django, and rewrites the tables in
# PERFORMANCE.md through `sessions bench-report` (the one renderer of the reports).
# Usage: bench/run.sh [DISK_DIR]   (default: ./target/bench-disk)
set -euo pipefail
cd "$(dirname "$0")/.."
disk=${1:-target/bench-disk}
mkdir -p bench/results "$disk"
python=$(bash host-tests/django/ensure-venv.sh target/django-venv | tail -n 1)
cargo build --release -p file-sessions-host
sessions=target/release/sessions
$sessions bench --dir "$disk" --n 300 --rounds 3 --clear-sizes 1000,10000 \
    --django "$python" --json --svg bench/results/disk.svg > bench/results/disk.json
$sessions bench --dir /dev/shm --django "$python" --json --svg bench/results/tmpfs.svg \
    --fresh-svg bench/results/tmpfs-fresh.svg > bench/results/tmpfs.json
$sessions bench-async --dir /dev/shm --n 1000 --rounds 5 --json > bench/results/async-tmpfs.json
$sessions bench-async --dir "$disk" --n 1000 --rounds 5 --json > bench/results/async-disk.json
$sessions bench-report --update PERFORMANCE.md bench/results/tmpfs.json bench/results/disk.json \
    bench/results/async-tmpfs.json bench/results/async-disk.json
echo "PERFORMANCE.md updated from bench/results/"
