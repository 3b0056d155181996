"""Fixtures of the unit tests: started TimeKeepers (tests/unit/timekit.py), closed after each test;
the bad-input corpus run (tests/unit/badinputkit.py), once a session."""
import pytest

from tests.unit.badinputkit import Corpus, run_corpus
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


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> Corpus:
    """Every bad-input command run once in a sandbox (tests/unit/badinputkit.py), for
    test_badinput_corpus.py and test_badinput_cli.py."""
    return run_corpus(tmp_path_factory.mktemp("badinput"))
