"""The run store: every result on disk with its metadata, indexed, safe against kills and many writers."""

from ._checks import Problem
from ._files import Reservation, atomic_write
from ._previews import PreviewCache
from ._repair import Repair
from ._result import ImageResult
from ._store import RunStore

__all__ = ["ImageResult", "PreviewCache", "Problem", "Repair", "Reservation", "RunStore", "atomic_write"]
