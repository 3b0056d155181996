"""Agent ids: an agent id is also its Shadow host name and a file name stem."""

import re

from .errors import InvalidAgentId

__all__ = ["InvalidAgentId", "validate_agent_id", "MAX_AGENT_ID_LENGTH"]

MAX_AGENT_ID_LENGTH = 63  # one DNS label
_CHARSET = re.compile(r"[a-z0-9.-]+")


def validate_agent_id(agent_id: str) -> str:
    """Return ``agent_id`` unchanged if it is a valid agent id.

    Valid: 1..63 characters from lowercase a-z, digits, '-' and '.', starting
    with a letter or digit, never containing '..'.
    Raises InvalidAgentId naming the first rule that failed.
    """
    if not isinstance(agent_id, str):
        raise InvalidAgentId(f"agent id {agent_id!r}: must be a string, not {type(agent_id).__name__}")
    if not agent_id:
        raise InvalidAgentId("agent id '': must not be empty")
    if len(agent_id) > MAX_AGENT_ID_LENGTH:
        raise InvalidAgentId(
            f"agent id {agent_id!r}: at most {MAX_AGENT_ID_LENGTH} characters allowed, got {len(agent_id)}"
        )
    if "/" in agent_id or "\\" in agent_id:
        raise InvalidAgentId(f"agent id {agent_id!r}: path separators '/' and '\\' are not allowed")
    if not _CHARSET.fullmatch(agent_id):
        raise InvalidAgentId(f"agent id {agent_id!r}: only lowercase a-z, 0-9, '-' and '.' are allowed")
    if not agent_id[0].isalnum():
        raise InvalidAgentId(f"agent id {agent_id!r}: must start with a letter or digit")
    if ".." in agent_id:
        raise InvalidAgentId(f"agent id {agent_id!r}: '..' is not allowed")
    return agent_id
