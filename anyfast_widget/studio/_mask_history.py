"""The mask's undo history as patches: each step keeps the box it changed, before and after, one bit per pixel.

Undo writes a step's "before" back into its box and redo its "after", so either
costs what that one box costs, however long the history is (a brush stroke's box
is small; a clear or an invert is the whole image, 1 MB at 4K). The history keeps
at most ``max_steps`` steps and ``max_bytes`` of patches: beyond that the oldest
step is folded into the base, the region the history starts from, and can no
longer be undone.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

Box = tuple[int, int, int, int]  # (x0, y0, x1, y1) in source pixels, ends exclusive


def pack(region: np.ndarray) -> bytes:
    """An HxW bool array as bits (its shape is the caller's to keep)."""
    return np.packbits(region, axis=None).tobytes()


def unpack(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The bool array :func:`pack` made of an array of ``shape``."""
    count = shape[0] * shape[1]
    return np.unpackbits(np.frombuffer(data, np.uint8), count=count).reshape(shape).view(bool)


@dataclasses.dataclass(frozen=True)
class Step:
    """One edit: the op as given, the box it could change, and that box's pixels before and after it."""

    op: dict[str, Any]
    box: Box
    before: bytes
    after: bytes
    gained: int  # pixels of the box in the mask after the step, less those before it

    @property
    def shape(self) -> tuple[int, int]:
        x0, y0, x1, y1 = self.box
        return (y1 - y0, x1 - x0)

    @property
    def nbytes(self) -> int:
        return len(self.before) + len(self.after)

    @classmethod
    def record(cls, op: dict[str, Any], box: Box, before: np.ndarray, after: np.ndarray) -> Step:
        gained = int(np.count_nonzero(after)) - int(np.count_nonzero(before))
        return cls(op, box, pack(before), pack(after), gained)

    def write(self, region: np.ndarray, *, undo: bool) -> None:
        """Put the box of ``region`` back as it was before this step (``undo``) or after it."""
        x0, y0, x1, y1 = self.box
        if x1 > x0 and y1 > y0:
            region[y0:y1, x0:x1] = unpack(self.before if undo else self.after, self.shape)


class MaskHistory:
    """The steps that can be undone (oldest first) and redone (most recently undone last), over a base region."""

    def __init__(self, base: np.ndarray, *, max_steps: int = 2_000, max_bytes: int = 256 * 2**20) -> None:
        self.base = base  # the region before the first step that can be undone
        self.done: list[Step] = []
        self.undone: list[Step] = []
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self._bytes = 0

    @property
    def counts(self) -> dict[str, int]:
        """``{"undo": n, "redo": m}``, as the ``mask_history`` trait shows it."""
        return {"undo": len(self.done), "redo": len(self.undone)}

    def push(self, step: Step) -> None:
        """A new edit: it can be undone, and nothing undone can be redone any more."""
        self._bytes -= sum(s.nbytes for s in self.undone)
        self.undone = []
        self.done.append(step)
        self._bytes += step.nbytes
        while self.done and (len(self.done) > self.max_steps or self._bytes > self.max_bytes):
            oldest = self.done.pop(0)
            oldest.write(self.base, undo=False)  # the base now holds what the oldest step did
            self._bytes -= oldest.nbytes

    def undo(self, region: np.ndarray) -> Step | None:
        """Take back the newest step on ``region`` (in place); None when there is none."""
        if not self.done:
            return None
        step = self.done.pop()
        step.write(region, undo=True)
        self.undone.append(step)
        return step

    def redo(self, region: np.ndarray) -> Step | None:
        """Do the most recently undone step again on ``region``; None when there is none."""
        if not self.undone:
            return None
        step = self.undone.pop()
        step.write(region, undo=False)
        self.done.append(step)
        return step
