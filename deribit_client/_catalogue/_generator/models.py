"""Result types of every method: msgspec Structs for the spec's objects, and the table
``method -> result type`` (``models/objects.py`` and ``_catalogue/results.py``).

Rules (issue #9, "tolerance that matches the real wire"):

- every member defaults to ``None`` except the few that identify an object
  (``overrides.IDENTIFIERS``): live servers omit members the spec calls required; a
  page's lists default to empty (absent items and no items mean the same there);
- enum members are typed ``str``: a new value must not fail a whole reply;
- an object the spec names becomes one Struct shared by every method that returns it;
  objects written inline are named after the method (``GetSubaccountsDetailsResult``) or
  their parent and member, and identical shapes are emitted once;
- where a hand-written model already mirrors an object (``overrides.HAND_MODELS``), or the
  spec's result is wrong (``overrides.RESULT_TYPES``), the hand-kept type wins.
"""

from __future__ import annotations

import importlib
import keyword
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from . import overrides

HAND_MODULES = ("account", "market", "trading", "channels", "reports")
"""The modules of ``deribit_client.models`` that hold hand-written models."""

__all__ = [
    "ModelPlan",
    "escape_doc",
    "hand_models",
    "model_names",
    "plan",
    "py_name",
    "render_models",
    "render_results",
]


def camel(text: str) -> str:
    """``get_subaccounts_details`` -> ``GetSubaccountsDetails``."""
    return "".join(part[:1].upper() + part[1:] for part in text.replace("-", "_").split("_"))


@dataclass
class Model:
    """One generated Struct."""

    name: str
    doc: str
    fields: list[tuple[str, str, str]]  # (member, type expression, description)
    required: tuple[str, ...] = ()


@dataclass
class ModelPlan:
    """Everything the generator emits about results."""

    models: dict[str, Model] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # method -> type expression
    _by_schema: dict[str, str] = field(default_factory=dict)
    _by_shape: dict[tuple[tuple[str, str], ...], str] = field(default_factory=dict)


class _Builder:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec
        self.schemas: dict[str, Any] = spec["components"]["schemas"]
        self.plan = ModelPlan()

    def _named(self, ref: str) -> tuple[str, dict[str, Any]]:
        name = ref.rsplit("/", 1)[-1]
        return name, self.schemas.get(name, {})

    def _merge_all_of(self, node: dict[str, Any]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        for part in node["allOf"]:
            if "$ref" in part:
                part = self._named(part["$ref"])[1]
            part = self._merge_all_of(part) if "allOf" in part else part
            properties.update(part.get("properties", {}))
        return {"type": "object", "properties": properties, "description": node.get("description")}

    def type_of(self, node: dict[str, Any], owner: str) -> str:
        """The Python type expression for schema ``node``; ``owner`` names inline objects."""
        if "$ref" in node:
            name, target = self._named(node["$ref"])
            if name in overrides.HAND_MODELS:
                return overrides.HAND_MODELS[name]
            if name in overrides.SCHEMA_TYPES:
                return overrides.SCHEMA_TYPES[name]
            if not target:
                return "Any"  # a dangling reference (REFERENCE 0): accept any JSON
            if "allOf" in target or "properties" in target:
                if name not in self.plan._by_schema:
                    self.plan._by_schema[name] = camel(name)  # reserve: recursion
                    merged = self._merge_all_of(target) if "allOf" in target else target
                    self.plan._by_schema[name] = self.struct(merged, camel(name))
                return self.plan._by_schema[name]
            return self.type_of(target, owner)
        if "allOf" in node:
            return self.struct(self._merge_all_of(node), owner)
        if "oneOf" in node or "anyOf" in node:
            options = [self.type_of(o, owner) for o in node.get("oneOf") or node["anyOf"]]
            return " | ".join(dict.fromkeys(options))
        kind = node.get("type")
        if node.get("properties"):  # before `type`: some objects say `type: array`
            return self.struct(node, owner)
        if kind == "array":
            return f"list[{self.type_of(node.get('items', {}), owner)}]"
        if kind == "object":
            extra = node.get("additionalProperties")
            value = self.type_of(extra, owner) if isinstance(extra, dict) and extra else "Any"
            return f"dict[str, {value}]"
        return {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}.get(
            kind or "", "Any"
        )

    def struct(self, node: dict[str, Any], name: str) -> str:
        """Emit (or reuse) the Struct for an object schema; returns its name."""
        name = overrides.MODEL_NAMES.get(name, name)
        fields = []
        for member, sub in node.get("properties", {}).items():
            forced = overrides.FIELD_TYPES.get(f"{name}.{member}") or overrides.FIELD_TYPES.get(
                f"*.{member}"
            )
            tp = forced or self.type_of(sub, name + camel(member))
            description = sub.get("description") or ""
            if "$ref" in sub and not description:
                description = self._named(sub["$ref"])[1].get("description") or ""
            fields.append((member, tp, " ".join(str(description).split())))
        for member, tp in overrides.EXTRA_MEMBERS.get(name, {}).items():
            fields.append((member, tp, "Not in the spec's schema; its examples carry it."))
        shape = tuple((m, t) for m, t, _ in fields)
        if shape in self.plan._by_shape:
            return self.plan._by_shape[shape]
        while name in self.plan.models or name in hand_models():
            name += "_"
        doc = " ".join(str(node.get("description") or "").split())
        required = overrides.IDENTIFIERS.get(name, ())
        self.plan.models[name] = Model(name, doc, fields, required)
        self.plan._by_shape[shape] = name
        return name

    def result(self, method: str, operation: dict[str, Any]) -> str:
        # The spec's reading first, even when overridden: an override may name the
        # Structs it emits (unreferenced ones are pruned at the end).
        spec_type = self._spec_result(method, operation)
        return overrides.RESULT_TYPES.get(method, spec_type)

    def _spec_result(self, method: str, operation: dict[str, Any]) -> str:
        response = operation.get("responses", {}).get("200", {})
        if "$ref" in response:
            response = self.spec["components"]["responses"].get(
                response["$ref"].rsplit("/", 1)[-1], {}
            )
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        if "$ref" in schema:
            schema = self._named(schema["$ref"])[1]
        if "allOf" in schema:
            schema = self._merge_all_of(schema)
        members = schema.get("properties", {})
        if "result" in members:
            node = members["result"]
        elif "jsonrpc" in members or not schema:
            return "Any"  # the spec gives no result schema
        else:
            node = schema  # some responses describe the result itself, not the envelope
        return self.type_of(node, camel(method.split("/", 1)[1]) + "Result")


@cache
def hand_models() -> dict[str, str]:
    """Hand-written model name -> the module of ``deribit_client.models`` defining it."""
    found = {}
    for module in HAND_MODULES:
        mod = importlib.import_module(f"deribit_client.models.{module}")
        found.update({name: module for name in getattr(mod, "__all__", ())})
    return found


def _names(expr: str) -> list[str]:
    for ch in "[]|,":
        expr = expr.replace(ch, " ")
    return expr.split()


def plan(spec: dict[str, Any]) -> ModelPlan:
    """Result types of every method of ``spec``, and the Structs they need."""
    builder = _Builder(spec)
    for path in sorted(spec["paths"]):
        item = spec["paths"][path]
        operation = item.get("get") or item.get("post") or {}
        method = path.strip("/")
        builder.plan.results[method] = builder.result(method, operation)
    result = builder.plan
    reachable: set[str] = set()
    todo = [n for tp in result.results.values() for n in _names(tp)]
    while todo:
        name = todo.pop()
        if name not in reachable:
            reachable.add(name)
            model = result.models.get(name)
            todo += [n for _, tp, _ in model.fields for n in _names(tp)] if model else []
    result.models = {k: v for k, v in result.models.items() if k in reachable}
    return result


def py_name(member: str) -> str:
    """A JSON member or parameter name as a Python identifier (keywords get a ``_``)."""
    return member + "_" if keyword.iskeyword(member) else member


def model_names(expressions: Iterable[str]) -> list[str]:
    """The model names the type expressions mention (builtins and ``Any`` left out)."""
    return sorted({n for tp in expressions for n in _names(tp)} - _BUILTINS)


def render_models(result: ModelPlan, header: list[str]) -> str:
    """The text of ``models/objects.py``."""
    lines = [*header, "from typing import Any", "", "import msgspec", ""]
    lines.append("from ._base import DeribitObject")
    used = {n for m in result.models.values() for _, tp, _ in m.fields for n in _names(tp)}
    modules: dict[str, list[str]] = {}
    for name in sorted(used & set(hand_models())):
        modules.setdefault(hand_models()[name], []).append(name)
    for module, names in sorted(modules.items()):
        lines.append(f"from .{module} import {', '.join(names)}")
    lines += ["", "__all__ = ["]
    lines += [f"    {name!r}," for name in sorted(result.models)]
    lines += ["]", ""]
    for model in result.models.values():
        lines += ["", f"class {model.name}(DeribitObject):"]
        lines.append(f'    """{escape_doc(model.doc) or model.name.rstrip("_")}"""')
        lines.append("")
        ordered = sorted(model.fields, key=lambda f: f[0] not in model.required)
        for member, tp, description in ordered:
            default = _default(model, member, tp)
            if default == "None":
                tp = f"{tp} | None"
            attr = py_name(member)
            if attr != member:
                default = f"msgspec.field(name={member!r}, default={default})"
            lines.append(f"    {attr}: {tp}{f' = {default}' if default else ''}")
            if description:
                lines.append(f'    """{escape_doc(description)}"""')
    return "\n".join(lines) + "\n"


def _default(model: Model, member: str, tp: str) -> str:
    """The default a member's declaration gives (none for a required member)."""
    if member in model.required:
        return ""
    if model.name.endswith("Page") and tp.startswith("list["):
        return "[]"  # a page without its items is an empty page
    return "None"


def render_results(result: ModelPlan, header: list[str]) -> str:
    """The text of ``_catalogue/results.py``."""
    used = model_names(result.results.values())
    lines = [*header, "from typing import Any", ""]
    lines += ["from ..models import (", *(f"    {name}," for name in used), ")"]
    lines += ["", '__all__ = ["RESULTS"]', "", "RESULTS: dict[str, Any] = {"]
    lines += [f"    {method!r}: {tp}," for method, tp in result.results.items()]
    lines += ["}", '"""Method -> the type its ``result`` decodes into."""']
    return "\n".join(lines) + "\n"


_BUILTINS = frozenset({"Any", "int", "float", "str", "bool", "list", "dict", "tuple", "None"})


def escape_doc(text: str) -> str:
    """``text`` made safe inside a triple-quoted docstring."""
    text = text.replace("\\", "\\\\").replace('"""', "'''")
    return text[:-1] + '\\"' if text.endswith('"') else text
