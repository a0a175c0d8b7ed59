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


def targets(report):
    """The issue's targets, checked against one report (the tmpfs run)."""
    ops = report["ops"]
    rows = []

    def row(what, value, goal, met):
        rows.append(f"| {what} | {value} | {goal} | {'met' if met else '**not met**'} |")

    for op, goal in [("load", 5), ("save", 3), ("create", 6), ("clear_expired", 4), ("exists", 4)]:
        r = ratio(ops[op].get("django"), ops[op]["component"])
        row(f"{op}: Django ÷ component", f"{cell(r)}×", f"≥ {goal}×", r is not None and r >= goal)
    for op in OPS:
        r = ratio(ops[op]["component"], ops[op]["native"])
        row(f"{op}: component ÷ native", f"{cell(r)}×", "≤ 1.3×", r <= 1.3)
    req = report["request"]
    r = ratio(req["fresh_instance"], req["component"])
    row("request: fresh instance ÷ warm", f"{cell(r)}×", "≤ 1.5×", r <= 1.5)
    by = {int(m): o for m, o in report["clear_expired_per_file_by_size"].items()}
    lo, hi = by[min(by)]["component"], by[max(by)]["component"]
    r = ratio(hi, lo)
    row(f"clear_expired per file, {max(by):,} ÷ {min(by):,} files", f"{cell(r)}×", "≈ 1× (linear)", r <= 1.5)
    kb = report["wasm_bytes"] / 1000
    row("portable .wasm", f"{kb:.0f} KB", "≤ 200 KB", kb <= 200)
    return "\n".join(["| target | measured | goal | |", "|---|---:|---:|---|"] + rows) + "\n"


if __name__ == "__main__":
    reports = []
    for path in sys.argv[1:]:
        with open(path) as f:
            reports.append(json.load(f))
    if reports:
        print("#### Targets (from the first report)\n")
        print(targets(reports[0]))
    for report in reports:
        print(tables(report))
