"""Fixtures of the unit tests: started TimeKeepers (tests/unit/timekit.py), closed after each test."""
import pytest

from tests.unit.timekit import Keepers


@pytest.fixture
def keepers(tmp_path):
    made = Keepers(tmp_path)
    yield made
    for keeper in list(made.open):
        made.close(keeper)


@pytest.fixture
def keeper(keepers):
    return keepers()
