"""One exception root: every project error is a MonerosimError whose exit code says whether the
user's input was wrong (2) or the run could not go on (1); kind_of words a value for messages;
`monerosim` says every error in one place."""
from __future__ import annotations

import pytest

from behaviours.context import MissingEndpoint
from behaviours.registry import RegistryError
from ipc.errors import CorruptDocument, InvalidAgentId, IpcError
from lang.errors import InputError, LoadError, MonerosimError, Problem, brief, exit_status, kind_of
from lang.values import DistributionError, DurationError, is_number
from rpc_client.errors import ConnectionFailed, NotEnoughMoney, RpcError
from sim import cli
from sim.monero import ProcessError
from sim.report.export import ExportError
from sim.report.load import NotARunDirectory
from sim.scenario.units import UnitError
from sim.shadow.configyaml import YamlError
from sim.shadow.generate import GenerateError

# error -> (exit code, the other base code catches it by, or None)
ERRORS = {
    DurationError: (2, ValueError), DistributionError: (2, ValueError), UnitError: (2, ValueError),
    InvalidAgentId: (2, ValueError), RegistryError: (2, None), NotARunDirectory: (2, None),
    ExportError: (2, None), YamlError: (2, None), GenerateError: (2, None),
    MissingEndpoint: (1, RuntimeError), ProcessError: (1, RuntimeError), IpcError: (1, None),
    CorruptDocument: (1, None), RpcError: (1, None), ConnectionFailed: (1, None), NotEnoughMoney: (1, None),
}


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: e.__name__)
def test_every_project_error_is_under_the_root_with_its_exit_code(error):
    code, also = ERRORS[error]
    assert issubclass(error, MonerosimError)
    assert error.exit_code == code
    assert issubclass(error, InputError) == (code == 2)
    if also is not None:
        assert issubclass(error, also)


@pytest.mark.parametrize("value, words", [
    (None, "nothing (null)"), (True, "a boolean (true)"), (False, "a boolean (false)"),
    ({"a": 1}, "a mapping"), ([1], "a list"), (3, "the number 3"), (1.5, "the number 1.5"),
    ("3", "the string '3'"), ("x" * 80, "the string '" + "x" * 56 + "..."),
])
def test_kind_of_words_a_loaded_value(value, words):
    assert kind_of(value) == words


def test_brief_keeps_short_reprs_and_cuts_long_ones_to_60():
    assert brief("abc") == "'abc'"
    assert len(brief("y" * 100)) == 60 and brief("y" * 100).endswith("...")


@pytest.mark.parametrize("text, number", [
    ("1.5", True), ("-2", True), ("1e3", True), ("nan", True), ("inf", True), (7, True),
    ("5m", False), ("", False), ("fast", False), (None, False), ([1], False),
])
def test_is_number_is_what_float_reads(text, number):
    assert is_number(text) is number


def test_exit_status_names_the_program_unless_the_message_says_where(capsys):
    assert exit_status(NotARunDirectory("runs/x: no such directory"), "monerosim") == 2
    assert exit_status(ProcessError("monerod exited"), "monerosim") == 1
    load = LoadError([Problem("s.yaml", 3, 1, "duration", "bad duration")])
    assert exit_status(load, "monerosim") == 2
    assert exit_status(GenerateError(["monerosim: out: already holds shadow.yaml"]), "monerosim") == 2
    assert capsys.readouterr().err.splitlines() == [
        "monerosim: runs/x: no such directory", "monerosim: monerod exited",
        "s.yaml:3:1: duration: bad duration", "monerosim: out: already holds shadow.yaml"]


def test_monerosim_says_a_missing_run_directory_once_with_exit_2(tmp_path, capsys):
    assert cli.main(["summary", str(tmp_path / "none")]) == 2
    assert capsys.readouterr().err == f"monerosim: {tmp_path / 'none'}: not a run directory (no journals/)\n"


def test_monerosim_says_every_bad_number_option(capsys):
    args = ["run", "scenarios/small.yaml", "--time-scale", "fast", "--max-speed", "0"]
    assert cli.main(args) == 2
    assert capsys.readouterr().err.splitlines() == [
        "monerosim: --time-scale fast: expected a number above 0",
        "monerosim: --max-speed 0: expected a number above 0"]


def test_monerosim_report_keeps_its_words_for_an_os_error(tmp_path, capsys, monkeypatch):
    import sim.report

    def unwritable(run, out):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out"))

    monkeypatch.setattr(sim.report, "build_report", unwritable)
    assert cli.main(["report", str(tmp_path)]) == 1
    assert capsys.readouterr().err == f"monerosim: report: [Errno 13] Permission denied: '{tmp_path / 'out'}'\n"
