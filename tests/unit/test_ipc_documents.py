import os

import pytest

from ipc import CorruptDocument, IpcError, read_document, write_document


def test_roundtrip_and_exact_format(tmp_path):
    path = tmp_path / "doc.json"
    data = {"b": [1, 2.5, None, True], "a": {"z": "ü", "y": 0}}
    write_document(path, data)
    assert read_document(path) == data
    assert path.read_text() == '{"a":{"y":0,"z":"\\u00fc"},"b":[1,2.5,null,true]}\n'


def test_replace_overwrites(tmp_path):
    path = tmp_path / "doc.json"
    write_document(path, {"seq": 1, "pad": "x" * 5000})
    write_document(path, {"seq": 2})
    assert read_document(path) == {"seq": 2}


def test_missing_returns_default(tmp_path):
    assert read_document(tmp_path / "nope.json") is None
    sentinel = object()
    assert read_document(tmp_path / "nope.json", default=sentinel) is sentinel


@pytest.mark.parametrize("content", [b"", b'{"seq": 1', b"\xff\xfe\x00garbage", b"{}\n{}"])
def test_corrupt_raises(tmp_path, content):
    path = tmp_path / "doc.json"
    path.write_bytes(content)
    with pytest.raises(CorruptDocument) as excinfo:
        read_document(path)
    assert excinfo.value.path == path
    assert excinfo.value.reason
    assert isinstance(excinfo.value, IpcError)


def test_no_temp_files_left(tmp_path):
    path = tmp_path / "doc.json"
    for seq in range(20):
        write_document(path, {"seq": seq})
    assert os.listdir(tmp_path) == ["doc.json"]


def test_parent_dirs_created(tmp_path):
    path = tmp_path / "a" / "b" / "c" / "doc.json"
    write_document(path, [1])
    assert read_document(path) == [1]


def test_document_is_world_readable(tmp_path):
    path = tmp_path / "doc.json"
    write_document(path, {})
    assert path.stat().st_mode & 0o777 == 0o644


@pytest.mark.parametrize("bad", [{"x": object()}, {"x": float("nan")}, {1: "a", "b": 2}])
def test_unserialisable_rejected_before_writing(tmp_path, bad):
    path = tmp_path / "doc.json"
    write_document(path, {"keep": True})
    with pytest.raises(TypeError):
        write_document(path, bad)
    assert read_document(path) == {"keep": True}
    assert os.listdir(tmp_path) == ["doc.json"]


def test_failed_write_removes_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "doc.json"
    write_document(path, {"seq": 1})

    def failing_replace(src, dst):
        raise OSError("disk on fire")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_document(path, {"seq": 2})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["doc.json"]
    assert read_document(path) == {"seq": 1}


def test_temp_file_name_pattern(tmp_path, monkeypatch):
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append(os.path.basename(src))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    write_document(tmp_path / "doc.json", {})
    (name,) = seen
    assert name.startswith(f".doc.json.{os.getpid()}.") and name.endswith(".tmp")
