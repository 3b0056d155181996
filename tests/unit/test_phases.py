"""Run phases (`sim.report.phases`) from journal records fed through a Tally."""
from sim.report.phases import current_phase, phase_ends
from sim.report.summary import Tally


def feed(tally: Tally, agent: str, event: str, t: float, **fields) -> None:
    tally.feed({"event": event, "t": t, **fields}, agent)


def test_phases_end_in_turn_and_steady_starts_after_the_last():
    tally = Tally()
    payers = ["user-0", "user-1"]
    ends = lambda: phase_ends(tally, 3, payers, controller=True)      # noqa: E731
    assert current_phase(ends()) == "wallets"
    for t, agent in ((5, "pool"), (9, "user-0"), (7, "user-1")):
        feed(tally, agent, "wallet_created", t)
    assert ends()["wallets"] == 9 and current_phase(ends()) == "bootstrap"
    feed(tally, "controller", "signal_issued", 30)
    assert ends()["bootstrap"] == 30 and current_phase(ends()) == "funding"
    feed(tally, "user-1", "funded", 50)
    assert current_phase(ends()) == "funding"
    feed(tally, "user-0", "funded", 80)
    feed(tally, "user-0", "funded", 99)                           # the first one counts
    assert ends() == {"wallets": 9, "bootstrap": 30, "funding": 80}
    assert current_phase(ends()) == "steady"


def test_without_a_controller_or_payers_the_phases_follow_the_wallets():
    tally = Tally()
    feed(tally, "saver", "wallet_opened", 4)
    assert phase_ends(tally, 1, [], controller=False) == {"wallets": 4, "bootstrap": 4,
                                                          "funding": 4}
    assert current_phase(phase_ends(tally, 2, [], controller=False)) == "wallets"


def test_nothing_to_wait_for_is_steady_from_the_start():
    ends = phase_ends(Tally(), 0, [], controller=False)
    assert current_phase(ends) == "steady" and all(v == float("-inf") for v in ends.values())
