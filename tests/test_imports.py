"""No import circles inside the dropbench package.

Every module of ``src/dropbench`` is parsed with :mod:`ast`; every ``import``
and ``from ... import`` that names a dropbench module -- at module level and
inside functions or classes, absolute or relative -- becomes an edge of a graph
of module names, and the graph must have no cycle.  A function-local import
still runs when the function is called, so hiding a circle inside a function
does not remove it.  Only imports under ``if TYPE_CHECKING:`` do not count:
they never run.

Resolution rules:

* a module is named by its dotted path (``dropbench.methods.base``); a
  package by the name of its ``__init__`` (``dropbench.methods``);
* ``import a.b.c`` is an import of ``a.b.c``;
* ``from a.b import c`` is an import of ``a.b.c`` when that is a module (a
  submodule imported by name), otherwise of ``a.b`` (a name defined in it);
* relative imports are resolved against the importing module's package;
* importing ``a.b.c`` first runs the ``__init__`` of ``a`` and ``a.b``, so
  those packages are imported too -- except the importing module's own
  enclosing packages, which Python has already started before the module
  runs (a package's ``__init__`` importing its own submodules is the
  ordinary layout, not a circle).  So ``dropbench.train`` importing
  ``dropbench.methods.base`` imports the whole ``dropbench.methods`` package,
  while ``dropbench.methods.dense`` importing ``.base`` imports only
  ``dropbench.methods.base``.  A package named explicitly (``from . import
  __version__``) is always an import of its ``__init__``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE_ROOT = Path(__file__).resolve().parents[1] / "src" / "dropbench"


def module_names(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file under ``package_dir``."""
    base = package_dir.parent
    names = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = list(path.relative_to(base).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _is_type_checking(test: ast.expr) -> bool:
    if isinstance(test, ast.Name):
        return test.id == "TYPE_CHECKING"
    if isinstance(test, ast.Attribute):
        return test.attr == "TYPE_CHECKING"
    return False


class _ImportCollector(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, known: set[str]) -> None:
        self.package = module if is_package else module.rpartition(".")[0]
        self.known = known
        parts = module.split(".")
        self.started = {".".join(parts[:i]) for i in range(1, len(parts) + 1)}
        self.found: list[tuple[str, int]] = []

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node.test):
            # The body never runs; the else branch does.
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            parts = self.package.split(".")
            if node.level - 1 >= len(parts):
                raise ImportError(f"relative import beyond the top package at line {node.lineno}")
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join(parts + ([node.module] if node.module else []))
        else:
            base = node.module or ""
        for alias in node.names:
            candidate = f"{base}.{alias.name}"
            self._add(candidate if candidate in self.known else base, node.lineno)

    def _add(self, name: str, lineno: int) -> None:
        # ``import dropbench.a.b`` may name a module; a longer dotted name that
        # is not a module cannot be imported, so walk up to the nearest module.
        while name and name not in self.known:
            name = name.rpartition(".")[0]
        if not name:
            return
        self.found.append((name, lineno))
        # The packages Python initialises on the way, unless already started.
        parent = name.rpartition(".")[0]
        while parent:
            if parent not in self.started:
                self.found.append((parent, lineno))
            parent = parent.rpartition(".")[0]


def import_edges(package_dir: Path) -> dict[tuple[str, str], int]:
    """(importer, imported) -> the first line of the importer that makes the edge."""
    files = module_names(package_dir)
    known = set(files)
    edges: dict[tuple[str, str], int] = {}
    for name, path in files.items():
        collector = _ImportCollector(name, path.name == "__init__.py", known)
        collector.visit(ast.parse(path.read_text(encoding="utf-8"), filename=str(path)))
        for target, lineno in collector.found:
            if target != name:
                edges.setdefault((name, target), lineno)
    return edges


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Module -> the package-internal modules it imports (anywhere but under TYPE_CHECKING)."""
    graph: dict[str, set[str]] = {name: set() for name in module_names(package_dir)}
    for source, target in import_edges(package_dir):
        graph[source].add(target)
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The non-trivial strongly connected components, each given as one cycle through it.

    A cycle is returned as a closed path ``[a, b, ..., a]``.  Tarjan's algorithm,
    iterative so deep graphs do not hit the recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            advanced = False
            for succ in successors:
                if succ not in index:
                    index[succ] = low[succ] = counter
                    counter += 1
                    stack.append(succ)
                    on_stack.add(succ)
                    work.append((succ, iter(sorted(graph.get(succ, ())))))
                    advanced = True
                    break
                if succ in on_stack:
                    low[node] = min(low[node], index[succ])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph.get(node, ()):
                    components.append(sorted(component))
    return [_cycle_through(graph, component) for component in sorted(components)]


def _cycle_through(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """A shortest closed path from the component's first member back to itself."""
    members = set(component)
    start = component[0]
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for succ in sorted(graph.get(node, ())):
                if succ not in members:
                    continue
                if succ == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [start, *reversed(path[:-1]), start] if node != start else [start, start]
                if succ not in previous:
                    previous[succ] = node
                    following.append(succ)
        frontier = following
    raise AssertionError(f"no cycle through {component}")  # pragma: no cover


def format_cycles(cycles: list[list[str]]) -> str:
    return "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_dropbench_has_no_import_cycles():
    graph = import_graph(PACKAGE_ROOT)
    assert "dropbench.train" in graph and "dropbench.methods.base" in graph
    cycles = find_cycles(graph)
    if cycles:
        lines = import_edges(PACKAGE_ROOT)
        where = [f"  {a} line {lines[a, b]} imports {b}" for cycle in cycles for a, b in zip(cycle, cycle[1:])]
        raise AssertionError("import cycles in dropbench:\n" + format_cycles(cycles) + "\n" + "\n".join(where))


# -- the finder itself ------------------------------------------------------


def _write(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root / "pkg"


def test_finder_reports_two_modules_importing_each_other(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from . import b\n",
            "pkg/b.py": "def f():\n    from .a import thing\n    return thing\n",
        },
    )
    cycles = find_cycles(import_graph(pkg))
    assert format_cycles(cycles) == "pkg.a -> pkg.b -> pkg.a"


def test_finder_resolves_every_import_form(tmp_path):
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "from .sub import leaf\n",
            "pkg/top.py": (
                "import pkg.sub.leaf\n"
                "from pkg import sub\n"
                "from .sub import helper\n"
                "from .sub.leaf import name\n"
                "import os\n"
            ),
            "pkg/sub/__init__.py": "helper = 1\n",
            "pkg/sub/leaf.py": (
                "from .. import top\n"
                "from ..top import x\n"
                "from . import helper\n"
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from pkg import deep\n"
                "else:\n"
                "    from pkg import other\n"
            ),
            "pkg/deep.py": "",
            "pkg/other.py": "",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg"] == {"pkg.sub.leaf", "pkg.sub"}  # importing pkg.sub.leaf runs pkg/sub/__init__ first
    assert graph["pkg.top"] == {"pkg.sub.leaf", "pkg.sub"}
    # ``from . import helper`` in a submodule names its package's __init__;
    # the TYPE_CHECKING body does not count, its else branch does.
    assert graph["pkg.sub.leaf"] == {"pkg.top", "pkg.sub", "pkg.other"}
    assert format_cycles(find_cycles(graph)) == "pkg.sub.leaf -> pkg.top -> pkg.sub.leaf"


def test_finder_reports_a_longer_cycle_once():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set()}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_finder_counts_the_packages_an_import_initialises(tmp_path):
    # The shape of the circle train.py once had: importing ``methods.base``
    # runs ``methods/__init__``, which imports a method that imports train.
    pkg = _write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/train.py": "from .methods.base import Method\n",
            "pkg/methods/__init__.py": "from .m import M\n",
            "pkg/methods/base.py": "",
            "pkg/methods/m.py": "from .base import Method\n\ndef f():\n    from ..train import fit\n",
        },
    )
    graph = import_graph(pkg)
    assert graph["pkg.train"] == {"pkg.methods.base", "pkg.methods"}
    # A sibling import does not re-enter the package it lives in.
    assert graph["pkg.methods.m"] == {"pkg.methods.base", "pkg.train"}
    assert format_cycles(find_cycles(graph)) == "pkg.methods -> pkg.methods.m -> pkg.train -> pkg.methods"


def test_graph_of_dropbench_sees_imports_everywhere():
    # A graph that lost imports (e.g. by skipping function bodies) would pass
    # the cycle test vacuously.
    graph = import_graph(PACKAGE_ROOT)
    assert {"dropbench.train", "dropbench.methods", "dropbench.cluster"} <= graph["dropbench.cli.commands"]  # all function-local
    assert {"dropbench.dataset", "dropbench.errors"} <= graph["dropbench.train"]
    assert "dropbench.train" in graph["dropbench.methods.base"]


def test_training_imports_nothing_the_cache_key_leaves_out():
    """runs.code_version skips NOT_TRAINING_CODE, so a change there keeps the run cache: sound only while
    training and export (function-local imports too) never reach that code."""
    from dropbench.runs import NOT_TRAINING_CODE

    graph = import_graph(PACKAGE_ROOT)
    reached, todo = set(), ["dropbench.runs", "dropbench.export"]
    while todo:
        module = todo.pop()
        if module not in reached:
            reached.add(module)
            todo += graph.get(module, ())
    left_out = {f"dropbench.{part.removesuffix('.py').replace('/', '.')}" for part in NOT_TRAINING_CODE}
    assert "dropbench.methods.variational" in reached and "dropbench.train" in reached
    assert not [m for m in reached for out in left_out if m == out or m.startswith(out + ".")]
