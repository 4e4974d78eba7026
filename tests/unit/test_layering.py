"""The layering the architecture promises, checked on the source (issue #8's "Done when")."""

from __future__ import annotations

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "deribit_client"
VENUE_MODULES = {"_rpc", "_client", "_api", "models", "_auth", "_errors", "_subscriptions"}


def imports(module: pathlib.Path) -> set[str]:
    """Absolute dotted names imported by ``module`` (relative imports resolved)."""
    package = module.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(module.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            name = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)
    return found


def modules(sub: str) -> list[pathlib.Path]:
    return sorted((PACKAGE / sub).glob("*.py"))


def test_the_engine_imports_no_venue_code() -> None:
    for module in modules("_core"):
        bad = {
            name
            for name in imports(module)
            if name.startswith("deribit_client.")
            and name.split(".")[1] in VENUE_MODULES | {"testing", "exberry"}
        }
        assert not bad, f"{module.name} imports {bad}"


def test_the_wire_protocol_does_no_io() -> None:
    for module in modules("_rpc"):
        bad = {n for n in imports(module) if n.split(".")[0] in ("asyncio", "aiohttp")}
        assert not bad, f"{module.name} imports {bad}"


def test_the_simulator_imports_nothing_private_from_the_sdk() -> None:
    for module in modules("testing"):
        bad = {
            name
            for name in imports(module)
            if name.startswith("deribit_client.")
            and not name.startswith("deribit_client.testing")
            and any(part.startswith("_") for part in name.split(".")[1:2])
        }
        assert not bad, f"{module.name} imports {bad}"


def test_the_simulator_has_no_import_cycles() -> None:
    graph: dict[str, set[str]] = {}
    for module in modules("testing"):
        graph[module.stem] = {
            name.split(".")[2]
            for name in imports(module)
            if name.startswith("deribit_client.testing.") and len(name.split(".")) > 2
        } - {module.stem}

    def visit(node: str, path: tuple[str, ...]) -> None:
        assert node not in path, f"import cycle: {' -> '.join((*path, node))}"
        for nxt in graph.get(node, ()):
            visit(nxt, (*path, node))

    for node in graph:
        visit(node, ())


def test_exberry_protocol_does_no_io_and_its_simulator_shares_no_client_code() -> None:
    for name in ("protocol.py", "wire.py", "errors.py", "models.py", "auth.py", "decode.py"):
        found = imports(PACKAGE / "exberry" / name)
        assert not {n for n in found if n.split(".")[0] in ("asyncio", "aiohttp")}, name
    simulator = imports(PACKAGE / "testing" / "exberry.py")
    # Simulator plumbing (deribit_client.testing.*) may be shared; the SDK may not.
    client = {n for n in simulator if n.startswith("deribit_client.")}
    assert not {n for n in client if not n.startswith("deribit_client.testing.")}


def test_models_import_only_msgspec_and_the_error_table() -> None:
    # _errors: CancelFailure.exception() builds the typed error of a failed sub-request.
    for module in modules("models"):
        bad = {
            name
            for name in imports(module)
            if name.startswith("deribit_client.")
            and not name.startswith(("deribit_client.models", "deribit_client._errors"))
        }
        assert not bad, f"{module.name} imports {bad}"
