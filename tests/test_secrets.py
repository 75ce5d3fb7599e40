"""The API key goes in one place only: the Authorization header to the API host."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import time
import traceback
import uuid
from urllib.parse import quote, quote_plus

import httpx
import numpy as np
import pytest
from ipywidgets import Widget, embed

from anyfast_widget import (
    AnyfastError,
    APIConnectionError,
    APITimeoutError,
    AsyncClient,
    AuthenticationError,
    BadRequestError,
    Client,
    ConfigurationError,
    DownloadError,
    ImageStudio,
    MalformedResponseError,
    ModerationBlockedError,
    RetryPolicy,
    ServerError,
    ValidationError,
    compare,
    prompts,
)
from anyfast_widget.simulator import Simulator

from .conftest import encode, gradient
from .studio.test_studio import state_json


def test_the_key_is_in_no_repr_error_sidecar_or_log(anyfast_simulator, run_dir, caplog):
    caplog.set_level(logging.DEBUG)
    key = anyfast_simulator.api_key
    with Client(
        api_key=key, base_url=anyfast_simulator.base_url, run_dir=run_dir, retry=RetryPolicy(max_retries=1, initial_backoff=0.01)
    ) as client:
        result = client.generate("secret-free", response_format="url")
        anyfast_simulator.fail_next("500", count=2)
        with pytest.raises(AnyfastError) as info:
            client.generate("fails")
        texts = [repr(client), str(client.__dict__), repr(result), str(info.value), repr(info.value), caplog.text]
    for text in texts:
        assert key not in text
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    api = anyfast_simulator.api_requests[0]
    assert api.headers.get("authorization") == f"Bearer {key}"
    assert all("authorization" not in {h.lower() for h in r.headers} for r in anyfast_simulator.download_requests)


OFF_LOOPBACK = (
    "http://api.example.com",
    "http://example.com",
    "http://10.0.0.5:8000",
    "http://10.0.0.1",
    "http://www.anyfast.ai/v1",
    "http://[::2]",
    "http://[::ffff:10.0.0.1]",
    "http://localhost.evil.com",
    "http://127.0.0.1.evil.com",
    "http://127.0.0.1@evil.com",
    "http://127.0.0.1:80@evil.com",
    "http://0.0.0.0",
    "http://2130706433",  # 127.0.0.1 as one number: some resolvers read it so, but it is not plainly loopback
    "HTTP://EXAMPLE.COM",
)
ON_LOOPBACK = (
    "http://127.0.0.1",
    "http://127.0.0.1:9",
    "http://localhost",
    "http://localhost:9",
    "http://[::1]",
    "http://[::1]:9",
    "http://LOCALHOST",
    "https://www.anyfast.ai",
    "https://example.com",
)


def test_a_bearer_key_never_goes_over_plain_http_off_loopback(tmp_path, monkeypatch):
    """Refused when the client is made: nothing is sent, nor connected (nothing off loopback answers here anyway)."""
    for url in OFF_LOOPBACK:
        started = time.monotonic()
        with pytest.raises(ConfigurationError, match="plain http"):
            Client(api_key="sk-test", base_url=url, run_dir=tmp_path)
        with pytest.raises(ConfigurationError, match="plain http"):
            ImageStudio(api_key="sk-test", base_url=url, run_dir=tmp_path)
        with pytest.raises(ConfigurationError, match="plain http"):
            compare("x", api_key="sk-test", base_url=url, run_dir=tmp_path, run=False)
        monkeypatch.setenv("ANYFAST_BASE_URL", url)
        with pytest.raises(ConfigurationError, match="plain http"):
            Client(api_key="sk-test", run_dir=tmp_path)
        monkeypatch.delenv("ANYFAST_BASE_URL")
        assert time.monotonic() - started < 1.0, url
    for url in ON_LOOPBACK:
        with Client(api_key="sk-test", base_url=url, run_dir=tmp_path) as client:
            # what httpx would connect to is what was judged
            host = httpx.URL(client.base_url).host
            assert host in ("127.0.0.1", "localhost", "::1") or url.startswith("https"), (url, host)
    with pytest.raises(ConfigurationError, match="not an http"):
        Client(api_key="sk-test", base_url="ftp://files.example.com", run_dir=tmp_path)


def test_configuration_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("ANYFAST_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as info:
        Client(run_dir=tmp_path)
    assert "ANYFAST_API_KEY" in info.value.hint
    monkeypatch.setenv("ANYFAST_API_KEY", "sk-env")
    monkeypatch.setenv("ANYFAST_BASE_URL", "https://gateway.example.com/v1/")
    monkeypatch.setenv("ANYFAST_RUN_DIR", str(tmp_path / "env-runs"))
    with Client() as client:
        assert client.base_url == "https://gateway.example.com"
        assert client.store.root == (tmp_path / "env-runs").resolve()
        with pytest.raises(TypeError):
            pickle.dumps(client._api_key)


# -- everything a session leaves behind, searched for the key --------------------------------------------


KEY = f"sk-SECRET-{uuid.uuid4()}"
WRONG_KEY = f"sk-SECRET-{uuid.uuid4()}"  # a key the API refuses (401): it must not show up either
FAST = RetryPolicy(max_retries=1, initial_backoff=0.01, max_backoff=0.02)


def key_forms(key: str) -> list[str]:
    """The key as it might be written down: plain, URL-encoded, in base64 (alone or as a Basic or Bearer credential)."""
    raw = key.encode()
    forms = {key, quote(key), quote_plus(key), key.upper(), key[len("sk-") :]}
    for blob in (raw, b"Bearer " + raw, b":" + raw, b"user:" + raw):
        forms |= {base64.b64encode(blob).decode(), base64.urlsafe_b64encode(blob).decode().rstrip("=")}
    return sorted(forms)


FORMS = key_forms(KEY) + key_forms(WRONG_KEY)


def assert_no_key(where: str, text: str | bytes) -> None:
    for form in FORMS:
        needle = form.encode() if isinstance(text, bytes) else form
        assert needle not in text, f"a form of the API key ({form[:12]}...) is in {where}"


def error_texts(error: BaseException) -> list[str]:
    """str, repr and attributes of an error and of every error in its cause/context chain, and its traceback."""
    texts = ["".join(traceback.format_exception(error))]
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        texts += [str(error), repr(error), repr(getattr(error, "__dict__", {})), repr(error.args)]
        error = error.__cause__ or error.__context__
    return texts


@pytest.fixture
def secret_simulator():
    with Simulator(api_key=KEY) as sim:
        yield sim


def test_the_key_goes_only_into_the_authorization_header_to_the_api(secret_simulator, run_dir, caplog, monkeypatch):
    sim = secret_simulator
    caplog.set_level(logging.DEBUG)
    for name in ("httpx", "httpcore", "anyfast_widget", "asyncio"):
        caplog.set_level(logging.DEBUG, logger=name)
    errors: list[BaseException] = []
    objects: list[object] = []

    def expect(kind: type[BaseException], call) -> None:
        with pytest.raises(kind) as info:
            call()
        errors.append(info.value)

    region = np.zeros((1024, 1024), dtype=bool)
    region[300:700, 300:700] = True
    source = encode(gradient(1024, 1024), "PNG")

    # -- the client: results of every kind, and errors of every kind --
    with Client(api_key=KEY, base_url=sim.base_url, run_dir=run_dir, retry=FAST) as client:
        objects += [client, client.generate("a b64 picture", quality="low")]
        objects.append(client.generate("a linked picture", quality="low", response_format="url"))
        objects.append(client.edit("a masked edit", source, mask=region))
        objects.append(client.edit("a masked edit by link", source, mask=region, response_format="url"))
        sim.fail_next("500")
        objects.append(client.generate("after a retried 500", quality="low"))
        sim.fail_next("429", retry_after=0.01)
        objects.append(client.generate("after a 429", quality="low"))
        sim.fail_next("download_500")
        objects.append(client.generate("after a retried download", quality="low", response_format="url"))
        for fault, kind in (("500", ServerError), ("html", ServerError), ("drop", APIConnectionError)):
            sim.fail_next(fault, count=2)
            expect(kind, lambda: client.generate("fails twice", quality="low"))
        for fault in ("malformed_json", "invalid_b64", "truncated_b64"):
            sim.fail_next(fault)
            expect(MalformedResponseError, lambda: client.generate("garbled", quality="low"))
        sim.fail_next("download_500", count=2)
        expect(DownloadError, lambda: client.generate("storage down", quality="low", response_format="url"))
        sim.fail_next("download_expired")
        expect(DownloadError, lambda: client.generate("expired", quality="low", response_format="url"))
        expect(ModerationBlockedError, lambda: client.generate("a blockme picture"))
        expect(ValidationError, lambda: client.generate("x", size="1000x1000"))
        expect(ValidationError, lambda: client.edit("x", gradient(), mask=np.ones((3, 3), bool)))
        sim.refuse_masks = True
        expect(BadRequestError, lambda: client.edit("a refused mask", source, mask=region))
        sim.refuse_masks = False
    with Client(api_key=KEY, base_url=sim.base_url, run_dir=run_dir, timeout=0.3, retry=RetryPolicy(max_retries=0)) as slow:
        sim.fail_next("stall", seconds=1)
        expect(APITimeoutError, lambda: slow.generate("too slow"))
        objects.append(slow)
    with Client(api_key=WRONG_KEY, base_url=sim.base_url, run_dir=run_dir) as wrong:
        expect(AuthenticationError, lambda: wrong.generate("a wrong key"))
        objects.append(wrong)

    async def with_async_client() -> None:
        async with AsyncClient(api_key=KEY, base_url=sim.base_url, run_dir=run_dir, retry=FAST) as client:
            objects.append(await client.generate("async and linked", quality="low", response_format="url"))
            sim.fail_next("500", count=2)
            try:
                await client.generate("async fails")
            except ServerError as error:
                errors.append(error)
            objects.append(client)

    import asyncio

    asyncio.run(with_async_client())

    # -- the studio, its key from the environment, with a failed variant and a masked edit --
    monkeypatch.setenv("ANYFAST_API_KEY", KEY)
    studio = ImageStudio(base_url=sim.base_url, run_dir=run_dir, retry=FAST)
    studio.prompt = "a studio picture"
    studio.params = {**studio.params, "quality": "low"}
    studio.variants = 2
    sim.fail_next("500", count=3)  # both first tries fail, one retry fails again: one variant errs
    studio.run()
    assert [job["status"] for job in studio.jobs].count("error") == 1
    studio.sources = [source]
    studio.mask = region
    studio.mask_tools = {**studio.mask_tools, "keep_outside": True}
    studio.run()
    studio._handle_custom_msg({"type": "fetch", "id": "no-such-result", "purpose": "download"}, [])  # an error notice
    assert studio.notice["kind"] == "error"
    objects += [studio, *studio.results]

    # -- grids: one from the studio, one with a blocked column and a failed cell, and its widget --
    objects.append(studio.compare(cols={"output_format": ["png", "jpeg"]}, progress=False))
    sim.fail_next("malformed_json")
    grid = compare(
        "a fox",
        rows={"quality": ["low", "medium"]},
        cols=prompts(["a fox", "a blockme fox"], labels=["fox", "blocked"]),
        api_key=KEY,
        base_url=sim.base_url,
        run_dir=run_dir,
        concurrency=1,
        progress=False,
    )
    states = [s.status for _, s in grid.slots()]
    assert "error" in states and "blocked" in states and "done" in states
    errors += [s.error for _, s in grid.slots() if s.error is not None]
    view = grid.view
    for kind in ("png", "html", "json", "csv"):
        view.export(kind)
    view.refresh()
    objects += [grid, view, *grid.cells, *grid.to_records()]

    # -- where the key must not be --
    notebook_state = json.dumps(Widget.get_manager_state(drop_defaults=False, widgets=[studio, view]), default=repr)
    embedded = json.dumps(embed.embed_data(views=[studio, view], drop_defaults=False), default=repr)
    assert studio.model_id in notebook_state and view.model_id in embedded
    assert_no_key("the studio's widget state", state_json(studio))
    assert_no_key("the grid widget's state", state_json(view))
    assert_no_key("the notebook's saved widget state", notebook_state)
    assert_no_key("the embedded widget state", embedded)
    for obj in objects:
        assert_no_key(f"repr/str of {type(obj).__name__}", repr(obj) + str(obj) + repr(getattr(obj, "__dict__", "")))
    assert len(errors) >= 15
    for error in errors:
        for text in error_texts(error):
            assert_no_key(f"the {type(error).__name__}", text)
    assert_no_key("the logs", caplog.text)
    assert_no_key("the log records", "\n".join(repr(r.__dict__) for r in caplog.records))
    files = [p for p in run_dir.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"index.sqlite", "index.sqlite-wal"}
    assert {p.suffix for p in (run_dir / "exports").iterdir()} == {".png", ".html", ".json", ".csv"}
    for path in files:
        assert_no_key(str(path.relative_to(run_dir)), path.read_bytes())

    # -- what the two hosts received --
    assert sim.download_requests
    for request in sim.download_requests:
        assert "authorization" not in request.headers
        assert_no_key(
            "a request to the download host", json.dumps([request.path, request.query, request.headers, request.fields])
        )
    for request in sim.api_requests:
        expected = f"Bearer {WRONG_KEY}" if request.headers.get("authorization") == f"Bearer {WRONG_KEY}" else f"Bearer {KEY}"
        assert request.headers["authorization"] == expected
        others = {k: v for k, v in request.headers.items() if k != "authorization"}
        assert_no_key(
            "a request to the API (outside its Authorization header)",
            json.dumps([request.path, request.query, others, request.fields], default=repr),
        )
        for upload in request.files:
            assert_no_key("an uploaded file", upload.data)


def test_a_grid_keeps_no_readable_key(secret_simulator, run_dir):
    grid = compare(
        "a fox",
        cols={"quality": ["low", "medium"]},
        api_key=KEY,
        base_url=secret_simulator.base_url,
        run_dir=run_dir,
        run=False,
        progress=False,
    )
    assert_no_key("the grid's attributes", repr(vars(grid)))
    grid.run()
    assert [c.status for c in grid.cells] == ["done", "done"]
    with pytest.raises(TypeError):
        pickle.dumps(grid._clients)
