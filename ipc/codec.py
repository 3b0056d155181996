"""The one JSON encoding shared by documents and journals."""

import json


def encode(data) -> str:
    """Return ``data`` as compact, key-sorted, strict JSON (no trailing newline).

    Raises TypeError if ``data`` cannot be written as JSON: unsupported types,
    non-string-sortable keys, NaN/Infinity, or circular references.
    """
    try:
        return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError as exc:  # NaN/Infinity, circular reference
        raise TypeError(f"not JSON-serialisable: {exc}") from None
