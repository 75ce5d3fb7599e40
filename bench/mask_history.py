"""The studio's mask editor at 4K, in the kernel: one stroke handled as the browser sends it, and undo with a long history.

(a) a ``mask_edit`` message of one stroke (200 points, radius 40) on a 3840x2160
source, handled as the comm delivers it: rasterized at full resolution, recorded as
an undo step, and answered with the display-sized patch of the box it changed
(what the kernel spends between pointer-up and the preview); (b) ``undo_mask()`` with
200 strokes in the history. Each is the median of many runs, as a ratio to its limit.

Why these limits: the preview must update within 50 ms of pointer-up, of which the
kernel may take half; undo must cost the same however long the history is, at most
5 ms at 4K with 200 strokes (the issue's goal).
"""

from __future__ import annotations

import statistics
import tempfile
import time

import numpy as np
from PIL import Image

from anyfast_widget import ImageStudio

from .strokes import _row, walk  # the same row as the stroke benchmarks

SIZE = (3840, 2160)
HISTORY = 200
LIMITS_MS = {"stroke": 25.0, "undo": 5.0}



def run() -> list[dict[str, object]]:
    rng = np.random.default_rng(0)
    picture = Image.fromarray(rng.integers(0, 255, (SIZE[1], SIZE[0], 3), np.uint8))
    with tempfile.TemporaryDirectory() as run_dir:
        studio = ImageStudio(api_key="sk-bench", base_url="http://127.0.0.1:9", run_dir=run_dir, history=0)
        studio.sources = [picture]
        studio._send = lambda msg, buffers=None: None  # no browser: the message is made, not delivered
        strokes = [walk(rng, SIZE, 40.0) for _ in range(HISTORY)]
        times = []
        for stroke in strokes:
            start = time.perf_counter()
            studio._handle_custom_msg({"type": "mask_edit", "edit": stroke}, [])
            times.append(time.perf_counter() - start)
        assert studio.mask_history == {"undo": HISTORY, "redo": 0}
        stroke_ms = statistics.median(times) * 1000
        undo = []
        for _ in range(HISTORY // 2):
            start = time.perf_counter()
            studio.undo_mask()
            undo.append(time.perf_counter() - start)
        undo_ms = statistics.median(undo) * 1000
        studio.close()
    label = "1 stroke message (200 points, radius 40) handled at 3840x2160: raster + undo step + patch"
    return [
        _row(f"{label} (median of {HISTORY})", stroke_ms, LIMITS_MS["stroke"]),
        _row(f"undo at 3840x2160 with {HISTORY} strokes in history (median of {HISTORY // 2})", undo_ms, LIMITS_MS["undo"]),
    ]


if __name__ == "__main__":
    for row in run():
        print(f"{row['benchmark']}: {row['ours']} ({row['peer / limit']}, ratio {row['ratio']:.2f})")
