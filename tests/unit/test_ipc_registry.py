import pytest

from ipc import CorruptDocument, InvalidAgentId, Registry, write_document


def test_publish_get_roundtrip(tmp_path):
    registry = Registry(tmp_path)
    record = registry.publish("pool-1", {"role": "pool", "hashrate": 30, "address": "4abc"})
    assert record == {"agent": "pool-1", "role": "pool", "hashrate": 30, "address": "4abc"}
    assert registry.get("pool-1") == record
    assert (tmp_path / "registry" / "pool-1.json").is_file()
    assert registry.get("pool-2") is None


def test_republish_replaces(tmp_path):
    registry = Registry(tmp_path)
    registry.publish("u1", {"role": "user"})
    registry.publish("u1", {"role": "user", "address": "4x"})
    assert registry.get("u1") == {"agent": "u1", "role": "user", "address": "4x"}


def test_all_sorted_and_role_filter(tmp_path):
    registry = Registry(tmp_path)
    assert registry.all() == []  # no directory yet
    for agent, role in [("user-2", "user"), ("pool-1", "pool"), ("user-10", "user"), ("shop", "marketplace")]:
        registry.publish(agent, {"role": role})
    assert [r["agent"] for r in registry.all()] == ["pool-1", "shop", "user-10", "user-2"]
    assert [r["agent"] for r in registry.all(role="user")] == ["user-10", "user-2"]
    assert registry.all(role="controller") == []


def test_all_skips_temp_hidden_corrupt_and_foreign_files(tmp_path):
    registry = Registry(tmp_path)
    registry.publish("good", {"role": "user"})
    directory = tmp_path / "registry"
    (directory / ".good.json.123.abcd.tmp").write_text('{"agent":"tmp","role":"user"}')
    (directory / ".hidden.json").write_text('{"agent":"hidden","role":"user"}')
    (directory / "torn.json").write_text('{"agent":"torn","ro')
    (directory / "list.json").write_text("[1, 2]")
    (directory / "Bad_Name.json").write_text('{"agent":"Bad_Name"}')
    (directory / "notes.txt").write_text("hello")
    (directory / "dir.json").mkdir()
    assert registry.all() == [{"agent": "good", "role": "user"}]
    with pytest.raises(CorruptDocument):
        registry.get("torn")


def test_remove(tmp_path):
    registry = Registry(tmp_path)
    registry.publish("a", {"role": "user"})
    registry.remove("a")
    registry.remove("a")  # idempotent
    assert registry.get("a") is None
    assert registry.all() == []


def test_invalid_ids_and_records_rejected(tmp_path):
    registry = Registry(tmp_path)
    with pytest.raises(InvalidAgentId):
        registry.publish("../evil", {"role": "user"})
    with pytest.raises(InvalidAgentId):
        registry.get("a/b")
    with pytest.raises(ValueError, match="names agent"):
        registry.publish("a", {"agent": "b"})
    with pytest.raises(TypeError):
        registry.publish("a", ["not", "a", "dict"])
    with pytest.raises(TypeError):
        registry.publish("a", {"x": object()})
    assert registry.all() == []
    assert registry.publish("a", {"agent": "a", "role": "pool"}) == {"agent": "a", "role": "pool"}


def test_all_reads_documents_written_elsewhere(tmp_path):
    write_document(tmp_path / "registry" / "ctl.json", {"agent": "ctl", "role": "controller"})
    assert Registry(tmp_path).all(role="controller") == [{"agent": "ctl", "role": "controller"}]
