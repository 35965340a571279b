#!/usr/bin/env python3
"""Import cycles between the top-level modules of each crate.

For every crate's `src/`, a module `X` (`src/X.rs` or `src/X/`) depends on `Y` when its
code (comments and the trailing `#[cfg(test)]` module left out) names `crate::Y`. Prints
each group of modules that depend on each other in a circle, and exits 1 if there is
one. Usage: python3 .ci/module-cycles.py [CRATE_DIR ...] (default: every crate).
"""

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CRATES = ["shared", "server", "bot-client", "benches"]


def code_of(path: Path) -> str:
    text = path.read_text()
    # Unit tests may reach anywhere in the crate; only the module's own code counts.
    test_module = re.search(r"^#\[cfg\(test\)\]\s*\n\s*mod tests", text, re.M)
    if test_module:
        text = text[: test_module.start()]
    return "\n".join(line.split("//", 1)[0] for line in text.splitlines())


def graph(src: Path) -> dict[str, set[str]]:
    modules: dict[str, list[Path]] = {}
    for entry in src.iterdir():
        if entry.is_dir():
            modules[entry.name] = sorted(entry.rglob("*.rs"))
        elif entry.suffix == ".rs" and entry.stem not in ("lib", "main"):
            modules[entry.stem] = [entry]
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, files in modules.items():
        for path in files:
            code = code_of(path)
            # `crate::x` and `crate::{x, y::z}`.
            for group in re.findall(r"crate::\{([^}]*)\}", code):
                for item in re.findall(r"(?:^|,)\s*(\w+)", group):
                    if item in modules and item != name:
                        edges[name].add(item)
            for item in re.findall(r"crate::(\w+)", code):
                if item in modules and item != name:
                    edges[name].add(item)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for next_node in sorted(edges[node]):
            if next_node not in index:
                visit(next_node)
                low[node] = min(low[node], low[next_node])
            elif next_node in on_stack:
                low[node] = min(low[node], index[next_node])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    crates = sys.argv[1:] or CRATES
    failed = False
    for crate in crates:
        edges = graph(ROOT / crate / "src")
        for component in cycles(edges):
            failed = True
            links = ", ".join(
                f"{a} -> {b}" for a in component for b in sorted(edges[a]) if b in component
            )
            print(f"{crate}: import cycle between {', '.join(component)} ({links})")
    if not failed:
        print(f"no import cycles between top-level modules in {', '.join(crates)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
