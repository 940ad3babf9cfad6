"""The house rules of `agent/` and `drivers/`, read from the source with `ast`:

- no import circle between modules, nor between the folders of `agent/`;
- each folder of `agent/` imports only the folders below it in the layering;
- `drivers/` imports of ours only the vocabulary (`agent.model`, `agent.errors`,
  `agent.numbers`: one number mask for every log line; `agent.backoff`: one way to
  wait between retries) and `drivers.base`
  (and its own package);
- `agent/` reaches a driver only through `drivers.base`, `drivers.sources` (SOURCES)
  and `drivers.senders` (SENDERS);
- every folder of `agent/` says in its docstring what it owns.

Imports under `if TYPE_CHECKING:` count: a circle of types is still a circle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Bottom to top: a folder may import the vocabulary and the folders before it.
LAYERS = (
    "config",
    "store",
    "decide",
    "send",
    "cases",
    "report",
    "status",
    "desk",
    "daemon",
    "ops",
    "cli",
)
VOCABULARY = {
    "agent",
    "agent.model",
    "agent.errors",
    "agent.numbers",
    "agent.backoff",
    "agent.plural",
    "agent.client_tls",
}
DRIVER_DOORS = {"drivers.base", "drivers.sources", "drivers.senders"}


def _modules() -> dict[str, Path]:
    found = {}
    for top in ("agent", "drivers"):
        for path in (ROOT / top).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[str]:
    """Every module of ours that `name` imports, at any depth of its source."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        else:
            continue
        for target in targets:
            if target in MODULES and target != name:
                yield target


GRAPH = {name: sorted(set(_imports(name, path))) for name, path in MODULES.items()}


def _cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph.get(root, [])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    component.append(top)
                    if top == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def _folder(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if (parts[0] == "agent" and len(parts) > 2) or module in _FOLDERS else None


_FOLDERS = {f"agent.{layer}" for layer in LAYERS}


def test_no_import_circle_between_modules() -> None:
    assert _cycles(GRAPH) == []


def test_no_import_circle_between_folders() -> None:
    folders: dict[str, set[str]] = {}
    for name, targets in GRAPH.items():
        for target in targets:
            a, b = _folder(name), _folder(target)
            if a and b and a != b:
                folders.setdefault(a, set()).add(b)
    assert _cycles({k: sorted(v) for k, v in folders.items()}) == []


def test_each_folder_imports_only_the_layers_below_it() -> None:
    wrong = []
    for name, targets in GRAPH.items():
        own = _folder(name)
        if own is None:
            continue
        allowed = set(LAYERS[: LAYERS.index(own) + 1])
        for target in targets:
            other = _folder(target)
            if other is not None and other not in allowed:
                wrong.append(f"{name} imports {target}")
    assert wrong == []


def test_the_vocabulary_imports_nothing_of_ours() -> None:
    for name in (VOCABULARY - {"agent"}) | {"agent.imports"}:
        assert GRAPH[name] == [], name


def test_drivers_import_only_the_vocabulary_and_their_base() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith("drivers")
        for target in targets
        if target.startswith("agent") and target not in VOCABULARY
    ]
    assert wrong == []


def test_the_core_reaches_drivers_only_through_the_tables() -> None:
    wrong = [
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if name.startswith("agent")
        for target in targets
        if target.startswith("drivers") and target not in DRIVER_DOORS
    ]
    assert wrong == []


def test_every_folder_says_what_it_owns() -> None:
    for layer in LAYERS:
        doc = ast.get_docstring(ast.parse((ROOT / "agent" / layer / "__init__.py").read_text()))
        assert doc and len(doc) > 80, f"agent/{layer}/__init__.py has no docstring"
    assert not list((ROOT / "agent").glob("*.py")) or {
        p.stem for p in (ROOT / "agent").glob("*.py")
    } <= {"__init__", "model", "errors", "numbers", "backoff", "plural", "client_tls", "imports"}


def test_the_checker_sees_a_circle() -> None:
    """The checker itself: a planted circle is found."""
    assert _cycles({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}) == [["a", "b", "c"]]
