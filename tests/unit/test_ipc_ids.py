import pytest

from ipc import InvalidAgentId, IpcError, validate_agent_id


@pytest.mark.parametrize("agent_id", ["a", "pool-1", "user.0", "9lives", "m" * 63, "a.b-c.d"])
def test_valid_ids_are_returned_unchanged(agent_id):
    assert validate_agent_id(agent_id) == agent_id


@pytest.mark.parametrize(
    "agent_id, rule",
    [
        ("", "must not be empty"),
        ("a" * 64, "at most 63 characters"),
        ("../x", "path separators"),
        ("a/b", "path separators"),
        ("a\\b", "path separators"),
        ("Upper", "only lowercase a-z, 0-9, '-' and '.' are allowed"),
        ("under_score", "only lowercase a-z, 0-9, '-' and '.' are allowed"),
        ("pool 1", "only lowercase"),
        ("pool\n", "only lowercase"),
        ("café", "only lowercase"),
        (".hidden", "must start with a letter or digit"),
        ("-dash", "must start with a letter or digit"),
        ("a..b", "'..' is not allowed"),
    ],
)
def test_invalid_ids_name_the_rule(agent_id, rule):
    with pytest.raises(InvalidAgentId) as excinfo:
        validate_agent_id(agent_id)
    assert rule in str(excinfo.value)
    assert repr(agent_id) in str(excinfo.value)


def test_pool_underscore_message_is_exact():
    with pytest.raises(InvalidAgentId, match=r"^agent id 'Pool_1': only lowercase a-z, 0-9, '-' and '\.' are allowed$"):
        validate_agent_id("Pool_1")


def test_non_string_rejected():
    with pytest.raises(InvalidAgentId, match="must be a string"):
        validate_agent_id(7)


def test_invalid_agent_id_is_value_error_and_ipc_error():
    with pytest.raises(ValueError):
        validate_agent_id("")
    assert issubclass(InvalidAgentId, IpcError)
