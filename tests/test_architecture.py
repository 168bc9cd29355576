"""The layer table of README.md "How the code is laid out", checked over the real tree with `ast`.

Each module belongs to exactly one row (no wildcards); a row names the layers it may import, the standard
library it may use (the pure core: a short list) and the third-party roots. On top: only store/ opens a database,
no use case imports another, no import cycles, modules under 400 lines and functions under 60. The probes at the
end show that the checker fails on each kind of breach, so a green run means something.
"""

from __future__ import annotations

import ast
import functools
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "courtsync"


@dataclass(frozen=True)
class Layer:
    modules: tuple[str, ...]      # exact module names, or "pkg." for every module of a package
    may_import: tuple[str, ...]   # layers (its own is always allowed)
    third_party: tuple[str, ...] = ()


# The table README.md shows. Order: lower layers first.
LAYERS: dict[str, Layer] = {
    "foundation": Layer(("__init__", "errors", "models"), ()),
    "files": Layer(("private_files",), ()),
    "config": Layer(("config.",), ("foundation", "files"), ("pydantic", "holidays")),
    "core": Layer(("core.",), ("foundation",), ("dateutil", "holidays")),
    "solver": Layer(("solver",), ("foundation", "core")),
    "store": Layer(("store.",), ("foundation", "files"), ("psycopg", "psycopg_pool")),
    "calendars": Layer(("calendars.",), ("foundation", "core"),
                       ("icalendar", "recurring_ical_events", "requests", "x_wr_timezone", "dateutil",
                        "exchangelib", "msal")),
    "notices": Layer(("notices.",), ("foundation", "files", "core", "config", "calendars"),
                     ("jinja2", "icalendar", "weasyprint", "exchangelib")),
    "sync": Layer(("sync.",), ("foundation", "files", "config", "core", "store", "calendars")),
    "context": Layer(("context", "membership"), ("foundation", "files", "config", "core", "store", "calendars")),
    "queries": Layer(("queries.",), ("foundation", "config", "core", "store", "calendars", "sync", "context")),
    "app": Layer(("app.",), ("foundation", "files", "config", "core", "solver", "store", "calendars", "notices",
                             "sync", "queries", "context"), ("jinja2",)),
    "presenters": Layer(("presenters.",), ("foundation", "core", "sync", "queries", "app"), ("rich",)),
    "web": Layer(("web.",), ("foundation", "config", "context", "core", "app", "notices", "presenters"),
                 ("starlette", "uvicorn")),
    "cli": Layer(("cli.",), ("foundation", "config", "context", "app", "presenters", "web"), ("click", "rich")),
    "entry": Layer(("__main__",), ("cli",)),
}
# The pure core's standard library: values and text, no files, network, processes, threads or clock.
PURE_STDLIB = frozenset({"__future__", "abc", "bisect", "calendar", "collections", "dataclasses", "datetime",
                         "decimal", "difflib", "enum", "fractions", "functools", "hashlib", "heapq", "itertools",
                         "json", "math", "operator", "re", "statistics", "string", "textwrap", "typing",
                         "unicodedata", "zoneinfo"})
DATABASE_DRIVERS = frozenset({"sqlite3", "psycopg", "psycopg_pool"})   # only store/ may import these
LAZY_ONLY = {"exchangelib": ("calendars.ews", "notices.exchange_mail"), "msal": ("calendars.graph",),
             "weasyprint": ("notices.pdf",), "psycopg": ("store.postgres",),
             "psycopg_pool": ("store.postgres",),
             "highspy": ("solver",), "numpy": ("solver",)}   # heavy: imported inside the function that uses them
CLOCK_AND_FILES = ("date.today(", "datetime.now(", "time.time(", "open(", ".read_text(", ".read_bytes(")
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    target: str       # a courtsync module ("core.schedule") or a top-level root ("sqlite3")
    internal: bool
    top_level: bool
    line: int


def layer_of(module: str) -> str | None:
    for name, layer in LAYERS.items():
        if any(module == m or (m.endswith(".") and module.startswith(m)) for m in layer.modules):
            return name
    return None


def read_tree(root: Path = PACKAGE) -> dict[str, str]:
    """module name ("app.check", "core.__init__") -> its source."""
    return {".".join(p.relative_to(root).with_suffix("").parts): p.read_text() for p in sorted(root.rglob("*.py"))}


@functools.cache
def parsed(text: str) -> ast.Module:
    return ast.parse(text)


def imports_of(module: str, text: str, known: set[str]) -> list[Import]:
    return _imports(module, text, frozenset(known))


@functools.cache
def _imports(module: str, text: str, known: frozenset[str]) -> list[Import]:
    tree = parsed(text)
    top = {id(node) for node in tree.body}
    package = module.rsplit(".", 1)[0] if "." in module else ""
    out: list[Import] = []
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:   # relative: resolve against the module's package
                parts = ["courtsync", *package.split(".")] if package else ["courtsync"]
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            # `from courtsync.app import check` imports the module courtsync.app.check
            names = [f"{base}.{a.name}" if _is_module(f"{base}.{a.name}", known) else base for a in node.names]
        for name in names:
            if name == "courtsync" or name.startswith("courtsync."):
                target = name.removeprefix("courtsync").lstrip(".") or "__init__"
                if target not in known and f"{target}.__init__" in known:
                    target = f"{target}.__init__"
                out.append(Import(target, True, id(node) in top, node.lineno))
            else:
                out.append(Import(name.split(".")[0], False, id(node) in top, node.lineno))
    return out


def _is_module(name: str, known: set[str]) -> bool:
    short = name.removeprefix("courtsync.")
    return name.startswith("courtsync.") and (short in known or f"{short}.__init__" in known)


def violations(tree: dict[str, str]) -> list[str]:
    """Every breach of the table in `tree` (module -> source), one line each."""
    known = set(tree)
    bad: list[str] = []
    graph: dict[str, set[str]] = {}
    for module, text in tree.items():
        where = f"courtsync/{module.replace('.', '/')}.py"
        name = layer_of(module)
        if name is None:
            bad.append(f"{where}: in no row of the layer table; add it to a layer")
            continue
        layer = LAYERS[name]
        graph[module] = set()
        for imp in imports_of(module, text, known):
            at = f"{where}:{imp.line}"
            if imp.internal:
                graph[module].add(imp.target)
                other = layer_of(imp.target)
                if other is None:
                    continue   # reported as a module in no row
                if other != name and other not in layer.may_import:
                    bad.append(f"{at}: {name} imports courtsync.{imp.target} ({other})")
                elif name == "app" == other and not imp.target.endswith("__init__"):
                    bad.append(f"{at}: use case courtsync.{module} imports use case courtsync.{imp.target}")
                continue
            root = imp.target
            if root in DATABASE_DRIVERS and name != "store":
                bad.append(f"{at}: {name} imports the database driver {root} (only store/ may)")
            elif name == "core" and root in sys.stdlib_module_names and root not in PURE_STDLIB:
                bad.append(f"{at}: the pure core imports {root}")
            elif root in LAZY_ONLY and (module not in LAZY_ONLY[root] or imp.top_level):
                bad.append(f"{at}: {root} is heavy: import it only inside the function of "
                           f"{' or '.join(LAZY_ONLY[root])} that uses it")
            elif root not in sys.stdlib_module_names and root not in layer.third_party and root not in LAZY_ONLY:
                bad.append(f"{at}: {name} imports {root}")
        if name == "core":
            bad += [f"{where}: the pure core uses {needle}" for needle in CLOCK_AND_FILES if needle in text]
        bad += _size_breaches(where, text)
        if not ast.get_docstring(parsed(text)):
            bad.append(f"{where}: no module docstring naming its job")
    bad += [f"import cycle among: {', '.join(f'courtsync.{m}' for m in cycle)}" for cycle in cycles(graph)]
    return bad


@functools.cache
def _size_breaches(where: str, text: str) -> tuple[str, ...]:
    out = []
    lines = len(text.splitlines())
    if lines >= MAX_MODULE_LINES:
        out.append(f"{where}: {lines} lines (under {MAX_MODULE_LINES}); split it along a seam")
    for node in ast.walk(parsed(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            length = (node.end_lineno or node.lineno) - node.lineno + 1
            if length >= MAX_FUNCTION_LINES:
                out.append(f"{where}:{node.lineno} {node.name}() is {length} lines (under {MAX_FUNCTION_LINES})")
    return tuple(out)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Each strongly connected group of more than one module (or a module importing itself): its members."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:   # Tarjan's algorithm
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in graph.get(v, ()):
                found.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


# --- the real tree ------------------------------------------------------------------------------------------------

def test_the_tree_follows_the_layer_table() -> None:
    bad = violations(read_tree())
    assert not bad, "\n".join(bad)


def test_only_cli_imports_click() -> None:
    tree = read_tree()
    users = {m for m, text in tree.items() for imp in imports_of(m, text, set(tree)) if imp.target == "click"}
    assert users and all(layer_of(m) == "cli" for m in users), users


def test_every_module_is_in_exactly_one_row() -> None:
    for module in read_tree():
        rows = [n for n, layer in LAYERS.items()
                if any(module == m or (m.endswith(".") and module.startswith(m)) for m in layer.modules)]
        assert len(rows) == 1, f"courtsync.{module}: rows {rows}"


def test_the_readme_shows_this_table() -> None:
    readme = (PACKAGE.parent / "README.md").read_text()
    section = readme.split("## How the code is laid out", 1)[1].split("\n## ", 1)[0]
    for name, layer in LAYERS.items():
        assert f"| {name} |" in section, f"README's layer table has no row for {name}"
        row = next(line for line in section.splitlines() if line.startswith(f"| {name} |"))
        for other in layer.may_import:
            assert other in row, f"README's row for {name} does not say it may import {other}"


# --- probes: the checker fails on each breach the issue names -----------------------------------------------------

def probe(module: str, line: str) -> list[str]:
    tree = read_tree()
    assert module in tree, module
    text = tree[module]
    body = parsed(text).body
    after = body[0].end_lineno if body and isinstance(body[0], ast.Expr) else 0   # below the docstring
    lines = text.splitlines()
    tree[module] = "\n".join([*lines[:after], line, *lines[after:]]) + "\n"
    return violations(tree)


@pytest.mark.parametrize(("module", "line", "expected"), [
    ("core.schedule", "import sqlite3", "core imports the database driver sqlite3"),
    ("core.conflicts", "import socket", "the pure core imports socket"),
    ("core.schedule", "import time", "the pure core imports time"),
    ("core.ownership", "import os", "the pure core imports os"),
    ("sync.engine", "from courtsync import cli", "sync imports courtsync.cli.__init__ (cli)"),
    ("store.ledger", "from courtsync.cli import base", "store imports courtsync.cli.base (cli)"),
    ("calendars.ics", "from courtsync.store import sqlite", "calendars imports courtsync.store.sqlite (store)"),
    ("app.digests", "from courtsync.app import scan", "use case courtsync.app.digests imports use case"),
    ("app.scan", "from courtsync.app.check import upcoming", "use case courtsync.app.scan imports use case"),
    ("queries.findings", "import sqlite3", "queries imports the database driver sqlite3"),
    ("cli.base", "from courtsync.store import sqlite", "cli imports courtsync.store.sqlite (store)"),
    ("notices.render", "import weasyprint", "weasyprint is heavy"),
])
def test_the_checker_fails_on_a_probe(module: str, line: str, expected: str) -> None:
    assert not [b for b in violations(read_tree()) if expected in b]   # not there before the probe
    assert any(expected in b for b in probe(module, line)), probe(module, line)


def test_the_checker_finds_an_import_cycle() -> None:
    # Within one layer (so no row forbids it): calendars.ics_text -> calendars.ics -> ... -> ics_text.
    found = probe("calendars.ics_text", "from courtsync.calendars import ics")
    assert any(b.startswith("import cycle among:") and "courtsync.calendars.ics_text" in b for b in found), found
    assert not [b for b in violations(read_tree()) if b.startswith("import cycle among:")]


def test_the_checker_fails_on_size_and_missing_rows() -> None:
    tree = read_tree()
    tree["core.big"] = '"""Too big."""\n' + "x = 1\n" * MAX_MODULE_LINES
    tree["core.long"] = '"""A long function."""\n\n\ndef f() -> None:\n' + "    pass\n" * MAX_FUNCTION_LINES
    tree["helpers"] = '"""A module in no row."""\n'
    found = violations(tree)
    assert any("courtsync/core/big.py: 401 lines" in b for b in found), found
    assert any("f() is 61 lines" in b for b in found), found
    assert any("courtsync/helpers.py: in no row" in b for b in found), found
