"""Render ``testing/_shapes.py``: what the simulator needs to answer a method it keeps no
state for, and to judge a channel name. The simulator may not import the client's
catalogue (it would then share the client's mistakes), so it gets its own generated copy
of the facts it needs: each method's parameters and the example result of Deribit's
documentation, each channel's pattern and the values its parts take."""

from __future__ import annotations

from typing import Any


def example_results(spec: dict[str, Any]) -> dict[str, Any]:
    """Method -> the result of the last response example its documentation gives."""
    out: dict[str, Any] = {}
    for path, item in spec["paths"].items():
        operation = item.get("get") or item.get("post") or {}
        content = operation["responses"]["200"].get("content", {}).get("application/json", {})
        for example in content.get("examples", {}).values():
            if "result" in example.get("value", {}):
                out[path.strip("/")] = example["value"]["result"]
    return out


def render_shapes(
    facts: list[dict[str, Any]],
    spec: dict[str, Any],
    channels: tuple[tuple[str, ...], dict[str, tuple[str, ...]]],
    header: list[str],
) -> str:
    """The text of ``testing/_shapes.py``; ``channels`` is ``(patterns, part values)``."""
    patterns, parts = channels
    examples = example_results(spec)
    lines = [
        *header,
        "from typing import Any",
        "",
        '__all__ = ["CHANNELS", "CHANNEL_PARTS", "EXAMPLES", "PARAMS", "SCOPES", "Bounds"]',
        "",
        "Bounds = tuple[float | None, float | None]",
        "PARAMS: dict[str, tuple[tuple[str, str, bool, tuple[str, ...], Bounds, str], ...]] = {",
    ]
    for method in facts:
        params = tuple(
            (p["name"], p["type"], p["required"], p["enum"], p["bounds"], p["items"])
            for p in method["params"]
        )
        lines.append(f"    {method['name']!r}: {params!r},")
    lines += [
        "}",
        '"""Method -> its parameters: ``(name, JSON type, required, allowed values, (minimum,',
        "maximum), JSON type of an array's items)``; an array's allowed values are its",
        'items\'."""',
        "",
        "EXAMPLES: dict[str, Any] = {",
        *(f"    {name!r}: {examples[name]!r}," for name in sorted(examples)),
        "}",
        '"""Method -> the example result of Deribit\'s documentation."""',
        "",
        "SCOPES: dict[str, str] = {",
        *(f"    {m['name']!r}: {m['scope']!r}," for m in facts if m["scope"]),
        "}",
        '"""Private method -> the functional scope its token needs (``trade:read_write``)."""',
        "",
        "CHANNELS: tuple[str, ...] = (",
        *(f"    {pattern!r}," for pattern in patterns),
        ")",
        '"""Every channel name pattern: ``book.(instrument_name).(interval)``."""',
        "",
        "CHANNEL_PARTS: dict[str, tuple[str, ...]] = {",
        *(f"    {name!r}: {values!r}," for name, values in parts.items()),
        "}",
        '"""Channel part -> the values Deribit accepts (the others name things that exist)."""',
    ]
    return "\n".join(lines) + "\n"
