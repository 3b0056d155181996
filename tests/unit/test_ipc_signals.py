import json

import pytest

from ipc import CorruptDocument, InvalidAgentId, read_mining_signal, signal_path, write_mining_signal


def test_signal_path(tmp_path):
    assert signal_path(tmp_path) == tmp_path / "signals" / "mining.json"


def test_no_signal_yet(tmp_path):
    assert read_mining_signal(tmp_path) is None


def test_write_and_read(tmp_path):
    signal = write_mining_signal(tmp_path, seq=3, pool="pool-2", blocks=1, issued_at=946684830, reason="resignal")
    assert signal == {"seq": 3, "pool": "pool-2", "blocks": 1, "issued_at": 946684830.0, "reason": "resignal"}
    assert read_mining_signal(tmp_path) == signal
    write_mining_signal(tmp_path, seq=4, pool="pool-1", blocks=2, issued_at=946684900.5)
    assert read_mining_signal(tmp_path) == {"seq": 4, "pool": "pool-1", "blocks": 2, "issued_at": 946684900.5}


@pytest.mark.parametrize(
    "kwargs, error",
    [
        ({"seq": -1}, ValueError),
        ({"seq": 1.0}, ValueError),
        ({"seq": True}, ValueError),
        ({"blocks": 0}, ValueError),
        ({"issued_at": float("nan")}, ValueError),
        ({"issued_at": "now"}, ValueError),
        ({"pool": "Pool_1"}, InvalidAgentId),
        ({"note": object()}, TypeError),
    ],
)
def test_bad_signal_rejected_without_writing(tmp_path, kwargs, error):
    fields = {"seq": 1, "pool": "pool-1", "blocks": 1, "issued_at": 1.0, **kwargs}
    with pytest.raises(error):
        write_mining_signal(tmp_path, **fields)
    assert not signal_path(tmp_path).exists()


@pytest.mark.parametrize("content", ['{"seq": 1', '[1]', '{"seq": 1, "pool": "p"}'])
def test_corrupt_signal_raises(tmp_path, content):
    path = signal_path(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(content)
    with pytest.raises(CorruptDocument):
        read_mining_signal(tmp_path)


def test_file_format_is_compact_sorted(tmp_path):
    write_mining_signal(tmp_path, seq=0, pool="p", blocks=5, issued_at=2.0)
    text = signal_path(tmp_path).read_text()
    assert text == '{"blocks":5,"issued_at":2.0,"pool":"p","seq":0}\n'
    assert json.loads(text)["blocks"] == 5
