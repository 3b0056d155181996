"""How Shadow says a process ended otherwise than its `expected_final_state`: one log line each,

    ... 00:36:00.000000000 [ERROR] [user-3:11.0.0.9] [process.rs:1557] [shadow_rs::host::process]
    process 'user-3.python3.11.1017' exited with status Normal(1); expected end state was
    exited: 0 but was exited: 1

read back into `ProcessEnd`s (`process_ends`). A process that ended as expected leaves no line.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from sim.report.outcomes import CRASHED, KILLED

__all__ = ["ProcessEnd", "process_ends"]

_LINE = re.compile(r"(?P<at>\d+:\d\d:\d\d\.\d+) \[ERROR\] \[(?P<host>[^:\]]+):[^\]]*\] .*? process "
                   r"'(?P=host)\.(?P<program>.+)\.(?P<pid>\d+)' exited with status (?P<status>.+?); "
                   r"expected end state was (?P<expected>.+?) but was (?P<actual>.+?)\s*$")
_EXITED = re.compile(r"exited: (-?\d+)")


@dataclass(frozen=True)
class ProcessEnd:
    host: str
    program: str        # the executable's file name: monerod, monero-wallet-rpc, python3.11, …
    pid: int            # Shadow's virtual pid: names the process's files in shadow.data/hosts/<host>/
    at: str             # simulated time, hh:mm:ss.nnnnnnnnn
    expected: str       # "exited: 0", "running", "signaled: SIGTERM"
    actual: str

    @property
    def is_python(self) -> bool:
        return self.program.startswith("python")

    @property
    def exit_code(self) -> int | None:
        found = _EXITED.fullmatch(self.actual)
        return int(found.group(1)) if found else None

    @property
    def outcome(self) -> str:
        """The local launcher's words (`sim.local.agents`): killed (still running at Shadow's stop time
        although it should have exited), crashed (exited otherwise than expected, or died by
        a signal); "ended" for a daemon that exited although it should have kept running."""
        if self.actual == "running":
            return KILLED
        if self.expected == "running":
            return "ended"
        return CRASHED

    @property
    def stderr(self) -> str:
        """Its stderr, relative to the run directory."""
        return f"shadow.data/hosts/{self.host}/{self.program}.{self.pid}.stderr"

    def describe(self) -> str:
        return f"ended {self.actual} at {self.at} (expected {self.expected})"

    def record(self) -> dict:
        return asdict(self)


def process_ends(log: Path) -> list[ProcessEnd]:
    """Every unexpected end in Shadow's log, in log order; [] when the log is missing."""
    ends = []
    try:
        with open(log, encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if "expected end state" not in line:
                    continue
                found = _LINE.search(line)
                if found:
                    ends.append(ProcessEnd(found["host"], found["program"], int(found["pid"]), found["at"],
                                           found["expected"], found["actual"]))
    except OSError:
        return []
    return ends
