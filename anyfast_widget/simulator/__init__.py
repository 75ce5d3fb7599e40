"""A local stand-in for the Anyfast image API, over real HTTP on 127.0.0.1.

``Simulator`` is a context manager; ``python -m anyfast_widget.simulator`` serves
from the command line; the pytest fixture ``anyfast_simulator`` gives each test a
started server. It validates with the client's own rules module, returns
deterministic pictures of the prompt and real masked edits, serves ``url`` results
from a second origin with expiring signed links, and has fault knobs
(``Simulator.fail_next``, ``FAULT_KINDS``), also driven over HTTP:

- ``POST /_simulator/faults`` ``{"kind": "503", "count": 2, ...options}``: queue faults;
- ``GET /_simulator/faults``: the queued kinds;
- ``POST /_simulator/config`` ``{"latency": 1.5, ...}`` / ``GET /_simulator/config``: the knobs;
- ``GET /_simulator/requests``: counts (``count``, ``by_path``, ``downloads``) and a digest of each;
- ``POST /_simulator/reset``: forget requests and queued faults.

``offline_server()`` is the process's built-in one that ``ImageStudio(offline=True)``
and ``compare(..., offline=True)`` use.
"""

from ._faults import ALL_TRANSIENT, DOWNLOAD_FAULT_KINDS, FAULT_KINDS, Fault
from ._offline import offline_server
from ._records import RecordedRequest, UploadedFile
from ._simulator import Simulator

__all__ = [
    "ALL_TRANSIENT",
    "DOWNLOAD_FAULT_KINDS",
    "FAULT_KINDS",
    "Fault",
    "RecordedRequest",
    "Simulator",
    "UploadedFile",
    "offline_server",
]
