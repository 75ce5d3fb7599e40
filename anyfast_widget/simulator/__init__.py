"""A local stand-in for the Anyfast image API, over real HTTP on 127.0.0.1.

``Simulator`` is a context manager; ``python -m anyfast_widget.simulator`` serves
from the command line; the pytest fixture ``anyfast_simulator`` gives each test a
started server. It validates with the client's own rules module, returns
deterministic pictures of the prompt and real masked edits, and has fault knobs.
"""

from ._server import DOWNLOAD_FAULT_KINDS, FAULT_KINDS, Fault, RecordedRequest, Simulator, UploadedFile

__all__ = ["Simulator", "Fault", "RecordedRequest", "UploadedFile", "FAULT_KINDS", "DOWNLOAD_FAULT_KINDS"]
