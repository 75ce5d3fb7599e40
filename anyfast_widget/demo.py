"""``python -m anyfast_widget.demo``: one generation and one masked edit, end to end.

Uses the real API when ``ANYFAST_API_KEY`` is set, and otherwise the local
stand-in server (it says which). Results land in ``./anyfast-runs``.
"""

from __future__ import annotations

import contextlib
import os
import sys

import numpy as np

from . import Client, Mask
from .simulator import Simulator


def main() -> int:
    with contextlib.ExitStack() as stack:
        if os.environ.get("ANYFAST_API_KEY"):
            print("Using the real Anyfast API (ANYFAST_API_KEY is set); this costs money.")
            client = stack.enter_context(Client())
        else:
            sim = stack.enter_context(Simulator())
            print(f"No ANYFAST_API_KEY: using the local stand-in server at {sim.base_url}.")
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


if __name__ == "__main__":
    sys.exit(main())
