"""Generates the catalogue from the spec snapshots and overrides.

    python -m deribit_client._catalogue._generator

rewrites ``_catalogue/methods.py`` (method facts), ``_catalogue/channels.py`` (channel
facts), ``_catalogue/results.py`` (method -> result type) and ``models/objects.py`` (the
Structs of the spec's objects that no hand-written model covers).

Kept out of the wheel (with its input snapshot); ``render()`` is what the freshness test
compares with the committed file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import models, overrides, shapes, wrappers

HERE = Path(__file__).resolve().parent
SPEC = HERE / "deribit_openapi.json"
CHANNEL_SPEC = HERE / "deribit_asyncapi.json"
TARGET = HERE.parent / "methods.py"
CHANNEL_TARGET = HERE.parent / "channels.py"
RESULTS_TARGET = HERE.parent / "results.py"
MODELS_TARGET = HERE.parent.parent / "models" / "objects.py"
WRAPPERS_TARGET = HERE.parent.parent / "_api" / "generated.py"
SHAPES_TARGET = HERE.parent.parent / "testing" / "_shapes.py"

__all__ = [
    "CHANNEL_SPEC",
    "CHANNEL_TARGET",
    "MODELS_TARGET",
    "RESULTS_TARGET",
    "SPEC",
    "TARGET",
    "WRAPPERS_TARGET",
    "load_spec",
    "outputs",
    "render",
    "render_channels",
]


def load_spec(path: Path = SPEC) -> dict[str, Any]:
    """The spec snapshot with ``overrides.SPEC_PATCHES`` applied (JSON pointers; ``-``
    appends to a list)."""
    spec: dict[str, Any] = json.loads(path.read_text())
    for pointer, value in overrides.SPEC_PATCHES.items():
        *parents, last = (
            p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")
        )
        node: Any = spec
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, list) and last == "-":
            node.append(value)
        elif isinstance(node, list):
            node[int(last)] = value
        elif value is None:
            del node[last]
        else:
            node[last] = value
    return spec


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    seen = 0
    while "$ref" in node and seen < 20:
        path = node["$ref"].removeprefix("#/").split("/")
        target: Any = spec
        for part in path:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
        seen += 1
    return node


_MAX_LENGTH = re.compile(r"\bmax(?:imum)?(?: length)?[\s-]*(\d+) characters", re.IGNORECASE)


_EPOCH_MS = re.compile(r"milliseconds since the unix epoch", re.IGNORECASE)


def _param(spec: dict[str, Any], raw: dict[str, Any]) -> dict[str, Any]:
    param = _resolve(spec, raw)
    schema = _resolve(spec, param.get("schema", {}))
    kind = schema.get("type", "")
    description = param.get("description") or schema.get("description") or ""
    items = _resolve(spec, schema.get("items", {})) if kind == "array" else {}
    item_kind = items.get("type", "")
    json_string = str(schema.get("description", ""))
    if kind == "string" and "JSON string" in json_string:
        # REFERENCE 0: structured params are typed "JSON string containing array of
        # objects" or "...: object data"; on the wire they are real JSON.
        kind, item_kind = ("array", "object") if "array" in json_string else ("object", "")
    enum = tuple(str(v) for v in (items or schema).get("enum", ()))
    # The spec has no maxLength: string limits are stated in prose ("maximum 64
    # characters", "maximum length - 16 characters", "max 16 characters").
    limit = _MAX_LENGTH.search(str(description)) if kind == "string" else None
    # A moment: the spec's `timestamp` schema, or an integer described as one (a Block RFQ
    # quote's `expires_at`); the typed wrappers take an aware datetime for it too.
    moment = kind == "integer" and (
        str(param.get("schema", {}).get("$ref", "")).endswith("/timestamp")
        or bool(_EPOCH_MS.search(str(description)))
    )
    return {
        "name": param["name"],
        "required": bool(param.get("required", False)),
        "type": kind,
        "enum": enum,
        "description": " ".join(str(description).split()),
        "items": item_kind,
        "bounds": (schema.get("minimum"), schema.get("maximum")),
        "max_length": int(limit[1]) if limit else 0,
        "moment": moment,
    }


def _result_schema(spec: dict[str, Any], operation: dict[str, Any]) -> str | None:
    response = operation.get("responses", {}).get("200", {})
    name = response.get("$ref", "").rsplit("/", 1)[-1]
    body = _resolve(spec, response)
    schema = _resolve(spec, body.get("content", {}).get("application/json", {}).get("schema", {}))
    result = schema.get("properties", {}).get("result", {})
    if "$ref" in result:
        return str(result["$ref"].rsplit("/", 1)[-1])
    return name or None


def _credit_pools(name: str, tagged: bool) -> tuple[str, ...]:
    """The credit pools a request of ``name`` draws on (REFERENCE 4, see overrides).

    Where the sources disagree (the article's matching-engine list versus the spec's tag;
    whether a method with its own pool also pays the general one) the method draws on
    both: the client then stays under the limit whichever reading the server follows.
    """
    article = name in overrides.MATCHING_ENGINE_ARTICLE
    if name == "private/cancel_all":
        pools = ["cancel_all"]
    elif name in overrides.CANCEL_ALL_POOL:
        pools = ["matching_engine", "cancel_all"]
    elif article and tagged:
        pools = ["matching_engine"]
    elif article or tagged:
        pools = ["matching_engine", "non_matching_engine"]
    else:
        pools = ["non_matching_engine"]
    own = overrides.OWN_POOLS.get(name)
    return (*pools, own) if own else tuple(pools)


def _summary(description: str, limit: int = 400) -> str:
    """The description's first sentences, up to ``limit`` characters, cut after a full stop."""
    text = " ".join(description.split())
    if len(text) <= limit:
        return text
    cut = text.rfind(". ", 0, limit)
    return text[: cut + 1] if cut > 0 else text[:limit].rsplit(" ", 1)[0] + " ..."


def _scope(name: str, tags: set[str]) -> str | None:
    """The functional scope a token needs for ``name`` (REFERENCE 2.2, see overrides);
    None for public methods and those any token may call (session, subscriptions)."""
    if name in overrides.SCOPE_EXCEPTIONS:
        return overrides.SCOPE_EXCEPTIONS[name]
    area = next(
        (overrides.SCOPE_AREAS[t] for t in sorted(tags) if t in overrides.SCOPE_AREAS), None
    )
    if area is None or not name.startswith("private/"):
        return None
    reads = name.split("/", 1)[1].startswith(("get_", "list_", "simulate"))
    return f"{area}:read" if reads else f"{area}:read_write"


def facts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    """The facts of every method, sorted by name."""
    out = []
    for path, item in spec["paths"].items():
        operation = item.get("get") or item.get("post") or {}
        name = path.strip("/")
        tags = set(operation.get("tags", ()))
        private = name.startswith("private/")
        ws_only = "WebSocket Only" in tags
        out.append(
            {
                "name": name,
                "private": private,
                "ws_only": ws_only,
                "matching_engine": "Matching Engine" in tags,
                "credit_pools": _credit_pools(name, "Matching Engine" in tags),
                "websocket_credit_pools": overrides.WEBSOCKET_POOLS.get(name, ()),
                "order_mutation": name in overrides.ORDER_MUTATIONS,
                "funds_movement": name in overrides.FUNDS_MOVEMENTS,
                "found_with": overrides.FOUND_WITH.get(name),
                "read_only_public": not private and not ws_only and name not in overrides.AUTH,
                "session_state": name in overrides.SESSION_STATE,
                "subscription": "Subscription Management" in tags,
                "params": [_param(spec, p) for p in operation.get("parameters", ())],
                "result_schema": _result_schema(spec, operation),
                "summary": _summary(str(operation.get("description", ""))),
                "scope": _scope(name, tags),
            }
        )
    return sorted(out, key=lambda f: f["name"])


def _header(spec: dict[str, Any], what: str, source: str = "OpenAPI") -> list[str]:
    """The docstring and first import every generated file starts with."""
    version = spec["info"].get("version", "?")
    return [
        '"""GENERATED by `python -m deribit_client._catalogue._generator`: do not edit.',
        "",
        f"{what} Source: a snapshot of Deribit's {source} spec ({version}) plus",
        "_generator/overrides.py.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
    ]


def _table(imports: str, table: str, kind: str, *more: str) -> list[str]:
    names = ", ".join(f'"{name}"' for name in (*more, table))
    return [f"from .facts import {imports}", "", f"__all__ = [{names}]", "",
            f"{table}: dict[str, {kind}] = {{"]  # fmt: skip


def render(spec_path: Path = SPEC) -> str:
    """The text of ``methods.py``."""
    spec = load_spec(spec_path)
    lines = _header(spec, "The facts of every method.")
    lines += _table("MethodFacts, ParamFacts", "METHODS", "MethodFacts")
    for f in facts(spec):
        lines.append(f"    {f['name']!r}: MethodFacts(")
        for key in ("name", "private", "ws_only", "matching_engine", "order_mutation",
                    "funds_movement", "read_only_public", "session_state", "subscription",
                    "credit_pools"):  # fmt: skip
            lines.append(f"        {key}={f[key]!r},")
        if f["websocket_credit_pools"]:
            lines.append(f"        websocket_credit_pools={f['websocket_credit_pools']!r},")
        if f["found_with"]:
            lines.append(f"        found_with={f['found_with']!r},")
        lines.append("        params=(")
        for p in f["params"]:
            lines.append(
                f"            ParamFacts({p['name']!r}, {p['required']!r}, {p['type']!r}, "
                f"{p['enum']!r}, {p['description']!r}"
                + (f", items={p['items']!r}" if p["items"] else "")
                + (f", max_length={p['max_length']!r}" if p["max_length"] else "")
                + (", moment=True" if p["moment"] else "")
                + "),"
            )
        lines.append("        ),")
        lines.append(f"        result_schema={f['result_schema']!r},")
        lines.append(f"        summary={f['summary']!r},")
        lines.append("    ),")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_channels(spec_path: Path = CHANNEL_SPEC) -> str:
    """The text of ``channels.py``."""
    spec = json.loads(spec_path.read_text())
    lines = _header(spec, "The facts of every channel family.", "AsyncAPI")
    lines += _table("ChannelFacts", "CHANNELS", "ChannelFacts", "CHANNEL_PARTS")
    for pattern, channel in channel_patterns(spec).items():
        tags = {t.get("name") for t in channel.get("tags", ())}
        private = "private" in tags or pattern in overrides.PRIVATE_CHANNELS
        parameters = tuple(p.strip("()") for p in pattern.split(".") if p.startswith("("))
        summary = " ".join(str(channel.get("summary", "")).split())
        lines.append(
            f"    {pattern!r}: ChannelFacts({pattern!r}, {private!r}, {parameters!r}, {summary!r}),"
        )
    lines.append("}")
    lines += [
        "",
        "CHANNEL_PARTS: dict[str, tuple[str, ...]] = {",
        *(f"    {name!r}: {values!r}," for name, values in channel_parts(spec).items()),
        "}",
        '"""Channel part -> the values Deribit accepts (parts not listed are open: instrument',
        'names, currencies, index names)."""',
    ]
    return "\n".join(lines) + "\n"


def channel_patterns(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each channel's name pattern (``book.(instrument_name).(interval)``) -> its entry in
    the AsyncAPI spec, sorted by the spec's channel keys, then the families newer than
    the spec (``overrides.NEWER_CHANNELS``)."""
    return {
        **{
            spec["channels"][name].get("address") or name: spec["channels"][name]
            for name in sorted(spec["channels"])
        },
        **overrides.NEWER_CHANNELS,
    }


def channel_parts(spec: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """The AsyncAPI's enum of each channel part, with ``overrides.CHANNEL_PART_VALUES``;
    parts in ``overrides.OPEN_ENUMS`` stay open."""
    parts: dict[str, tuple[str, ...]] = {}
    for channel in spec["channels"].values():
        for name, param in channel.get("parameters", {}).items():
            values = tuple(str(v) for v in param.get("enum", ()))
            if not values or name in overrides.OPEN_ENUMS:
                continue
            if parts.setdefault(name, values) != values:
                raise ValueError(f"channel part {name!r} has two enums: {values}")
    parts.update(overrides.CHANNEL_PART_VALUES)
    return dict(sorted(parts.items()))


def outputs() -> dict[Path, str]:
    """Every generated file and the text it must have."""
    spec = load_spec()
    channel_spec = json.loads(CHANNEL_SPEC.read_text())
    plan = models.plan(spec)
    return {
        TARGET: render(),
        CHANNEL_TARGET: render_channels(),
        MODELS_TARGET: models.render_models(
            plan, _header(spec, "Deribit objects no hand-written model covers.")
        ),
        RESULTS_TARGET: models.render_results(
            plan, _header(spec, "The result type of every method.")
        ),
        WRAPPERS_TARGET: wrappers.render_wrappers(
            facts(spec), plan, _header(spec, "Typed wrappers of every method.")
        ),
        SHAPES_TARGET: shapes.render_shapes(
            facts(spec),
            spec,
            (tuple(channel_patterns(channel_spec)), channel_parts(channel_spec)),
            _header(spec, "The simulator's copy of each method's and channel's shape."),
        ),
    }


def main() -> None:
    """Rewrite every generated file."""
    for path, text in outputs().items():
        path.write_text(text)
        print(f"wrote {path}")
