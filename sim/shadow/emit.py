"""YAML scalars for the generated config: strings are always double-quoted (JSON escapes, which
YAML reads back unchanged, plus escapes for YAML's extra line breaks and non-printables); keys are
plain when YAML 1.2 reads them back as the same string."""
from __future__ import annotations

import json
import re

from sim.shadow.configyaml import scalar

__all__ = ["quote", "key"]

_PLAIN_KEY = re.compile(r"[a-z0-9][a-z0-9._-]*")
# YAML's printable set is \t \n \r, 0x20-0x7E, 0x85, 0xA0-0xD7FF, 0xE000-0xFFFD, 0x10000+
_UNSAFE = re.compile("[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\x85\u2028\u2029\ufeff]")


def _escape(match: re.Match) -> str:
    code = ord(match.group())
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def quote(text: str) -> str:
    """A double-quoted YAML scalar holding exactly `text`."""
    return _UNSAFE.sub(_escape, json.dumps(text, ensure_ascii=False))


class _Plain:
    style = None

    def __init__(self, value: str):
        self.value = value


def key(name: str) -> str:
    """`name` plain if YAML reads it back as that string (not `true`, `1.5`, `null`…), else quoted."""
    if _PLAIN_KEY.fullmatch(name) and scalar(_Plain(name)) == name:
        return name
    return quote(name)
