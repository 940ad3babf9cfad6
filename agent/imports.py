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

`__version__`, which submodules import from the package (`from . import
__version__` in `aiohttp.http`), is read from the `__init__`'s source line so it
needs no run of it; a package whose source has no such line runs its `__init__` at
that first access like any other name.
"""

from __future__ import annotations

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


def defer_init(name: str) -> None:
    """Register package `name` with its `__init__` not yet run; nothing if it is
    imported already. ImportError if it is not an installed package."""
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
        module.__getattr__ = _runs_init(module)  # type: ignore[method-assign]
        sys.modules[name] = module


def _version_of(origin: str | None) -> str | None:
    if origin is None:
        return None
    try:
        source = Path(origin).read_text(encoding="utf-8")
    except OSError:
        return None
    found = _VERSION.search(source)
    return found.group(1) if found else None


def _runs_init(module: ModuleType) -> Any:
    name = module.__name__

    def __getattr__(attr: str) -> Any:
        if attr.startswith("__") and attr.endswith("__"):
            raise AttributeError(attr)  # the import system's probes (__path__ is set)
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
