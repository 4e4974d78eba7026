"""Typed wrappers for every method (``_api/generated.py``).

One ``async def`` per Deribit method, named after it (``private/get_positions`` ->
``client.private.get_positions``): required parameters positional in the spec's order,
optional ones keyword-only defaulting to ``None`` (not sent), then ``timeout``. Stable
protocol enums become ``Literal`` types; currencies and index names stay ``str`` (their
lists change often). A string parameter whose description states a length limit is
checked before sending (``max_length``); a result whose shape follows a flag gets
overloads (``overrides.FLAG_RESULTS``). Methods in ``overrides.HAND_WRAPPERS`` are written
by hand in ``_api/public.py`` / ``_api/private.py`` (the subscription methods among them).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

from . import overrides
from .models import ModelPlan, escape_doc, model_names, py_name

__all__ = ["as_sequence", "render_wrappers", "wrapped_methods"]

_SCALARS = {"string": "str", "integer": "int", "number": "float | Decimal", "boolean": "bool"}
"""Parameter types by JSON type: a number may be a ``Decimal`` (sent as a JSON number with
its exact digits: ``_core.values.encode_json``)."""


def wrapped_methods(methods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The methods the generated classes wrap."""
    return [m for m in methods if m["name"] not in overrides.HAND_WRAPPERS]


def _param_type(method: dict[str, Any], param: dict[str, Any]) -> str:
    return as_sequence(_value_param_type(method, param))


def as_sequence(tp: str) -> str:
    """An array parameter as ``Sequence``: a tuple goes too, and a list of a narrower item
    (quote legs where legs are asked for: lists are invariant). Not of ``str``, which is
    itself a ``Sequence[str]``: a lone name must not pass for a list of names."""
    if tp.startswith("list[") and not tp.startswith("list[str]"):
        return "Sequence[" + tp.removeprefix("list[")
    return tp


def _value_param_type(method: dict[str, Any], param: dict[str, Any]) -> str:
    typed = overrides.PARAM_TYPES.get((method["name"], param["name"]))
    if typed is not None:
        return typed
    if param["name"] == "continuation":
        # A page's token goes back as its result typed it (a string or an integer).
        return overrides.FIELD_TYPES["*.continuation"]
    if param["type"] == "number" and (param["name"] == "id" or param["name"].endswith("_id")):
        return "int"  # identifiers the spec types `number` (a withdrawal's, an announcement's)
    if param["moment"]:
        return "int | datetime"  # sent in milliseconds (``_rpc.protocol``)
    if param["type"] == "array":
        return f"list[{_value_type(param['items'], param)}]"
    return _value_type(param["type"], param)


def _value_type(kind: str, param: dict[str, Any]) -> str:
    """The Python type of a value (or of each item of an array) of JSON type ``kind``."""
    if param["enum"] and param["name"] not in overrides.OPEN_ENUMS and kind in _SCALARS:
        values = [int(v) if kind == "integer" else v for v in param["enum"]]
        return f"Literal[{', '.join(repr(v) for v in values)}]"
    if kind == "object":
        return "dict[str, Any]"
    return _SCALARS.get(kind, "Any")


def _docstring(method: dict[str, Any], indent: str) -> list[str]:
    width = 92 - len(indent)
    summary = escape_doc(method["summary"] or "(no description in the spec)")
    text = textwrap.wrap(f"``{method['name']}``: {summary}", width)
    out = [f'{indent}"""{text[0]}', *(f"{indent}{t}" for t in text[1:]), "", f"{indent}Args:"]
    for p in method["params"]:
        desc = escape_doc(p["description"] or "(no description in the spec)")
        if p["moment"]:
            desc = desc.rstrip(".") + "; or an aware ``datetime``."
        lines = textwrap.wrap(f"{py_name(p['name'])}: {desc}", width - 4)
        out += [f"{indent}    {lines[0]}", *(f"{indent}        {t}" for t in lines[1:])]
    out += [f"{indent}    timeout: seconds to wait for the reply (default: the client's).", ""]
    result = f"The decoded result (``RESULTS[{method['name']!r}]``)."
    out += [f"{indent}Returns:", f"{indent}    {result}"]
    out.append(f'{indent}"""')
    return out


def _signature(name: str, args: list[str], result: str) -> list[str]:
    return [f"    async def {name}(", *(f"        {a}," for a in args), f"    ) -> {result}:"]


def _overloads(method: dict[str, Any], name: str, args: list[str], result: str) -> list[str]:
    """``@overload`` signatures narrowing the result by a flag (``overrides.FLAG_RESULTS``):
    ``True`` gives one shape, ``False`` or absent the other, and a ``bool`` known only at
    run time ``result``, either."""
    flagged = overrides.FLAG_RESULTS.get(method["name"])
    if flagged is None:
        return []
    flag, when_true, otherwise = flagged
    at = args.index(f"{flag}: bool | None = None")
    lines: list[str] = []
    for flag_type, shape in (
        ("Literal[True]", when_true),
        ("Literal[False] | None = None", otherwise),
        ("bool | None = None", result),
    ):
        narrowed = [*args[:at], f"{flag}: {flag_type}", *args[at + 1 :]]
        lines += ["    @overload", *_signature(name, narrowed, shape)]
        lines[-1] += " ..."
    return lines


def _returned(plan: ModelPlan, method: str) -> tuple[str, str]:
    """What a wrapper returns: the decoded result, or its one normalized shape with the
    ``_normalize`` function that makes it (``""``: none)."""
    return overrides.NORMALIZED_RESULTS.get(method, (plan.results[method], ""))


def _wrapper(method: dict[str, Any], plan: ModelPlan) -> list[str]:
    name = method["name"].split("/", 1)[1].replace("/", "_")
    result, normalize = _returned(plan, method["name"])
    required = [p for p in method["params"] if p["required"]]
    optional = [p for p in method["params"] if not p["required"]]
    args = ["self"]
    args += [f"{py_name(p['name'])}: {_param_type(method, p)}" for p in required]
    args.append("*")
    args += [f"{py_name(p['name'])}: {_param_type(method, p)} | None = None" for p in optional]
    args.append("timeout: float | None = None")
    lines = [*_overloads(method, name, args, result), *_signature(name, args, result)]
    lines += _docstring(method, "        ")
    lines += [
        f"        check_length({p['name']!r}, {py_name(p['name'])}, {p['max_length']})"
        for p in method["params"]
        if p["max_length"]
    ]
    if method["params"]:
        pairs = ", ".join(f"{p['name']!r}: {py_name(p['name'])}" for p in method["params"])
        lines.append(f"        params = {{{pairs}}}")
    else:
        lines.append("        params = None")
    call = (
        f"await self._caller.invoke({method['name']!r}, params, "
        f"RESULTS[{method['name']!r}], timeout)"
    )
    lines.append(f"        return {f'_normalize.{normalize}({call})' if normalize else call}")
    return lines


def render_wrappers(methods: list[dict[str, Any]], plan: ModelPlan, header: list[str]) -> str:
    """The text of ``_api/generated.py``."""
    wrapped = wrapped_methods(methods)
    used = model_names(_returned(plan, m["name"])[0] for m in wrapped)
    lines = [*header, "from collections.abc import Sequence", "from datetime import datetime"]
    lines += ["from decimal import Decimal"]
    lines += ["from typing import Any, Literal, overload", ""]
    lines += ["from .._catalogue.results import RESULTS", "from .._core.values import check_length"]
    lines += ["from ..models import (", *(f"    {name}," for name in used), ")"]
    params = sorted(
        {n for t in overrides.PARAM_TYPES.values() for n in re.findall(r"\w+Param\b", t)}
    )
    lines += ["from ..models.params import (", *(f"    {name}," for name in params), ")"]
    lines += ["from . import _normalize", "from ._caller import Caller", ""]
    lines += ['__all__ = ["PrivateMethods", "PublicMethods"]', ""]
    for prefix, cls in (("public", "PublicMethods"), ("private", "PrivateMethods")):
        lines += ["", f"class {cls}:"]
        lines.append(
            f'    """Generated wrappers of the ``{prefix}/*`` methods no hand-written wrapper '
            'covers."""'
        )
        lines += ["", '    __slots__ = ("_caller",)', ""]
        lines += ["    def __init__(self, caller: Caller) -> None:"]
        lines += ["        self._caller = caller"]
        for m in wrapped:
            if m["name"].startswith(prefix + "/"):
                lines += ["", *_wrapper(m, plan)]
    return "\n".join(lines) + "\n"
