"""Parameter values at load time: one value against its parameter's schema, turned into
seconds, a Distribution or a BlackboardRef, or a message saying what is wrong with it.

The jsonschema validators come from the Catalogue, built once per schema and reused.
"""
from __future__ import annotations

import re
from typing import Any

from lang.errors import brief, did_you_mean, kind_of
from lang.values import (DISTRIBUTIONS, DistributionError, DurationError, make_distribution, parse_duration,
                         parse_ref)

from .schema import Catalogue

__all__ = ["ValueChecker", "kind_of", "brief", "as_text", "example_for", "has_param_use", "PARAM_USE"]

PARAM_USE = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_LOOKS_LIKE_REF = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*$")


class ValueChecker:
    """Checks and converts parameter values against their schemas."""

    def __init__(self, catalogue: Catalogue):
        self.cat = catalogue

    def convert(self, value: Any, schema: dict) -> tuple[Any, str | None]:
        """(converted value, None) or (None, message) for one parameter value."""
        kind = schema.get("x-kind")
        refs = schema.get("x-ref", True)
        if isinstance(value, dict) and len(value) == 1:
            (k, v), = value.items()
            if v is None and _LOOKS_LIKE_REF.match(k) and refs and k not in DISTRIBUTIONS:
                return None, f"a blackboard reference must be quoted: write \"{{{k}}}\""
            if schema.get("x-random") and schema.get("type") != "object":
                if k in DISTRIBUTIONS:
                    return self.distribution(k, v, schema)
                if schema.get("type") != "object" and kind != "key" and schema.get("type") is not None:
                    return None, unknown_distribution(k)
                if kind == "duration":
                    return None, unknown_distribution(k)
        if refs:
            ref = parse_ref(value)
            if ref is not None:
                return ref, None
        if kind == "duration":
            try:
                return parse_duration(value), None
            except DurationError as exc:
                return None, str(exc)
        message = self.check_plain(value, schema)
        if message is not None:
            return None, message
        if isinstance(value, dict) and schema.get("x-random"):
            out = {}
            for k, v in value.items():
                inner, message = self.convert(v, {"x-random": True})
                if message is not None:
                    return None, f"{k}: {message}"
                out[k] = inner
            return out, None
        return (_convert_refs(value) if refs else value), None

    def check_plain(self, value: Any, schema: dict) -> str | None:
        errors = sorted(self.cat.validator(schema).iter_errors(value), key=lambda e: len(e.path))
        if not errors:
            return None
        return _humanize(errors[0], value, schema.get("description", ""))

    def distribution(self, kind: str, spec: Any, schema: dict) -> tuple[Any, str | None]:
        cls = DISTRIBUTIONS[kind]
        if kind == "constant":
            if isinstance(spec, dict) and set(spec) == {"value"}:
                spec = spec["value"]
            inner, message = self.convert(spec, {k: v for k, v in schema.items() if k != "x-random"})
            return (None, f"constant: {message}") if message else (make_distribution(kind, {"value": inner}), None)
        if kind == "choice" and isinstance(spec, list):
            spec = {"values": spec}
        if not isinstance(spec, dict):
            fields = ", ".join(cls.required)
            return None, f"{kind} takes a mapping ({fields}), got {kind_of(spec)}"
        args: dict[str, Any] = {}
        for fname, fvalue in spec.items():
            rule = "number" if fname in ("min", "max") else cls.fields.get(fname)
            if rule is None:
                known = list(cls.fields) + ["min", "max"]
                return None, f"{kind}: unknown field {fname!r}{did_you_mean(fname, known)} " \
                             f"(fields: {', '.join(known)})"
            if rule in ("positive", "nonnegative", "number") and schema.get("x-kind") == "duration" \
                    and kind != "lognormal":
                try:
                    fvalue = parse_duration(fvalue) if not (isinstance(fvalue, (int, float)) and
                                                            not isinstance(fvalue, bool) and fvalue < 0) else fvalue
                except DurationError as exc:
                    return None, f"{kind}: {fname}: {exc}"
            if fname == "values" and isinstance(fvalue, list):
                plain = {k: v for k, v in schema.items() if k != "x-random"}
                converted = []
                for item in fvalue:
                    inner, message = self.convert(item, plain)
                    if message:
                        return None, f"choice: value {brief(item)}: {message}"
                    converted.append(inner)
                fvalue = converted
            args[fname] = fvalue
        try:
            return make_distribution(kind, args), None
        except DistributionError as exc:
            return None, str(exc)



def unknown_distribution(name: str) -> str:
    return f"unknown distribution {name!r}" + (did_you_mean(name, DISTRIBUTIONS) or
                                                f" (known: {', '.join(sorted(DISTRIBUTIONS))})")


def has_param_use(value: Any) -> bool:
    if isinstance(value, str):
        return any(m.group(0) != "$${" for m in PARAM_USE.finditer(value))
    if isinstance(value, dict):
        return any(has_param_use(v) for v in value.values())
    if isinstance(value, list):
        return any(has_param_use(v) for v in value)
    return False


def _convert_refs(value: Any) -> Any:
    """Nested "{key}" strings -> BlackboardRef (e.g. inside RecordEvent fields)."""
    if isinstance(value, dict):
        return {k: _convert_refs(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_convert_refs(v) for v in value]
    ref = parse_ref(value)
    return ref if ref is not None else value


def as_text(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return str(int(value)) if abs(value) < 1e15 else repr(value)
    return str(value)


def example_for(schema: dict) -> str:
    kind = schema.get("x-kind")
    if kind == "duration":
        return " (e.g. 30s, 5m)"
    if "enum" in schema:
        return f" (one of: {', '.join(map(str, schema['enum']))})"
    if schema.get("description"):
        return f" ({schema['description']})"
    return ""


_TYPE_WORDS = {"number": "a number", "integer": "a whole number", "string": "a string",
               "boolean": "true or false", "object": "a mapping", "array": "a list", "null": "null"}


def _humanize(error, value: Any, schema_doc: str = "") -> str:
    """A jsonschema error on a parameter value, as a researcher should read it."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.path).lstrip(".")
    prefix = f"{where}: " if where else ""
    inst = error.instance
    v, arg = error.validator, error.validator_value
    if v == "type":
        types = [arg] if isinstance(arg, str) else list(arg)
        expected = " or ".join(_TYPE_WORDS.get(t, t) for t in types)
        hint = ""
        if "boolean" in types and isinstance(inst, str) and inst.lower() in ("yes", "no", "on", "off", "y", "n"):
            hint = f" (did you mean {'true' if inst.lower() in ('yes', 'on', 'y') else 'false'}?)"
        elif isinstance(inst, str) and ("number" in types or "integer" in types) and _looks_numeric(inst):
            hint = " (numbers must not be quoted or zero-padded)"
        return f"{prefix}expected {expected}, got {kind_of(inst)}{hint}"
    if v == "enum":
        return f"{prefix}expected one of {', '.join(map(repr, arg))}, got {brief(inst)}" + \
            (did_you_mean(str(inst), [str(a) for a in arg]) if isinstance(inst, str) else "")
    if v == "const":
        return f"{prefix}must be {arg!r}, got {brief(inst)}"
    if v in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        word = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most",
                "exclusiveMaximum": "below"}[v]
        return f"{prefix}must be {word} {arg}, got {brief(inst)}"
    if v == "pattern":
        what = f" ({schema_doc})" if schema_doc else ""
        return f"{prefix}{brief(inst)} does not match {arg}{what}"
    if v in ("minLength", "minItems"):
        return f"{prefix}must not be empty"
    if v == "required":
        return f"{prefix}{error.message}"
    if v == "additionalProperties":
        return f"{prefix}{error.message}"
    return f"{prefix}{error.message}"


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
        return True
    except ValueError:
        return False



