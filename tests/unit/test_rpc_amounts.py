from decimal import Decimal

import pytest

from rpc_client import format_xmr, from_atomic, to_atomic


@pytest.mark.parametrize("xmr, atomic", [
    ("1", 10**12), (1, 10**12), ("0.1", 10**11), (0.1, 10**11), (Decimal("0.3"), 3 * 10**11),
    ("0.000000000001", 1), ("18446744.073709551615", 2**64 - 1), (0, 0), ("  2.5 ", 25 * 10**11),
    (0.3, 300000000000),  # float 0.3 is not 0.299999… here
])
def test_to_atomic_is_exact(xmr, atomic):
    assert to_atomic(xmr) == atomic


@pytest.mark.parametrize("bad", ["0.0000000000001", "-1", "abc", "", "nan", "inf", True, None, [1]])
def test_to_atomic_rejects(bad):
    with pytest.raises(ValueError):
        to_atomic(bad)


def test_from_atomic_and_format_round_trip():
    for atomic in (0, 1, 10**11, 123456789012345, 2**64 - 1):
        assert to_atomic(from_atomic(atomic)) == atomic
        assert to_atomic(format_xmr(atomic)) == atomic
    assert format_xmr(15 * 10**11) == "1.500000000000"
    assert from_atomic(1) == Decimal("0.000000000001")


@pytest.mark.parametrize("bad", [1.0, "1", True])
def test_from_atomic_wants_int(bad):
    with pytest.raises(ValueError):
        from_atomic(bad)


def test_round_to_atomic_rounds_draws_half_even():
    from rpc_client import round_to_atomic
    assert round_to_atomic(0.08347281938475) == 83472819385
    assert round_to_atomic("0.0000000000005") == 0
    assert round_to_atomic("0.0000000000015") == 2
    with pytest.raises(ValueError):
        round_to_atomic("-0.5")
