"""The import graph of src/paperpred: no cycles, and no import from a lower layer to a higher
one (data -> inputs/outputs -> inference -> modes -> predict/runs -> cli). Imports inside
functions count: a lazy import is still a dependency."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "paperpred"

#: Each top-level module or package of paperpred and its layer. A module may import its own
#: package and anything in a lower layer, nothing else (not a sibling in the same layer).
LAYERS = {
    "errors": 0, "hub": 0,
    "config": 1, "registry": 1,
    "data": 2,
    "inputs": 3, "outputs": 3, "testing": 3,
    "inference": 4, "evaluation": 4,
    "modes": 5,
    "predict": 6, "batch": 6, "metrics_table": 6, "report": 6,
    "runs": 7,
    "cli": 8,
    "__main__": 9,
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


MODULES = {module_name(p): p for p in SRC.rglob("*.py")}


def imports_of(name: str) -> set[str]:
    """The paperpred modules ``name`` imports (at any depth of its code)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                targets.append(full if full in MODULES else module)
        elif isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        found |= {t for t in targets if t == "paperpred" or t.startswith("paperpred.")}
    return found


GRAPH = {name: imports_of(name) for name in MODULES}


def top(name: str) -> str:
    parts = name.split(".")
    return parts[1] if len(parts) > 1 else "paperpred"


def test_every_module_has_a_layer():
    unplaced = sorted({top(n) for n in MODULES} - set(LAYERS) - {"paperpred", "__version__"})
    assert unplaced == [], f"give these a layer in LAYERS: {unplaced}"


def test_no_upward_or_sideways_imports():
    bad = []
    for name, targets in GRAPH.items():
        here = top(name)
        if here == "paperpred":  # the package itself: the public facade re-exports the API
            continue
        for target in targets:
            there = top(target)
            if there == here:
                continue
            if there == "paperpred":
                if here != "cli":  # only the CLI reads the facade (for __version__)
                    bad.append(f"{name} imports the paperpred facade")
                continue
            if LAYERS[there] >= LAYERS[here]:
                bad.append(f"{name} (layer {LAYERS[here]}) imports {target} "
                           f"(layer {LAYERS[there]})")
    assert bad == []


def _cycles() -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in GRAPH.get(node, ()):
            if nxt not in GRAPH:
                continue
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                item = stack.pop()
                on_stack.discard(item)
                component.append(item)
                if item == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(GRAPH):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles():
    assert _cycles() == []


@pytest.mark.parametrize("edge", [("paperpred.data.loader", "paperpred.modes.sft"),
                                  ("paperpred.outputs.base", "paperpred.inputs.base")])
def test_the_check_catches_an_upward_import(edge):
    """The checks are live: an added upward (or sideways) import and a cycle are found."""
    source, target = edge
    GRAPH[source].add(target)
    try:
        with pytest.raises(AssertionError):
            test_no_upward_or_sideways_imports()
    finally:
        GRAPH[source].discard(target)


def test_the_check_catches_a_cycle():
    GRAPH["paperpred.errors"].add("paperpred.config")
    try:
        assert _cycles() == [["paperpred.config", "paperpred.errors"]]
    finally:
        GRAPH["paperpred.errors"].discard("paperpred.config")
