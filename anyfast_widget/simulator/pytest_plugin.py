"""pytest fixture ``anyfast_simulator``: a started stand-in server for one test (registered as a pytest11 plugin)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ._simulator import Simulator


@pytest.fixture
def anyfast_simulator() -> Iterator[Simulator]:
    """A fresh :class:`Simulator` on an ephemeral port with default knobs, stopped after the test."""
    with Simulator() as sim:
        yield sim
