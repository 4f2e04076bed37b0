#!/usr/bin/env python3
"""Reads Google Benchmark JSON output (--benchmark_out) of Arbiter's benchmarks.

  compare_benchmarks.py compare OLD NEW [--threshold 0.10]
      Matches benchmarks by name and flags every one whose median time grew
      by more than the threshold (default 10%). Exits 1 if any did, 0
      otherwise. OLD and NEW are JSON files or directories of them (as written
      by scripts/run_benchmarks.sh).

  compare_benchmarks.py table RESULTS...
      Prints Markdown tables of the medians: one row per benchmark, one column
      per workload size (S, M, L, XL), the growth from M to L and XL, Check's
      cost as a multiple of the hash-lookup baseline, the 2-thread throughput
      ratio, and the compile and memory counters. BENCHMARKS.md is made of it.

Python 3 standard library only. Medians come from the "median" aggregate of
--benchmark_repetitions runs; a run without repetitions uses its single
iteration entry.
"""

import argparse
import json
import os
import statistics
import sys

SIZES = ["S", "M", "L", "XL"]
TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}
# Counters reported beside the times.
COUNTERS = ["per_grant", "bytes_per_grant", "heap_per_grant", "snapshot_bytes",
            "heap_bytes", "policy_bytes", "grants", "items_per_second"]


def load(paths):
    """Returns {name: record} with the median (or only) run of each benchmark."""
    files = []
    for p in paths:
        if os.path.isdir(p):
            files += sorted(os.path.join(p, f) for f in os.listdir(p)
                            if f.endswith(".json"))
        else:
            files.append(p)
    runs = {}
    medians = {}
    skipped = {}
    for f in files:
        with open(f, encoding="utf-8") as fh:
            data = json.load(fh)
        for b in data.get("benchmarks", []):
            name = b.get("run_name", b["name"])
            if b.get("error_occurred"):
                skipped[name] = b.get("error_message", "error")
                continue
            if b.get("run_type") == "aggregate":
                if b.get("aggregate_name") == "median":
                    medians[name] = b
            else:
                runs.setdefault(name, []).append(b)
    out = {}
    for name, recs in runs.items():
        if name in medians:
            continue
        # Without repetitions: the median of whatever iterations were kept.
        rec = dict(recs[0])
        for key in ["real_time", "cpu_time"] + COUNTERS:
            vals = [r[key] for r in recs if key in r]
            if vals:
                rec[key] = statistics.median(vals)
        out[name] = rec
    out.update(medians)
    return out, skipped


def time_ns(rec):
    """The benchmark's time in ns: real time for UseRealTime runs, else CPU."""
    key = "real_time" if "/real_time" in rec.get("run_name", rec["name"]) else "cpu_time"
    return rec[key] * TO_NS[rec.get("time_unit", "ns")]


def split_size(name):
    """('BM_CheckByIds/mixed/real_time/threads:2', 'M') from a run name."""
    # Fixed-iteration runs carry "/iterations:N": not part of the identity.
    parts = [p for p in name.split("/") if not p.startswith("iterations:")]
    for i, part in enumerate(parts):
        if part in SIZES:
            return "/".join(parts[:i] + parts[i + 1:]), part
    return name, ""


def fmt_ns(ns):
    if ns is None:
        return "—"
    if ns < 1e3:
        return f"{ns:.3g} ns"
    if ns < 1e6:
        return f"{ns / 1e3:.3g} µs"
    if ns < 1e9:
        return f"{ns / 1e6:.3g} ms"
    return f"{ns / 1e9:.3g} s"


def fmt_num(x):
    if x is None:
        return "—"
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def ratio(a, b):
    return f"{a / b:.2f}×" if a is not None and b else "—"


def cmd_compare(args):
    old, _ = load([args.old])
    new, new_skipped = load([args.new])
    worse = []
    rows = []
    for name in sorted(set(old) & set(new)):
        a, b = time_ns(old[name]), time_ns(new[name])
        change = (b - a) / a if a else 0.0
        flag = change > args.threshold
        rows.append((name, a, b, change, flag))
        if flag:
            worse.append(name)
    width = max([len(r[0]) for r in rows] + [9])
    print(f"{'benchmark':<{width}}  {'old':>10}  {'new':>10}  change")
    for name, a, b, change, flag in rows:
        mark = "  SLOWER" if flag else ""
        print(f"{name:<{width}}  {fmt_ns(a):>10}  {fmt_ns(b):>10}  {change:+7.1%}{mark}")
    only_old = sorted(set(old) - set(new))
    only_new = sorted(set(new) - set(old))
    if only_old:
        print(f"\nmissing from NEW: {', '.join(only_old)}")
    if only_new:
        print(f"\nnew benchmarks: {', '.join(only_new)}")
    for name, why in sorted(new_skipped.items()):
        print(f"skipped in NEW: {name}: {why}")
    if worse:
        print(f"\n{len(worse)} benchmark(s) more than {args.threshold:.0%} slower")
        return 1
    print(f"\nno benchmark more than {args.threshold:.0%} slower")
    return 0


def cmd_table(args):
    recs, skipped = load(args.results)
    table = {}  # base -> size -> record
    for name, rec in recs.items():
        base, size = split_size(name)
        table.setdefault(base, {})[size] = rec

    def get(base, size, key=None):
        rec = table.get(base, {}).get(size)
        if rec is None:
            return None
        if key is None:
            return time_ns(rec)
        return rec.get(key)

    sized = sorted(b for b in table if any(s in table[b] for s in SIZES))
    print("### Medians\n")
    print("| Benchmark | " + " | ".join(SIZES) + " | L/M | XL/M |")
    print("|---|" + "---:|" * (len(SIZES) + 2))
    for base in sized:
        vals = [get(base, s) for s in SIZES]
        cells = [fmt_ns(v) for v in vals]
        print(f"| {base} | " + " | ".join(cells) +
              f" | {ratio(vals[2], vals[1])} | {ratio(vals[3], vals[1])} |")

    print("\n### Check as a multiple of the hash-lookup baseline (same run)\n")
    print("| Ratio | " + " | ".join(SIZES) + " |")
    print("|---|" + "---:|" * len(SIZES))
    for check, base in (("BM_CheckByIds/mixed", "BM_Baseline/ids"),
                        ("BM_CheckByIds/direct", "BM_Baseline/ids"),
                        ("BM_CheckByIds/hot", "BM_Baseline/ids"),
                        ("BM_CheckByNames/mixed", "BM_Baseline/names"),
                        ("BM_CheckByNames/direct", "BM_Baseline/names")):
        if check in table:
            print(f"| {check} ÷ {base} | " +
                  " | ".join(ratio(get(check, s), get(base, s)) for s in SIZES) + " |")

    print("\n### Two threads: throughput ratio (items/s, 2 threads ÷ 1 thread)\n")
    print("| Benchmark | " + " | ".join(SIZES) + " | no size |")
    print("|---|" + "---:|" * (len(SIZES) + 1))
    for base in sorted(b for b in table if b.endswith("/threads:1")):
        two = base.replace("/threads:1", "/threads:2")
        cells = []
        for s in SIZES + [""]:
            a = get(base, s, "items_per_second")
            b = get(two, s, "items_per_second")
            cells.append(ratio(b, a))
        print(f"| {base[:-len('/threads:1')]} | " + " | ".join(cells) + " |")

    rows = [("BM_Compile", "per_grant", "compile time per grant", True),
            ("BM_ParsePolicy", "per_grant", "proto parse time per grant", True),
            ("BM_Memory", "bytes_per_grant", "snapshot bytes per grant (MemoryUsage)", False),
            ("BM_Memory", "heap_per_grant", "heap bytes per grant (mallinfo2 delta)", False),
            ("BM_Memory", "snapshot_bytes", "snapshot bytes", False),
            ("BM_Memory", "policy_bytes", "PolicySet binary size", False),
            ("BM_Memory", "grants", "grants", False)]
    if any(b in table for b, _, _, _ in rows):
        print("\n### Compile and memory\n")
        print("| Measure | " + " | ".join(SIZES) + " | L/M | XL/M |")
        print("|---|" + "---:|" * (len(SIZES) + 2))
        for base, key, label, is_time in rows:
            if base not in table:
                continue
            vals = [get(base, s, key) for s in SIZES]
            if is_time:  # inverted rate counters are seconds per unit
                vals = [v * 1e9 if v is not None else None for v in vals]
                cells = [fmt_ns(v) for v in vals]
            else:
                cells = [fmt_num(v) for v in vals]
            print(f"| {label} | " + " | ".join(cells) +
                  f" | {ratio(vals[2], vals[1])} | {ratio(vals[3], vals[1])} |")

    unsized = sorted(b for b in table if "" in table[b])
    if unsized:
        print("\n### Benchmarks without a workload size\n")
        print("| Benchmark | Median | Counters |")
        print("|---|---:|---|")
        for base in unsized:
            rec = table[base][""]
            counters = ", ".join(
                f"{k}={fmt_num(rec[k])}" for k in COUNTERS
                if k in rec and k != "items_per_second")
            print(f"| {base} | {fmt_ns(time_ns(rec))} | {counters} |")

    if skipped:
        print("\nSkipped:\n")
        for name, why in sorted(skipped.items()):
            print(f"* `{name}`: {why}")
    return 0


def main():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("compare", help="flag benchmarks that got slower")
    c.add_argument("old")
    c.add_argument("new")
    c.add_argument("--threshold", type=float, default=0.10,
                   help="relative slow-down that fails (default 0.10)")
    t = sub.add_parser("table", help="Markdown tables of medians")
    t.add_argument("results", nargs="+")
    args = parser.parse_args()
    return cmd_compare(args) if args.command == "compare" else cmd_table(args)


if __name__ == "__main__":
    sys.exit(main())
