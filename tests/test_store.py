"""The run store: every result on disk with its metadata, found again after restarts and crashes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

from PIL import Image

from anyfast_widget import Client, RunStore
from anyfast_widget._store import slugify


def make_client(sim, run_dir):
    return Client(api_key=sim.api_key, base_url=sim.base_url, run_dir=run_dir)


def test_results_survive_a_restart_and_can_be_found(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        first = client.generate("a blue whale", quality="low")
        client.generate("a green turtle", quality="high")
    store = RunStore(run_dir)  # a fresh process would do exactly this
    assert len(store) == 2
    assert [r.prompt for r in store] == ["a blue whale", "a green turtle"]
    assert [r.prompt for r in store.find(prompt="WHALE")] == ["a blue whale"]
    again = store.get(first.id)
    assert again.data == first.data and again.params == first.params
    assert again.revised_prompt == first.revised_prompt
    assert store.find(request_hash=first.request_hash)[0].id == first.id
    assert store.latest().prompt == "a green turtle"


def test_the_same_request_has_the_same_hash(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        a = client.generate("same", size="1024x1024", response_format="url")
        b = client.generate("same")  # the defaults spelled out or not, and another transport
        c = client.generate("same", quality="high")
    assert a.request_hash == b.request_hash != c.request_hash


def test_file_names_from_prompts_stay_inside_the_run_directory(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as client:
        result = client.generate("../../etc/passwd \\ /tmp/x\x00 ~ *?")
    assert result.path.resolve().is_relative_to(run_dir.resolve())
    assert slugify("../../etc/passwd") == "etc-passwd" and slugify("???") == "image"
    assert "/" not in slugify("a/b\\c") and len(slugify("word " * 100)) <= 40


def test_two_writers_at_once_lose_nothing(anyfast_simulator, run_dir):
    with make_client(anyfast_simulator, run_dir) as one, make_client(anyfast_simulator, run_dir) as two:
        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit((one if i % 2 else two).generate, f"image {i}", quality="low") for i in range(24)]
            results = [f.result() for f in futures]
    store = RunStore(run_dir)
    assert len(store) == 24 == len({r.id for r in results})
    assert sorted(r.prompt for r in store) == sorted(f"image {i}" for i in range(24))
    for result in store:
        assert Image.open(result.path).size == (1024, 1024)


WRITER = textwrap.dedent(
    """
    import sys
    from anyfast_widget import Client
    client = Client(api_key=sys.argv[1], base_url=sys.argv[2], run_dir=sys.argv[3])
    for i in range(1000):
        client.generate(f"frame {i}", size="2048x2048", quality="low")
        print(i, flush=True)
    """
)


def test_a_killed_writer_leaves_only_whole_files(anyfast_simulator, run_dir):
    """SIGKILL a process mid-run, several times: every file is whole and every indexed result loads."""
    for delay in (0.4, 0.9, 1.6):
        child = subprocess.Popen(
            [sys.executable, "-c", WRITER, anyfast_simulator.api_key, anyfast_simulator.base_url, str(run_dir)],
            stdout=subprocess.PIPE,
            text=True,
        )
        child.stdout.readline()  # at least one result finished
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait()
    store = RunStore(run_dir)
    assert len(store) >= 3
    for result in store:
        with Image.open(result.path) as image:
            image.load()  # raises on a half-written file
        json.loads(result.sidecar_path.read_text())
    for path in (run_dir / "images").rglob("*"):
        if path.suffix == ".png":
            with Image.open(path) as image:
                image.load()
    indexed = len(store)
    assert store.reindex() == len(list((run_dir / "images").rglob("*.json")))
    assert len(RunStore(run_dir)) >= indexed
