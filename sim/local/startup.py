"""How a local run starts: its directories, monerod, the first wallet-rpcs a few at a time,
then the agents; agents with a later start (start/stagger) once their time comes, their
wallet-rpc first (`sim.local.launcher` runs the rest)."""
from __future__ import annotations

import os
import time

import ipc

from sim.local.agents import AgentProcess, agent_argv, agent_env
from sim.local.daemons import NETWORK_PACE, RunDaemons, networked
from sim.local.processes import Supervisor
from sim.local.runclock import make_run_clock
from sim.report.progress import Progress
from sim.report.summary import expectations, short_duration

__all__ = ["Startup", "RUN_DIRS", "start_offset", "counted"]

BOOT_LIMIT = max(2, os.cpu_count() or 1)    # wallet-rpcs starting at once (each spins a core ~1 s)
RUN_DIRS = ("shared/registry", "shared/signals", "journals", "state", "wallets", "ringdb", "daemons",
            "logs")


class Startup:
    """The starting half of `sim.local.launcher.Launcher` (which holds the state these use)."""

    def _prepare(self) -> None:
        for sub in RUN_DIRS:
            (self.run_dir / sub).mkdir(parents=True, exist_ok=True)
        (self.run_dir / "scenario.yaml").write_text(self.scenario.text, encoding="utf-8")
        self._write_run_json()

    def _start(self, supervisor: Supervisor) -> None:
        say = self.display.say
        say(f"run directory {self.run_dir}")
        if self.max_speed is None and self.clock_kind == "lockstep" and networked(self.scenario):
            self.max_speed = NETWORK_PACE     # the links delay in real time (docs/network.md)
        self.clock = make_run_clock(self.clock_kind, self.run_dir, time_scale=self.time_scale,
                                    max_speed=self.max_speed)
        specs = self.scenario.agents()
        self.net = RunDaemons(self.scenario, specs, self.run_dir, supervisor)
        self.net.max_speed = self.max_speed
        self.daemon = self.net.start()
        payers = tuple(r for r, n in expectations(self.run_dir).payments.items() if n > 0)
        self.progress = Progress(self.run_dir, self.daemon.url, payer_roles=payers,
                                 wallets=sum(1 for spec in specs if spec.wallet))
        if self.net.networked:
            links = self.net.plan.links
            say(f"{len(self.net.by_name)} monerod (regtest) peered over {len(links)} emulated links "
                f"(network/links.json); the first at {self.daemon.url}")
        else:
            say(f"monerod (regtest) at {self.daemon.url}")
        if self.net.private:
            say(f"{len(self.net.private)} private monerod (offline) under private/")
        self._supervisor = supervisor
        first = [s for s in specs if start_offset(s) <= 0]
        wallets = {}
        pending = [s for s in first if s.wallet]
        while pending and not self.stopping:    # a few at a time: each spins a core at start-up
            batch, pending = pending[:BOOT_LIMIT], pending[BOOT_LIMIT:]
            started = {s.id: supervisor.start_wallet_rpc(s.id, self.net.for_agent(s.id), login=self._login,
                                                         wait=False)
                       for s in batch}
            for name, wallet in started.items():
                wallet.wait_ready(supervisor.ready_timeout)
                self._ready_wallets.add(name)
            wallets.update(started)
        if self.stopping:
            return
        if wallets:
            say(f"{len(wallets)} monero-wallet-rpc ready")
        self.clock.start()
        for spec in first:
            if self.stopping:
                return
            self._start_agent(spec, wallets.get(spec.id))
        # Later agents (start/stagger) start when their simulated start time comes: their
        # wallet-rpc first, the agent once it answers (see _start_due).
        self._due = sorted((s for s in specs if start_offset(s) > 0), key=start_offset)
        drain = f" + {short_duration(self.drain)} drain" if self.drain else ""
        later = f", {len(self._due)} more later" if self._due else ""
        say(f"{counted(len(self.agents), 'agent')} started{later}; {short_duration(self.duration)}{drain} "
            f"simulated on the {self.clock.describe(self.duration + self.drain)}")

    def _start_agent(self, spec, wallet) -> None:
        private = self.net.private_for(spec.id)
        argv = agent_argv(spec, daemon_url=self.net.for_agent(spec.id).url, wallet_url=wallet.url if wallet else None,
                          shared=self.run_dir / "shared", journals=self.run_dir / "journals",
                          seed=self.scenario.seed, clock=self.clock.agent_args(),
                          status=self.status_journal, python=self.python,
                          private_daemon_url=private.url if private else None)
        agent = AgentProcess(spec, argv, self.run_dir / "logs" / f"agent-{spec.id}.log", wallet,
                             ipc.journal_path(self.run_dir / "journals", spec.id))
        self.agents.append(agent)
        env = agent_env()
        if wallet is not None and self._login is not None:
            env["MONEROSIM_WALLET_LOGIN"] = str(self.scenario.wallet_login)   # never in argv/run.json
        self.clock.hold(f"agent:{spec.id}")           # until it connects to the time keeper
        agent.start(env, self.run_dir)

    def _start_due(self) -> None:
        """Start the wallet-rpcs of agents whose start time has come, and the agents whose
        wallet-rpc answers (never blocking the watch loop)."""
        now = self.clock.elapsed()
        if self._due and start_offset(self._due[0]) <= now:
            self.clock.hold("starts")               # due starts waiting for a boot slot
        while self._due and start_offset(self._due[0]) <= now and len(self._booting) < BOOT_LIMIT:
            spec = self._due.pop(0)
            wallet = (self._supervisor.start_wallet_rpc(spec.id, self.net.for_agent(spec.id), login=self._login,
                                                        wait=False)
                      if spec.wallet else None)
            self.clock.hold(f"wallet:{spec.id}")      # a starting wallet-rpc holds time still
            self._booting[spec.id] = (spec, wallet, time.monotonic())
        if not (self._due and start_offset(self._due[0]) <= now):
            self.clock.unhold("starts")
        for name, (spec, wallet, since) in list(self._booting.items()):
            if wallet is not None and not wallet.ready():
                if not wallet.alive() or time.monotonic() - since > self._supervisor.ready_timeout:
                    del self._booting[name]
                    self.clock.unhold(f"wallet:{name}")
                    self._fail(f"monero-wallet-rpc of {name} did not start (log {wallet.log_path})")
                continue
            del self._booting[name]
            if wallet is not None:
                self._ready_wallets.add(name)
            self._start_agent(spec, wallet)
            self.clock.unhold(f"wallet:{name}")


def start_offset(spec) -> float:
    """Simulated seconds after the run's start at which `spec`'s agent starts."""
    return float(getattr(spec, "start", 0.0) or 0.0)


def counted(count: int, word: str) -> str:
    """`1 agent`, `3 agents`."""
    return f"{count} {word}{'' if count == 1 else 's'}"
