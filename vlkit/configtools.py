"""Generic dataclass <-> dict machinery: typed construction, dotted overrides, dumping.

Component configs (model, data, train) are plain dataclasses defined next to the code they
configure; this module knows nothing about them, it only walks type hints.
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from typing import Any, Literal, Union

import yaml

from vlkit.utils.errors import ConfigError
from vlkit.utils.suggest import did_you_mean

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}


def _parse_text(text: str) -> Any:
    """Parse a command-line value: YAML for lists/dicts/null, else keep the string."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, (list, dict)) or value is None else text


def coerce(value: Any, hint: Any, key: str) -> Any:
    """Convert `value` to the type `hint`; raise ConfigError naming `key` when impossible."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return value
    if origin in (Union, types.UnionType):
        if value is None or (isinstance(value, str) and value.lower() in ("none", "null")):
            if type(None) in args:
                return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return coerce(value, arg, key)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{key}: cannot be {value!r}")
    if origin is Literal:
        if value in args:
            return value
        return _bad(key, value, "one of " + ", ".join(map(repr, args)) + _hint(value, args))
    if origin in (list, tuple):
        if isinstance(value, str):
            value = _parse_text(value)
        if not isinstance(value, (list, tuple)):
            return _bad(key, value, "a list, e.g. [1, 2]")
        item = args[0] if args else Any
        return [coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if isinstance(value, str):
            value = _parse_text(value)
        if not isinstance(value, dict):
            return _bad(key, value, "a mapping, e.g. {mlm: 1, itm: 1}")
        kt, vt = args if args else (Any, Any)
        return {coerce(k, kt, key): coerce(v, vt, f"{key}.{k}") for k, v in value.items()}
    if dataclasses.is_dataclass(hint):
        if isinstance(value, hint):
            return value
        if not isinstance(value, dict):
            return _bad(key, value, f"a mapping of {hint.__name__} fields")
        return from_dict(hint, value, prefix=key)
    return _coerce_scalar(value, hint, key)


def _hint(value: Any, choices: Any) -> str:
    return f" ({did_you_mean(str(value), [str(c) for c in choices])})"


def _bad(key: str, value: Any, expected: str) -> Any:
    raise ConfigError(f"config key '{key}': got {value!r}, expected {expected}")


def _coerce_scalar(value: Any, hint: Any, key: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (str, int)) and str(value).lower() in _TRUE | _FALSE:
            return str(value).lower() in _TRUE
        return _bad(key, value, "true or false")
    if hint is int:
        if isinstance(value, bool):
            return _bad(key, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                number = float(value.replace("_", ""))
            except ValueError:
                return _bad(key, value, "an integer")
            if number.is_integer():
                return int(number)
        return _bad(key, value, "an integer")
    if hint is float:
        if isinstance(value, bool):
            return _bad(key, value, "a number")
        try:
            return float(value)
        except (TypeError, ValueError):
            return _bad(key, value, "a number")
    if hint is str:
        if isinstance(value, (dict, list)) or value is None:
            return _bad(key, value, "a string")
        return str(value)
    raise ConfigError(f"config key '{key}': unsupported type {hint!r}")


def field_hints(cls: type) -> dict[str, Any]:
    """Resolved type hints of a dataclass's fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def from_dict(cls: type, data: dict, prefix: str = "") -> Any:
    """Build dataclass `cls` from a nested dict, rejecting unknown keys with a suggestion."""
    hints = field_hints(cls)
    kwargs = {}
    for name, value in data.items():
        key = f"{prefix}.{name}" if prefix else str(name)
        if name not in hints:
            full = [f"{prefix}.{h}" if prefix else h for h in hints]
            raise ConfigError(f"unknown config key '{key}': {did_you_mean(key, full)}")
        kwargs[name] = coerce(value, hints[name], key)
    try:
        obj = cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ConfigError(f"config section '{prefix or cls.__name__}': {err}") from err
    check_ranges(obj, prefix)
    return obj


_RULE = re.compile(r"^(>=|>|<=|<)\s*(\S+)$|^([\[(])\s*(\S+),\s*(\S+)\s*([\])])$")


def _in_range(value: float, rule: str) -> bool:
    """`value` against a rule written as in the docs: ">= 1", "> 0", "[0, 1)", "[0, 1]"."""
    m = _RULE.match(rule)
    if m is None:
        raise ValueError(f"bad range rule {rule!r}")
    if m.group(1):
        bound = float(m.group(2))
        return {">=": value >= bound, ">": value > bound,
                "<=": value <= bound, "<": value < bound}[m.group(1)]
    low, high = float(m.group(4)), float(m.group(5))
    above = value >= low if m.group(3) == "[" else value > low
    below = value <= high if m.group(6) == "]" else value < high
    return above and below


def check_ranges(obj: Any, prefix: str = "") -> None:
    """Check each field named in the dataclass's `RANGES` (field -> rule, e.g. ">= 1"); a list
    or mapping field has each of its values checked. Raises ConfigError naming the key."""
    for name, rule in getattr(type(obj), "RANGES", {}).items():
        key = f"{prefix}.{name}" if prefix else name
        value = getattr(obj, name)
        items = (value.items() if isinstance(value, dict)
                 else enumerate(value) if isinstance(value, list) else [(None, value)])
        for sub, item in items:
            where = key if sub is None else (f"{key}.{sub}" if isinstance(value, dict)
                                             else f"{key}[{sub}]")
            if isinstance(item, bool) or not isinstance(item, int | float):
                continue
            if not math.isfinite(item) or not _in_range(item, rule):
                phrase = rule if rule[0] in "<>" else f"in {rule}"
                raise ConfigError(f"{where} must be {phrase}, got {item!r}")


def merge(base: dict, extra: dict) -> dict:
    """Deep-merge `extra` onto a copy of `base` (mappings merge, everything else replaces)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def overrides_to_dict(overrides: list[str]) -> dict:
    """['a.b=1', 'c=x'] -> {'a': {'b': '1'}, 'c': 'x'}; values stay strings until coerced."""
    nested: dict = {}
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"override '{item}' is not of the form key=value "
                              "(e.g. train.lr=5e-5)")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if not all(parts):
            raise ConfigError(f"override '{item}': empty key segment")
        node = nested
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"override '{item}' conflicts with an earlier override")
        node[parts[-1]] = value
    return nested


def to_dict(cfg: Any) -> dict:
    return dataclasses.asdict(cfg)


def dump_yaml(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False)
