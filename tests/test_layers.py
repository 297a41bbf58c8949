"""The package's layers point one way: data → metrics/nn/viz → paper000/paper002 → runs → book → cli.

Every ``import`` in ``fairnb`` (function-local ones included) is checked: a module imports only
from its own layer's package or a lower layer, the two papers never import each other, and the
module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "fairnb"

# Lower number = lower layer. Keys are the first component under fairnb.
LAYERS = {
    "errors": 0, "records": 0, "__init__": 0,
    "data": 1,
    "nn": 2,
    "metrics": 3, "viz": 3,
    "paper000": 4, "paper002": 4,
    "runs": 5,
    "book": 6,
    "cli": 7,
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("fairnb")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith("fairnb"):
                found.add(module)
                # ``from fairnb.x import y`` may import the submodule fairnb.x.y
                for alias in node.names:
                    candidate = f"{module}.{alias.name}"
                    if (PACKAGE.parent / Path(*candidate.split("."))).with_suffix(".py").exists() or \
                            (PACKAGE.parent / Path(*candidate.split(".")) / "__init__.py").exists():
                        found.add(candidate)
    return found


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _graph() -> dict[str, set[str]]:
    return {_module_name(p): _imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_top_level_part_has_a_layer():
    tops = {_top(m) for m in _graph()}
    assert tops <= set(LAYERS), f"give these a layer in LAYERS: {sorted(tops - set(LAYERS))}"


def test_imports_point_down_the_layers():
    wrong = []
    for module, imported in _graph().items():
        for target in imported:
            here, there = _top(module), _top(target)
            if here == there:
                continue
            if LAYERS[there] > LAYERS[here] or (LAYERS[there] == LAYERS[here]):
                wrong.append(f"{module} imports {target} ({here} is layer {LAYERS[here]}, {there} is layer {LAYERS[there]})")
    assert not wrong, "imports that point the wrong way:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    graph = {m: {t for t in targets if t in _graph_cache} for m, targets in _graph_cache.items()}
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if nxt.startswith(node + ".") or node.startswith(nxt + "."):
                continue  # a package and its own submodules (``__init__`` re-exports)
            if state.get(nxt) == 1:
                cycles.append(" → ".join(stack[stack.index(nxt):] + [nxt]) if nxt in stack else f"{node} → {nxt}")
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


_graph_cache = _graph()
