"""Many processes hammering ipc documents and journals at once (no locks anywhere)."""

import hashlib
import json
import multiprocessing
import os
import random
import signal
import time
from pathlib import Path

import pytest

from ipc import CorruptDocument, JournalReader, JournalWriter, read_document, read_journal, write_document

pytestmark = pytest.mark.stress

SEED = 20240601
WRITERS = 8
READERS = 2
OPS = 600  # per writer: OPS document replaces + OPS journal lines
POLL = 0.001


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _sha(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _make_doc(writer, seq, rng):
    payload = rng.randbytes(rng.randint(0, 6000)).hex()
    return {"writer": writer, "seq": seq, "payload": payload, "sha256": _sha(payload)}


def _doc_intact(doc, writer):
    return isinstance(doc, dict) and doc.get("writer") == writer and _sha(doc.get("payload", "")) == doc.get("sha256")


def _parses(line):
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def _paths(root, index):
    return Path(root) / "docs" / f"w{index}.json", Path(root) / "journals" / f"w{index}.jsonl"


def _writer(root, index, ops, seed):
    rng = random.Random(seed * 1000 + index)
    doc_path, journal = _paths(root, index)
    with JournalWriter(journal, agent=f"w{index}") as writer:
        for seq in range(ops):
            write_document(doc_path, _make_doc(index, seq, rng))
            writer.append("tick", seq=seq, pad="p" * rng.randint(0, 3000))


def _reader(root, writers, ops, stop, results):
    last_seq = {i: -1 for i in range(writers)}
    next_line = {i: 0 for i in range(writers)}
    tails = {i: JournalReader(_paths(root, i)[1]) for i in range(writers)}
    stats = {"torn": 0, "backwards": 0, "vanished": 0, "doc_reads": 0, "lines": 0, "mid_run_seqs": 0, "errors": []}

    def sweep():
        for i in range(writers):
            doc_path, _ = _paths(root, i)
            try:
                doc = read_document(doc_path)
            except CorruptDocument:
                stats["torn"] += 1
                doc = None
            if doc is None:
                stats["vanished"] += last_seq[i] >= 0
            elif not _doc_intact(doc, i):
                stats["torn"] += 1
            else:
                stats["doc_reads"] += 1
                stats["backwards"] += doc["seq"] < last_seq[i]
                stats["mid_run_seqs"] += 0 <= doc["seq"] < ops - 1
                last_seq[i] = max(last_seq[i], doc["seq"])
            for record in tails[i].read_new():
                stats["lines"] += 1
                if record.get("seq") != next_line[i] or record.get("agent") != f"w{i}":
                    stats["errors"].append(f"w{i}: expected seq {next_line[i]}, got {record.get('seq')}")
                next_line[i] = record.get("seq", -1) + 1

    while not stop.is_set():
        sweep()
        time.sleep(POLL)
    sweep()  # every writer has exited: this pass must see the final state
    stats["final_doc_seqs"] = last_seq
    stats["final_next_line"] = next_line
    stats["skipped"] = sum(t.skipped for t in tails.values())
    results.put(stats)


def test_concurrent_writers_and_readers(tmp_path):
    ctx = _context()
    stop, results = ctx.Event(), ctx.Queue()
    readers = [ctx.Process(target=_reader, args=(tmp_path, WRITERS, OPS, stop, results)) for _ in range(READERS)]
    writers = [ctx.Process(target=_writer, args=(tmp_path, i, OPS, SEED)) for i in range(WRITERS)]
    for process in readers + writers:
        process.start()
    try:
        for process in writers:
            process.join(timeout=50)
            assert process.exitcode == 0, f"writer exit code {process.exitcode}"
    finally:
        stop.set()
    reports = [results.get(timeout=30) for _ in readers]
    for process in readers:
        process.join(timeout=10)
        assert process.exitcode == 0

    for report in reports:
        assert report["torn"] == 0
        assert report["backwards"] == 0
        assert report["vanished"] == 0
        assert report["errors"] == []
        assert report["skipped"] == 0
        assert report["lines"] == WRITERS * OPS
        assert report["final_doc_seqs"] == {i: OPS - 1 for i in range(WRITERS)}
        assert report["final_next_line"] == {i: OPS for i in range(WRITERS)}
        assert report["mid_run_seqs"] > 0, "readers never overlapped the writers"
    for i in range(WRITERS):
        doc_path, journal = _paths(tmp_path, i)
        assert _doc_intact(read_document(doc_path), i) and read_document(doc_path)["seq"] == OPS - 1
        assert [r["seq"] for r in read_journal(journal)] == list(range(OPS))
        assert journal.read_bytes().count(b"\n") == OPS
    assert sorted(os.listdir(tmp_path / "docs")) == sorted(f"w{i}.json" for i in range(WRITERS))


def _doomed_writer(root, seed, started):
    rng = random.Random(seed)
    doc_path, journal = _paths(root, 0)
    writer = JournalWriter(journal, agent="w0")
    seq = 0
    while True:  # runs until SIGKILLed
        write_document(doc_path, _make_doc(0, seq, rng))
        writer.append("tick", seq=seq, pad="k" * rng.choice([10, 1000, 64_000]))
        if seq == 20:
            started.set()
        seq += 1


def test_writer_killed_mid_run(tmp_path):
    rng = random.Random(SEED)
    ctx = _context()
    started = ctx.Event()
    process = ctx.Process(target=_doomed_writer, args=(tmp_path, SEED, started))
    process.start()
    doc_path, journal = _paths(tmp_path, 0)
    tail = JournalReader(journal)
    tailed = []
    try:
        assert started.wait(timeout=20), "writer never got going"
        deadline = time.monotonic() + rng.uniform(0.2, 0.6)
        while time.monotonic() < deadline:  # tail it while it runs
            tailed += tail.read_new()
            assert _doc_intact(read_document(doc_path), 0)
            time.sleep(0.005)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.join(timeout=10)
    assert process.exitcode == -signal.SIGKILL

    doc = read_document(doc_path)
    assert _doc_intact(doc, 0)
    tailed += tail.read_new()
    records = read_journal(journal)
    assert tailed == records
    assert [r["seq"] for r in records] == list(range(len(records)))
    last = len(records) - 1
    assert last >= 20
    assert doc["seq"] in (last, last + 1)  # document is written before the line of the same seq
    leftovers = [n for n in os.listdir(doc_path.parent) if n != doc_path.name]
    assert all(n.startswith(f".{doc_path.name}.") and n.endswith(".tmp") for n in leftovers)

    raw = journal.read_bytes()
    if raw.endswith(b"\n"):  # killed between lines: tear the tail ourselves
        line = json.dumps({"agent": "w0", "event": "tick", "seq": last + 1, "t": 1.0}).encode()
        with open(journal, "ab") as f:
            f.write(line[: len(line) // 2])
        raw = journal.read_bytes()
    assert tail.read_new() == [] and tail.skipped == 0  # torn tail is not a line yet
    fragment = raw[raw.rfind(b"\n") + 1:]
    whole = _parses(fragment)  # torn exactly before its '\n': the record itself survived

    with JournalWriter(journal, agent="w0") as writer:
        restarted = writer.append("restarted", seq=last + 1 + whole)
    survivors = [json.loads(fragment)] if whole else []
    assert tail.read_new() == survivors + [restarted]
    assert tail.skipped == 1 - whole  # only the torn fragment is lost
    again = JournalReader(journal)
    assert again.read_new() == records + survivors + [restarted] and again.skipped == 1 - whole
    write_document(doc_path, _make_doc(0, last + 1, rng))
    assert read_document(doc_path)["seq"] == last + 1
