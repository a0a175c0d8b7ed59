#!/usr/bin/env bash
# Runs the benchmark on tmpfs and on disk, with real Django, and rewrites the tables and
# charts in PERFORMANCE.md. Usage: bench/run.sh [DISK_DIR]   (default: ./target/bench-disk)
set -euo pipefail
cd "$(dirname "$0")/.."
disk=${1:-target/bench-disk}
mkdir -p bench/results "$disk"
cargo build --release -p file-sessions-host
target/release/sessions bench --dir "$disk" --n 300 --rounds 3 --clear-sizes 1000,10000 \
    --django --json --svg bench/results/disk.svg > bench/results/disk.json
target/release/sessions bench --dir /dev/shm --django --json --svg bench/results/tmpfs.svg \
    > bench/results/tmpfs.json
target/release/sessions bench-async --dir /dev/shm --n 1000 --rounds 5 --json > bench/results/async-tmpfs.json
target/release/sessions bench-async --dir "$disk" --n 1000 --rounds 5 --json > bench/results/async-disk.json
python3 - <<'PY'
import json
rows = []
for name in ("tmpfs", "disk"):
    r = json.load(open(f"bench/results/async-{name}.json"))
    f = lambda k: r[k]
    rows.append(f"| {r['filesystem']} | {r['n']} | {f('sync_sequential')['us_per_load']:.1f} | "
                f"{f('async_sequential')['us_per_load']:.1f} | {f('async_concurrent')['us_per_load']:.1f} | "
                f"{r['concurrent_vs_sync']:.2f}× |")
table = ("| filesystem | N | sync `load`, sequential (µs/load) | `aload`, sequential | `aload`, N concurrent |"
         " concurrent ÷ sync throughput |\n|---|---:|---:|---:|---:|---:|\n" + "\n".join(rows) + "\n")
import re
doc = open("PERFORMANCE.md").read()
doc = re.sub(r"(<!-- async:begin -->\n).*?(<!-- async:end -->)", lambda m: m[1] + table + m[2], doc, flags=re.S)
open("PERFORMANCE.md", "w").write(doc)
PY
python3 - <<'PY'
import re, subprocess
tables = subprocess.run(["python3", "bench/tables.py", "bench/results/tmpfs.json", "bench/results/disk.json"],
                        check=True, capture_output=True, text=True).stdout
doc = open("PERFORMANCE.md").read()
doc = re.sub(r"(<!-- tables:begin -->\n).*?(<!-- tables:end -->)", lambda m: m[1] + tables + m[2], doc, flags=re.S)
open("PERFORMANCE.md", "w").write(doc)
PY
echo "PERFORMANCE.md updated from bench/results/"
