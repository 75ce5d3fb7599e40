"""``python -m anyfast_widget.demo``: the studio in JupyterLab, on the local stand-in server.

Starts the stand-in server (or uses the real API when ``ANYFAST_API_KEY`` is set;
it says which) and opens ``notebooks/quickstart.ipynb`` in JupyterLab with
``ANYFAST_BASE_URL`` and ``ANYFAST_API_KEY`` pointing at it. ``--script`` runs one
generation and one masked edit in the terminal instead. Results land in
``./anyfast-runs``.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from pathlib import Path

import numpy as np

from . import Client, Mask
from .client import ENV_API_KEY, Settings
from .simulator import Simulator

QUICKSTART = Path("notebooks") / "quickstart.ipynb"


def studio() -> int:
    """JupyterLab on the quickstart notebook, with the environment set for the stand-in server."""
    with contextlib.ExitStack() as stack:
        settings = Settings.resolve()
        if settings.api_key is not None:
            print(f"Using the real Anyfast API ({ENV_API_KEY} is set); runs cost money.")
        else:
            sim = stack.enter_context(Simulator(latency=2.0))
            settings = Settings.resolve(sim.api_key, sim.base_url)
            print(f"No {ENV_API_KEY}: the studio talks to the local stand-in server at {sim.base_url}.")
        env = settings.environment()
        target = [str(QUICKSTART)] if QUICKSTART.is_file() else []
        try:
            return subprocess.call([sys.executable, "-m", "jupyterlab", *target, "--ServerApp.ip=127.0.0.1"], env=env)
        except KeyboardInterrupt:
            return 0


def script() -> int:
    with contextlib.ExitStack() as stack:
        if Settings.resolve().api_key is not None:
            print(f"Using the real Anyfast API ({ENV_API_KEY} is set); this costs money.")
            client = stack.enter_context(Client())
        else:
            sim = stack.enter_context(Simulator())
            print(f"No {ENV_API_KEY}: using the local stand-in server at {sim.base_url}.")
            client = stack.enter_context(Client(api_key=sim.api_key, base_url=sim.base_url))

        first = client.generate("a lighthouse on a cliff at dusk, watercolour", size="1536x1024", quality="low")
        print(f"generated {first.size[0]}x{first.size[1]} in {first.timings['total_s']:.2f} s -> {first.path}")

        sky = np.zeros((first.height, first.width), dtype=bool)
        sky[: first.height // 3] = True  # the top third may change
        edited = client.edit("replace the sky with green aurora", first.path, mask=Mask(sky), size="1536x1024")
        print(f"edited   {edited.size[0]}x{edited.size[1]} in {edited.timings['total_s']:.2f} s -> {edited.path}")
        print(f"revised prompt: {edited.revised_prompt!r}")
        print(f"{len(client.store)} results in {client.store.root}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    return script() if "--script" in args else studio()


if __name__ == "__main__":
    sys.exit(main())
