"""The API key goes in one place only: the Authorization header to the API host."""

from __future__ import annotations

import logging
import pickle

import pytest

from anyfast_widget import AnyfastError, Client, ConfigurationError, RetryPolicy


def test_the_key_is_in_no_repr_error_sidecar_or_log(anyfast_simulator, run_dir, caplog):
    caplog.set_level(logging.DEBUG)
    key = anyfast_simulator.api_key
    with Client(api_key=key, base_url=anyfast_simulator.base_url, run_dir=run_dir,
                retry=RetryPolicy(max_retries=1, initial_backoff=0.01)) as client:
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


def test_a_bearer_key_never_goes_over_plain_http_off_loopback(tmp_path):
    for url in ("http://api.example.com", "http://10.0.0.5:8000", "http://www.anyfast.ai/v1"):
        with pytest.raises(ConfigurationError, match="plain http"):
            Client(api_key="sk-test", base_url=url, run_dir=tmp_path)
    for url in ("http://127.0.0.1:9", "http://localhost:9", "http://[::1]:9", "https://www.anyfast.ai"):
        Client(api_key="sk-test", base_url=url, run_dir=tmp_path).close()
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
