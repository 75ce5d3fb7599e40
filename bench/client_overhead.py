"""Per-call time of our Client against the official openai SDK, on the same zero-latency simulator.

Both ask for the same b64_json PNG and end with a decoded PIL image; ours also
validates, checks the bytes, and saves image, sidecar and index row to disk
(all of that is inside the time measured: ``generate`` returns only once it is done).
"""

from __future__ import annotations

import base64
import io
import os
import statistics
import tempfile
import time

import openai
from PIL import Image

from anyfast_widget import Client

from ._simulator import API_KEY, simulator_process

SIZES = {"1024x1024": 100, "2048x2048": 40}
PROMPT = "a benchmark still life with lemons"


def _ours(client: Client, size: str) -> None:
    client.generate(PROMPT, size=size, response_format="b64_json").image.load()


def _sdk(sdk: openai.OpenAI, size: str) -> None:
    response = sdk.images.generate(model="gpt-image-2-c", prompt=PROMPT, size=size, response_format="b64_json")  # type: ignore[arg-type]
    Image.open(io.BytesIO(base64.b64decode(response.data[0].b64_json))).load()


def _timed(call, client, size: str) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    call(client, size)
    return time.perf_counter() - start


def run() -> list[dict[str, object]]:
    rows = []
    # variation 0: every call gets the same cached picture, so the server's encoder is not measured
    with simulator_process("--variation", "0") as url, tempfile.TemporaryDirectory() as run_dir:
        sdk_client = openai.OpenAI(api_key=API_KEY, base_url=url + "/v1")
        with Client(api_key=API_KEY, base_url=url, run_dir=run_dir) as ours, sdk_client as sdk:
            for size, rounds in SIZES.items():
                for _ in range(3):  # warm up: connections, the server's render cache
                    _ours(ours, size)
                    _sdk(sdk, size)
                load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
                times: dict[str, list[float]] = {"ours": [], "sdk": []}
                for i in range(rounds):
                    # Each round times both back to back, so drift (disk writeback, the other
                    # core's load) hits both alike; who goes first alternates, so neither side
                    # always runs while the kernel writes back the other's files.
                    if i % 2:
                        times["sdk"].append(_timed(_sdk, sdk, size))
                        times["ours"].append(_timed(_ours, ours, size))
                    else:
                        times["ours"].append(_timed(_ours, ours, size))
                        times["sdk"].append(_timed(_sdk, sdk, size))
                ours_ms = statistics.median(times["ours"]) * 1000
                sdk_ms = statistics.median(times["sdk"]) * 1000
                ratios = [o / s for o, s in zip(times["ours"], times["sdk"], strict=True)]
                low, ratio, high = statistics.quantiles(ratios, n=4)  # the median round, and the middle half
                rows.append(
                    {
                        "benchmark": f"per-call time, {size} PNG, decoded to PIL (median of {rounds} paired rounds, "
                        f"middle half {low:.2f}-{high:.2f}; load {load:.1f})",
                        "ours": f"{ours_ms:.1f} ms",
                        "peer / limit": f"openai SDK {sdk_ms:.1f} ms",
                        "ratio": ratio,
                        "goal": "<= 1.00",
                        "pass": ratio <= 1.0,
                    }
                )
    return rows
