"""Third-party packages whose `__init__` imports far more than ringback uses.

`aiohttp/__init__` imports the whole HTTP client (connector, cookie jar, tracing,
multipart: about 4 MB and 50 ms of CPU) although the daemon only serves with
`aiohttp.web`; `holidays/__init__` imports every calendar helper and registers every
country although the site needs one country's module. `defer_init(name)` registers
the package so that importing one of its submodules (`from aiohttp import web`,
`import holidays.registry`) imports that submodule alone, and the package's own
`__init__` runs, once and in full, at the first access to a name it defines
(`aiohttp.ClientSession`, `from holidays import country_holidays`): whoever uses
the package's top level gets exactly what it always got.

`defer_init(name, by_name=True)` is for a package whose `__init__` only re-exports
names of its submodules (`holidays.groups`, `holidays.calendars`: one `from
holidays.groups.christian import ChristianHolidays` line per submodule): a name it
re-exports imports the one submodule that defines it (`from holidays.groups import
ChristianHolidays` imports `holidays.groups.christian` alone), as importing one of
its submodules does; a name the `__init__` does not re-export runs it in full, as
above. The re-exports are read from the `__init__`'s source, at the first name asked;
one whose `__init__` does anything else is deferred as without `by_name`.

`__version__`, which submodules import from the package (`from . import
__version__` in `aiohttp.http`), is read from the `__init__`'s source line so it
needs no run of it; a package whose source has no such line runs its `__init__` at
that first access like any other name.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import re
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import Any

_VERSION = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.MULTILINE)
_lock = threading.RLock()


def defer_init(name: str, *, by_name: bool = False) -> None:
    """Register package `name` with its `__init__` not yet run; nothing if it is
    imported already. With `by_name`, a name the `__init__` re-exports imports its
    submodule alone. ImportError if it is not an installed package."""
    with _lock:
        if name in sys.modules:
            return
        spec = importlib.util.find_spec(name)
        if spec is None or spec.submodule_search_locations is None or spec.loader is None:
            raise ImportError(f"{name} is not an installed package", name=name)
        module = importlib.util.module_from_spec(spec)
        version = _version_of(spec.origin)
        if version is not None:
            module.__version__ = version  # type: ignore[attr-defined]
        module.__getattr__ = _runs_init(module, by_name)  # type: ignore[method-assign]
        sys.modules[name] = module
        parent, _, child = name.rpartition(".")
        if parent:
            setattr(sys.modules[parent], child, module)  # as the import system does


def _version_of(origin: str | None) -> str | None:
    if origin is None:
        return None
    try:
        source = Path(origin).read_text(encoding="utf-8")
    except OSError:
        return None
    found = _VERSION.search(source)
    return found.group(1) if found else None


def _reexports(package: str, origin: str | None) -> dict[str, tuple[str, str]]:
    """Name -> (submodule, its name there) of an `__init__` made only of `from
    .sub import a, b` lines (relative or absolute); empty if it does anything else
    (or has no readable source), so that any name runs it in full."""
    if origin is None:
        return {}
    try:
        tree = ast.parse(Path(origin).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return {}
    found: dict[str, tuple[str, str]] = {}
    for statement in tree.body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant):
            continue  # the docstring
        if not isinstance(statement, ast.ImportFrom) or statement.module is None:
            return {}
        source = f"{package}.{statement.module}" if statement.level == 1 else statement.module
        if statement.level > 1 or not source.startswith(package + "."):
            return {}
        for alias in statement.names:
            if alias.name == "*":
                return {}
            found[alias.asname or alias.name] = (source, alias.name)
    return found


def _runs_init(module: ModuleType, by_name: bool) -> Any:
    name = module.__name__
    table: dict[str, tuple[str, str]] | None = None if by_name else {}

    def __getattr__(attr: str) -> Any:
        nonlocal table
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # the import system's probes (__path__ is set)
        if table is None:
            table = _reexports(name, module.__spec__.origin if module.__spec__ else None)
        if attr in table:
            source, original = table[attr]
            value = getattr(importlib.import_module(source), original)
            module.__dict__[attr] = value  # as the `__init__` would have bound it
            return value
        if importlib.util.find_spec(f"{name}.{attr}") is not None:
            # a submodule (`from aiohttp import web`, `aiohttp.web`): itself alone
            return importlib.import_module(f"{name}.{attr}")
        with _lock:
            if module.__dict__.get("__getattr__") is __getattr__:
                del module.__getattr__
                assert module.__spec__ is not None and module.__spec__.loader is not None
                module.__spec__.loader.exec_module(module)
        if attr in module.__dict__:
            return module.__dict__[attr]
        own = module.__dict__.get("__getattr__")  # the real `__init__`'s (PEP 562)
        if own is not None:
            return own(attr)
        raise AttributeError(f"module {name!r} has no attribute {attr!r}")

    return __getattr__
