#!/usr/bin/env python3
"""Lists import cycles between the top-level modules of each crate (core, hls, host): module A imports B when
a file of A names `crate::B`. Prints every cycle found and exits 1 if there is one; part of the test command."""
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def top_module(src: Path, file: Path) -> str:
    parts = file.relative_to(src).with_suffix("").parts
    return "lib" if parts[0] in ("lib", "main", "bin") else parts[0]


def graph(src: Path) -> dict:
    modules = {top_module(src, f) for f in src.rglob("*.rs")} - {"lib"}
    edges = {m: set() for m in modules}
    for file in src.rglob("*.rs"):
        this = top_module(src, file)
        text = re.sub(r"//[^\n]*", "", file.read_text())
        # `use crate::{a, b::c}` and `crate::a::` in paths
        names = set(re.findall(r"crate::(\w+)", text))
        for group in re.findall(r"crate::\{([^}]*)\}", text):
            names.update(re.findall(r"(?:^|,)\s*(\w+)", group))
        if this in modules:
            edges[this].update(n for n in names if n in modules and n != this)
    return edges


def cycles(edges: dict) -> list:
    found, state, stack = [], {}, []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


status = 0
for crate in ("core", "hls", "host"):
    src = ROOT / crate / "src"
    found = cycles(graph(src))
    for cycle in found:
        print(f"{crate}: import cycle {' -> '.join(cycle)}")
        status = 1
    if not found:
        print(f"{crate}: no import cycles between its {len(graph(src))} top-level modules")
sys.exit(status)
