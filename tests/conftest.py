"""Fixtures shared by the test tiers."""

from __future__ import annotations

from collections.abc import AsyncIterator

import hypothesis  # noqa: F401  - see below
import pytest

from deribit_client.testing import DeribitSimulator

# hypothesis' pytest plugin otherwise imports `hypothesis` lazily inside the terminal summary,
# where assertion rewriting trips a CPython 3.11 AST bug ("recursion depth mismatch").


@pytest.fixture
async def sim() -> AsyncIterator[DeribitSimulator]:
    """A fresh simulator on an ephemeral loopback port."""
    async with DeribitSimulator(seed=7) as simulator:
        yield simulator
