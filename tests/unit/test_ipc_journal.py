import json
import os
from pathlib import Path

import pytest

from ipc import InvalidAgentId, IpcError, JournalReader, JournalWriter, journal_path, read_journal


class FakeClock:
    def __init__(self, now=946684800.0):
        self.now = now

    def __call__(self):
        return self.now


def test_append_and_read(tmp_path):
    path = tmp_path / "j" / "pool-1.jsonl"
    clock = FakeClock(100.1234567)
    with JournalWriter(path, clock=clock, agent="pool-1") as writer:
        first = writer.append("block_mined", height=5, hash="ab")
        clock.now = 101.0
        writer.append("tx_sent", amount=0.5)
    assert first == {"t": 100.123457, "event": "block_mined", "agent": "pool-1", "height": 5, "hash": "ab"}
    assert read_journal(path) == [first, {"t": 101.0, "event": "tx_sent", "agent": "pool-1", "amount": 0.5}]
    assert path.read_text().splitlines()[0] == '{"agent":"pool-1","event":"block_mined","hash":"ab","height":5,"t":100.123457}'


def test_no_agent_field_when_agent_unset(tmp_path):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock(1.0)) as writer:
        assert writer.append("e") == {"t": 1.0, "event": "e"}
    assert read_journal(path) == [{"t": 1.0, "event": "e"}]


def test_each_line_is_one_write(tmp_path, monkeypatch):
    writes = []
    real_write = os.write

    def spy(fd, data):
        writes.append(bytes(data))
        return real_write(fd, data)

    writer = JournalWriter(tmp_path / "x.jsonl", clock=FakeClock())
    monkeypatch.setattr(os, "write", spy)
    writer.append("a", pad="x" * 100_000)
    writer.append("b")
    writer.close()
    assert len(writes) == 2
    assert all(w.endswith(b"\n") and w.count(b"\n") == 1 for w in writes)


def test_short_write_is_completed(tmp_path, monkeypatch):
    real_write = os.write
    writer = JournalWriter(tmp_path / "x.jsonl", clock=FakeClock())
    monkeypatch.setattr(os, "write", lambda fd, data: real_write(fd, bytes(data[:7])))
    record = writer.append("chunky", pad="y" * 50)
    monkeypatch.undo()
    writer.close()
    assert read_journal(tmp_path / "x.jsonl") == [record]


def test_incremental_offset(tmp_path):
    path = tmp_path / "x.jsonl"
    reader = JournalReader(path)
    assert reader.read_new() == [] and reader.offset == 0  # missing file
    writer = JournalWriter(path, clock=FakeClock())
    writer.append("one")
    assert [r["event"] for r in reader.read_new()] == ["one"]
    assert reader.offset == path.stat().st_size
    assert reader.read_new() == []
    writer.append("two")
    writer.append("three")
    assert [r["event"] for r in reader.read_new()] == ["two", "three"]
    resumed = JournalReader(path, offset=reader.offset)
    writer.append("four")
    assert [r["event"] for r in resumed.read_new()] == ["four"]
    writer.close()


def test_partial_trailing_line_ignored_until_completed(tmp_path):
    path = tmp_path / "x.jsonl"
    line = json.dumps({"t": 1, "event": "late"}).encode()
    path.write_bytes(b'{"t":0,"event":"done"}\n' + line[:9])
    reader = JournalReader(path)
    assert [r["event"] for r in reader.read_new()] == ["done"]
    assert reader.offset == len(b'{"t":0,"event":"done"}\n')
    assert reader.read_new() == []
    with open(path, "ab") as f:
        f.write(line[9:] + b"\n")
    assert [r["event"] for r in reader.read_new()] == ["late"]
    assert reader.read_new() == []
    assert reader.skipped == 0


def test_garbage_line_skipped_and_counted(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"event":"a"}\nnot json\n[1,2]\n\xff\xfe\n{"event":"b"}\n')
    reader = JournalReader(path)
    assert [r["event"] for r in reader.read_new()] == ["a", "b"]
    assert reader.skipped == 3
    assert read_journal(path) == [{"event": "a"}, {"event": "b"}]


def test_reopen_after_torn_tail_starts_fresh_line(tmp_path):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock()) as writer:
        writer.append("before", seq=0)
    with open(path, "ab") as f:  # a writer killed mid-line
        f.write(b'{"event":"torn","se')
    with JournalWriter(path, clock=FakeClock()) as writer:
        writer.append("after", seq=1)
    reader = JournalReader(path)
    assert [r["event"] for r in reader.read_new()] == ["before", "after"]
    assert reader.skipped == 1
    assert path.read_bytes().endswith(b'"se\n{"event":"after","seq":1,"t":946684800.0}\n')


def test_reopen_after_clean_tail_adds_no_blank_line(tmp_path):
    path = tmp_path / "x.jsonl"
    for event in ("a", "b"):
        with JournalWriter(path, clock=FakeClock()) as writer:
            writer.append(event)
    assert b"\n\n" not in path.read_bytes()
    reader = JournalReader(path)
    assert len(reader.read_new()) == 2 and reader.skipped == 0


@pytest.mark.parametrize("name", ["t", "agent"])
def test_reserved_field_names_rejected(tmp_path, name):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock(), agent="a") as writer:
        with pytest.raises(ValueError, match="reserved"):
            writer.append("e", **{name: 1})
    assert path.read_bytes() == b""


def test_event_keyword_rejected(tmp_path):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock()) as writer:
        with pytest.raises(ValueError, match="reserved"):
            writer.append("e", event="other")
        with pytest.raises(ValueError, match="empty"):
            writer.append("")
        with pytest.raises(TypeError):
            writer.append(3)
    assert path.read_bytes() == b""


@pytest.mark.parametrize("value", [object(), {1, 2}, float("inf"), b"bytes"])
def test_unserialisable_rejected_without_writing(tmp_path, value):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock()) as writer:
        writer.append("ok")
        size = path.stat().st_size
        with pytest.raises(TypeError):
            writer.append("bad", value=value)
        assert path.stat().st_size == size


def test_closed_writer_rejects_append(tmp_path):
    writer = JournalWriter(tmp_path / "x.jsonl", clock=FakeClock())
    writer.close()
    writer.close()
    assert writer.closed
    with pytest.raises(ValueError, match="closed"):
        writer.append("e")


def test_bad_agent_rejected(tmp_path):
    with pytest.raises(InvalidAgentId):
        JournalWriter(tmp_path / "x.jsonl", agent="Bad_Agent")


def test_shrunk_journal_raises(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_bytes(b'{"event":"a"}\n')
    reader = JournalReader(path)
    reader.read_new()
    path.write_bytes(b"")
    with pytest.raises(IpcError, match="shrank"):
        reader.read_new()


def test_large_lines_across_read_chunks(tmp_path):
    path = tmp_path / "x.jsonl"
    with JournalWriter(path, clock=FakeClock()) as writer:
        for seq in range(5):
            writer.append("big", seq=seq, pad="z" * 700_000)
    reader = JournalReader(path)
    assert [r["seq"] for r in reader.read_new()] == list(range(5))
    assert reader.offset == path.stat().st_size


def test_journal_path(tmp_path):
    assert journal_path(tmp_path, "user-3") == Path(tmp_path) / "user-3.jsonl"
    with pytest.raises(InvalidAgentId):
        journal_path(tmp_path, "../etc")
