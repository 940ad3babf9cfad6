"""Deferred package `__init__`s (agent/imports.py): a submodule imports alone, and the
package's top level is the library's own at the first name asked of it."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> list[str]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_a_submodule_imports_without_the_package_init() -> None:
    """`from aiohttp import web` after `defer_init("aiohttp")` leaves the HTTP client
    (aiohttp.client, aiohttp.connector) unimported; its `__version__` is the library's."""
    code = (
        "import sys, importlib.metadata\n"
        "from agent.imports import defer_init\n"
        "defer_init('aiohttp')\n"
        "from aiohttp import web\n"
        "import aiohttp\n"
        "print('aiohttp.client' in sys.modules, 'aiohttp.connector' in sys.modules)\n"
        "print(aiohttp.__version__ == importlib.metadata.version('aiohttp'))\n"
        "print(web is aiohttp.web)\n"
    )
    assert _run(code) == ["False", "False", "True", "True"]


def test_the_top_level_is_the_librarys_at_first_use() -> None:
    """A name of the package's own `__init__` (attribute or `from ... import`) runs
    it, once, and gives what a plain import gives; a missing name is an
    AttributeError as before, and `defer_init` on an imported package does nothing."""
    code = (
        "import sys\n"
        "from agent.imports import defer_init\n"
        "defer_init('aiohttp')\n"
        "from aiohttp import web\n"
        "import aiohttp\n"
        "from aiohttp import ClientTimeout\n"
        "import aiohttp.client as client\n"
        "print(aiohttp.ClientSession is client.ClientSession)\n"
        "print(ClientTimeout is client.ClientTimeout)\n"
        "try:\n"
        "    aiohttp.no_such_name\n"
        "except AttributeError:\n"
        "    print('AttributeError')\n"
        "defer_init('aiohttp')\n"
        "hook = vars(aiohttp).get('__getattr__')\n"
        "print(sys.modules['aiohttp'] is aiohttp)\n"
        "print(getattr(hook, '__module__', '') != 'agent.imports')\n"
    )
    assert _run(code) == ["True", "True", "AttributeError", "True", "True"]


def test_holidays_top_level_after_a_deferred_init() -> None:
    """`holidays.registry` alone at first; `holidays.country_holidays` afterwards
    works as the library documents."""
    code = (
        "import sys\n"
        "from agent.imports import defer_init\n"
        "defer_init('holidays')\n"
        "import holidays.registry\n"
        "print('holidays.utils' in sys.modules)\n"
        "import holidays\n"
        "print(len(holidays.country_holidays('CA', subdiv='QC', years=2026)) > 5)\n"
    )
    assert _run(code) == ["False", "True"]


def test_by_name_imports_the_one_submodule_of_a_name() -> None:
    """With `by_name`, `from holidays.groups import ChristianHolidays` imports
    `holidays.groups.christian` and not the sixteen other groups; the name is the
    submodule's own, and a submodule of the package still imports alone."""
    code = (
        "import sys\n"
        "from agent.imports import defer_init\n"
        "defer_init('holidays')\n"
        "defer_init('holidays.groups', by_name=True)\n"
        "defer_init('holidays.calendars', by_name=True)\n"
        "from holidays.groups import ChristianHolidays\n"
        "import holidays.groups.christian as christian\n"
        "print(ChristianHolidays is christian.ChristianHolidays)\n"
        "print(sorted(m for m in sys.modules if m.startswith('holidays.groups.')))\n"
        "print('holidays.calendars.islamic' in sys.modules, 'holidays.utils' in sys.modules)\n"
        "import holidays\n"
        "print(holidays.groups is sys.modules['holidays.groups'])\n"
    )
    assert _run(code) == [
        "True",
        "['holidays.groups.christian']",
        "False",
        "False",
        "True",
    ]


def test_by_name_runs_the_init_for_a_name_it_does_not_reexport() -> None:
    """A name the `__init__` does not re-export (nor a submodule of that name) runs
    the `__init__` in full, so a missing name is the AttributeError it always was
    and every re-export is then bound as the library binds it."""
    code = (
        "import sys\n"
        "from agent.imports import defer_init\n"
        "defer_init('holidays')\n"
        "defer_init('holidays.groups', by_name=True)\n"
        "import holidays.groups as groups\n"
        "try:\n"
        "    groups.no_such_name\n"
        "except AttributeError:\n"
        "    print('AttributeError')\n"
        "print('holidays.groups.islamic' in sys.modules)\n"
        "from holidays.groups.islamic import IslamicHolidays\n"
        "print(groups.IslamicHolidays is IslamicHolidays)\n"
    )
    assert _run(code) == ["AttributeError", "True", "True"]
