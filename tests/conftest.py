"""Session-wide: whole runs that are paced at real time start first and run beside the other
tests; their modules' tests come last (tests/background.py)."""
from __future__ import annotations

import pytest

from tests import background


def _early_modules(items) -> list:
    return list(dict.fromkeys(item.module for item in items
                              if getattr(item, "module", None) is not None
                              and hasattr(item.module, "EARLY_RUNS")))


def pytest_collection_modifyitems(session, config, items):
    early = set(_early_modules(items))
    items[:] = [i for i in items if getattr(i, "module", None) not in early] + \
               [i for i in items if getattr(i, "module", None) in early]


@pytest.fixture(scope="session", autouse=True)
def early_runs(request, tmp_path_factory):
    modules = _early_modules(request.session.items)
    if modules:
        background.set_base(tmp_path_factory.mktemp("early"))
        for module in modules:
            for key, args in module.EARLY_RUNS.items():
                background.start(key, args)
    yield
    background.stop_all()
