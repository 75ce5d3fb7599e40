"""A source or a mask is read no further than the API's 50 MB: a huge file or one that never ends costs no memory.

The files are real: a sparse 2 GiB file (``truncate`` costs no disk), ``/dev/zero`` and a stream that never ends.
Each refusal is the usual ValidationError (the field, the ``file_size`` rule, a fix), nothing reaches the stand-in
server, and the memory the call takes is measured: with tracemalloc in this process, and as the peak resident size
of a separate process (``ru_maxrss``), which is what a user would see grow.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from anyfast_widget import Client, Mask, ValidationError, keep_outside, mask_change
from anyfast_widget.core import difference, encode_source, load_image

from ..conftest import encode, gradient

LIMIT = 50_000_000  # the API's "under 50 MB"
MB = 1_000_000
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def huge(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("huge") / "huge.png"
    with open(path, "wb") as file:
        file.truncate(2**31)  # sparse: 2 GiB long, no disk used
    return path


class Endless(io.RawIOBase):
    """A stream that never ends and hands out at most 64 KiB a read, as a pipe or a socket may."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), 65536)
        buffer[:n] = b"\x89PNG\r\n\x1a\n"[:1] * n
        return n


def forms(huge: Path) -> dict:
    """Ways to hand over far more than 50 MB, as fresh objects each time."""
    return {
        "path str": lambda: str(huge),
        "pathlib.Path": lambda: huge,
        "open(path, 'rb')": lambda: open(huge, "rb"),  # noqa: SIM115 - closed by the test
        "open('/dev/zero', 'rb')": lambda: open("/dev/zero", "rb"),  # noqa: SIM115
        "open('/dev/zero', 'rb', buffering=0)": lambda: open("/dev/zero", "rb", buffering=0),  # noqa: SIM115
        "a stream that never ends": Endless,
    }


FORMS = list(forms(Path("x")))


@pytest.fixture
def client(anyfast_simulator, run_dir):
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as c:
        yield c


def peak_of(call) -> tuple[BaseException | None, float]:
    """What ``call()`` raised, and the most memory it held at once, in MB."""
    tracemalloc.start()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - returned for the test to judge
        return exc, tracemalloc.get_traced_memory()[1] / MB
    finally:
        tracemalloc.stop()
    return None, 0.0


def assert_refused_for_size(error, field: str) -> None:
    assert isinstance(error, ValidationError), repr(error)
    assert (error.field, error.rule) == (field, "file_size"), error.violations
    text = str(error)
    assert field in text and "50.0 MB" in text and "Fix:" in text, text


def close(value) -> None:
    if hasattr(value, "close"):
        value.close()


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("target", ["source", "mask"])
def test_a_huge_or_endless_input_is_refused_having_read_at_most_50_mb(client, anyfast_simulator, huge, form, target):
    value = forms(huge)[form]()
    try:
        if target == "source":
            error, peak = peak_of(lambda: client.edit("x", value, size="1024x640"))
        else:
            error, peak = peak_of(lambda: client.edit("x", gradient(64, 48), mask=value, size="1024x640"))
    finally:
        close(value)
    assert_refused_for_size(error, "image[0]" if target == "source" else "mask")
    assert anyfast_simulator.request_count() == 0, "a refused request reached the server"
    # A file on disk (by path or opened) says its size before a byte is read; a stream is read up to the limit, no further.
    assert peak < (5 if "path" in form.lower() else LIMIT / MB + 5), f"{peak:.1f} MB"


def test_a_path_says_the_files_real_size_and_a_stream_what_was_read(huge):
    with pytest.raises(ValidationError, match=r"the file is 2147\.5 MB; the API takes files under 50\.0 MB"):
        encode_source(huge)
    with open("/dev/zero", "rb") as endless, pytest.raises(ValidationError, match=r"at least 50\.0 MB") as info:
        Mask.coerce(endless)
    assert (info.value.field, info.value.rule) == ("mask", "file_size")


@pytest.mark.parametrize(
    "call",
    [
        lambda v: load_image(v),
        lambda v: Mask.from_png(v),
        lambda v: Mask.from_white_is_edit(v),
        lambda v: Mask.from_black_is_edit(v),
        lambda v: mask_change(v, gradient(8, 8), np.ones((8, 8), bool)),
        lambda v: keep_outside(gradient(8, 8), v, np.ones((8, 8), bool)),
        lambda v: difference(v, gradient(8, 8)),
    ],
    ids=["load_image", "Mask.from_png", "Mask.from_white_is_edit", "Mask.from_black_is_edit", "mask_change", "keep_outside",
         "difference"],  # fmt: skip
)
@pytest.mark.parametrize("form", ["path str", "open('/dev/zero', 'rb')"])
def test_every_function_that_reads_a_file_stops_at_the_limit(huge, call, form):
    value = forms(huge)[form]()
    try:
        error, peak = peak_of(lambda: call(value))
    finally:
        close(value)
    assert isinstance(error, ValidationError) and error.rule == "file_size", repr(error)
    assert peak < (5 if "path" in form else LIMIT / MB + 5), f"{peak:.1f} MB"


def test_a_device_or_a_folder_given_as_a_path_is_not_read(tmp_path):
    for path in ("/dev/zero", tmp_path):
        with pytest.raises(ValidationError, match="not a regular file") as info:
            encode_source(path)
        assert (info.value.field, info.value.rule) == ("image", "file")


def test_a_file_object_just_under_the_limit_is_read_whole_even_a_piece_at_a_time():
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            return self._data.readinto(memoryview(buffer)[:1000])  # a short read each time: keep reading

    png = encode(gradient(64, 48), "PNG")
    assert encode_source(Trickle(png)).data == png
    assert encode_source(io.BytesIO(png)).data == png


def test_a_file_object_that_is_not_binary_or_not_readable_says_so(tmp_path):
    (tmp_path / "a.png").write_bytes(encode(gradient(8, 8), "PNG"))
    with open(tmp_path / "a.png", encoding="latin-1") as text, pytest.raises(ValidationError, match="text, not bytes"):
        encode_source(text)
    with open(tmp_path / "b.png", "wb") as written, pytest.raises(ValidationError, match="could not be read"):
        encode_source(written)


_MEASURE = textwrap.dedent(
    """
    import json, resource, sys
    from anyfast_widget import Client, ValidationError
    from PIL import Image

    base_url, key, run_dir, huge = sys.argv[1:5]
    results = {}
    with Client(api_key=key, base_url=base_url, run_dir=run_dir) as client:
        small = Image.new("RGB", (64, 48))
        # Paths first, so that each stream's growth is measured from a peak no stream has raised yet.
        for name, source, mask, opener in [
            ("source path", huge, None, None), ("mask path", None, huge, None),
            ("source /dev/zero", "/dev/zero", None, open), ("mask /dev/zero", None, "/dev/zero", open),
        ]:
            source = opener(source, "rb") if opener and source else source
            mask = opener(mask, "rb") if opener and mask else mask
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            try:
                client.edit("x", source if source is not None else small, mask=mask, size="1024x640")
                outcome = "sent"
            except ValidationError as error:
                outcome = f"{error.field} {error.rule}"
            except MemoryError:
                outcome = "MemoryError"
            grew = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
            results[name] = {"outcome": outcome, "grew_mb": grew / 1024}
    print(json.dumps(results))
    """
)


def test_the_process_does_not_grow_by_what_it_was_given(anyfast_simulator, huge, tmp_path):
    """As a user sees it: the peak resident size of a fresh process, before and after each refusal."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    sim = anyfast_simulator
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, sim.base_url, sim.api_key, str(tmp_path / "runs"), str(huge)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout.strip().splitlines()[-1])
    assert {name: r["outcome"] for name, r in results.items()} == {
        "source path": "image[0] file_size",
        "mask path": "mask file_size",
        "source /dev/zero": "image[0] file_size",
        "mask /dev/zero": "mask file_size",
    }
    # Reading a 2 GiB file whole grew the process by about 2,050 MB; /dev/zero grew it until memory ran out.
    assert results["source path"]["grew_mb"] < 10 and results["mask path"]["grew_mb"] < 10, results
    assert results["source /dev/zero"]["grew_mb"] < 2 * LIMIT / MB, results
    assert anyfast_simulator.request_count() == 0
