#!/usr/bin/env python3
"""Markdown tables from `sessions bench --json` reports, for PERFORMANCE.md.

Usage: python3 bench/tables.py REPORT.json [REPORT.json ...]
"""
import json
import sys

OPS = ["create", "save", "load", "exists", "delete", "clear_expired"]


def cell(v, digits=2):
    return "-" if v is None else f"{v:.{digits}f}"


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def tables(report):
    ops, p99 = report["ops"], report.get("p99", {})
    out = [
        f"### {report['filesystem']} (n = {report['n']} × {report['rounds']} rounds, "
        f"{report['data_bytes']}-byte session)",
        "",
        "Median µs per operation (p99 in parentheses; `clear_expired` per file at "
        f"{min(int(m) for m in report['clear_expired_per_file_by_size'])} files).",
        "",
        "| op | component | fresh instance | native | Django | Django ÷ component | component ÷ native |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for op in OPS:
        o, q = ops[op], p99.get(op, {})

        def both(way):
            v = o.get(way)
            return cell(v) + (f" ({cell(q[way])})" if q.get(way) is not None else "")

        out.append(
            f"| {op} | {both('component')} | {both('fresh_instance')} | {both('native')} | "
            f"{both('django')} | {cell(ratio(o.get('django'), o.get('component')))}× | "
            f"{cell(ratio(o.get('component'), o.get('native')))}× |"
        )
    out += [
        "",
        "`clear_expired`, µs per file, by directory size (half the sessions expired):",
        "",
        "| files | component | fresh instance | native | Django |",
        "|---:|---:|---:|---:|---:|",
    ]
    for m, o in sorted(report["clear_expired_per_file_by_size"].items(), key=lambda kv: int(kv[0])):
        out.append(
            f"| {int(m):,} | {cell(o.get('component'))} | {cell(o.get('fresh_instance'))} | "
            f"{cell(o.get('native'))} | {cell(o.get('django'))} |"
        )
    r = report["request"]
    mem = report["memory"]
    out += [
        "",
        f"A request (construct, load, set, save, drop): warm instance {cell(r['component'])} µs, "
        f"fresh instance {cell(r['fresh_instance'])} µs "
        f"({cell(ratio(r['fresh_instance'], r['component']))}×).",
        "",
        f"Memory: host peak RSS {mem['host_peak_rss_kib']:,} KiB; guest peak linear memory "
        f"{mem['guest_peak_linear_memory_bytes']:,} bytes (after sweeping the largest directory); "
        f"Django peak RSS {mem.get('django_peak_rss_kib', 0):,} KiB. "
        f"Component: {report['wasm_bytes']:,} bytes.",
        "",
    ]
    return "\n".join(out)


if __name__ == "__main__":
    for path in sys.argv[1:]:
        with open(path) as f:
            print(tables(json.load(f)))
