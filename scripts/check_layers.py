#!/usr/bin/env python3
"""Fails on an #include that crosses Arbiter's layers the wrong way.

Every folder of src/ is one layer (one library target in CMake and Bazel).
A file may include public headers (arbiter/...), generated protos and the
headers of its own folder and of the folders its layer depends on, never
one above: the build could not stop such a back-edge, since every folder
sees every header. docs/architecture.md draws the same graph.

    scripts/check_layers.py            # checks src/, exit 1 on a violation
    scripts/check_layers.py --graph    # prints the allowed graph

Run by CTest (test `layers`) and so by CI.
"""
import os
import re
import sys

# Layer -> the layers it may include (transitively closed below).
DEPS = {
    "internal": [],
    "base": ["internal"],
    "profile": [],
    "demo": [],
    "io": ["internal"],
    "snapshot": ["internal", "base"],
    "eval": ["snapshot"],
    "iam": ["snapshot"],
    "compiler": ["snapshot", "profile"],
    "quota": ["internal", "io"],
    "audit": ["internal", "base", "io"],
    "identity": ["internal", "base", "profile"],
    "engine": ["compiler", "eval", "iam", "identity", "quota"],
    "query": ["engine"],
    "admin": ["engine", "query", "audit", "identity", "quota"],
    "admission": ["engine", "quota"],
    # Optional libraries, above the core.
    "store": ["admin"],
    "replication": ["store"],
}


def closure(layer, seen=None):
    seen = set() if seen is None else seen
    for dep in DEPS[layer]:
        if dep not in seen:
            seen.add(dep)
            closure(dep, seen)
    return seen


INCLUDE = re.compile(r'^\s*#\s*include\s+"src/([a-z_]+)/')


def main():
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    src = os.path.join(root, "src")
    if "--graph" in sys.argv:
        for layer in DEPS:
            print(f"{layer}: {' '.join(sorted(closure(layer))) or '-'}")
        return 0
    problems = []
    for folder in sorted(os.listdir(src)):
        path = os.path.join(src, folder)
        if not os.path.isdir(path):
            continue
        if folder not in DEPS:
            problems.append(f"src/{folder}/: a folder that is no layer "
                            "(add it to scripts/check_layers.py, CMake and "
                            "Bazel)")
            continue
        allowed = closure(folder) | {folder}
        for dirpath, _, files in os.walk(path):
            for name in sorted(files):
                if not name.endswith((".h", ".cc", ".inc")):
                    continue
                file = os.path.join(dirpath, name)
                rel = os.path.relpath(file, root)
                with open(file, encoding="utf-8", errors="replace") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if m and m.group(1) not in allowed:
                            problems.append(
                                f"{rel}:{number}: src/{folder} may not "
                                f"include src/{m.group(1)}/ (allowed: "
                                f"{', '.join(sorted(allowed))})")
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        print(f"{len(problems)} layering problem(s); see docs/architecture.md",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
