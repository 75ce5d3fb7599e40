"""Configuration: an argument wins over the environment, the environment over the default, for every part at once."""

from __future__ import annotations

import pickle

import pytest

from anyfast_widget import Client, ConfigurationError, ImageStudio, RunStore, compare, prepare_generation
from anyfast_widget.client import DEFAULT_BASE_URL, DEFAULT_RUN_DIR, Settings

ENV = {"ANYFAST_API_KEY": " sk-from-env ", "ANYFAST_BASE_URL": "https://env.example.com/v1/", "ANYFAST_RUN_DIR": "/tmp/env-runs"}


def test_arguments_win_over_the_environment():
    settings = Settings.resolve("sk-arg", "https://arg.example.com", "/tmp/arg-runs", environ=ENV)
    assert settings.api_key.reveal() == "sk-arg"
    assert (settings.base_url, settings.run_dir) == ("https://arg.example.com", "/tmp/arg-runs")


def test_the_environment_fills_in_what_was_not_given():
    settings = Settings.resolve(environ=ENV)
    # The key is trimmed, and an OpenAI-style /v1 base URL loses its /v1 (the paths carry it).
    assert settings.api_key.reveal() == "sk-from-env"
    assert (settings.base_url, settings.run_dir) == ("https://env.example.com", "/tmp/env-runs")


def test_the_defaults_apply_when_neither_says():
    settings = Settings.resolve(environ={})
    assert (settings.api_key, settings.base_url, settings.run_dir) == (None, DEFAULT_BASE_URL, DEFAULT_RUN_DIR)


def test_a_blank_key_is_no_key_and_a_required_key_is_asked_for_first():
    assert Settings.resolve("   ", environ={}).api_key is None
    with pytest.raises(ConfigurationError, match="No API key") as caught:
        Settings.resolve(base_url="http://far.example.com", key_required=True, environ={})
    assert "ANYFAST_API_KEY" in caught.value.hint


def test_the_key_is_never_shown_or_pickled():
    settings = Settings.resolve("sk-very-secret", environ={})
    assert "sk-very-secret" not in repr(settings) and "sk-very-secret" not in str(settings)
    with pytest.raises(TypeError):
        pickle.dumps(settings)


def test_another_process_gets_the_same_settings_through_its_environment():
    settings = Settings.resolve("sk-child", "http://127.0.0.1:9/v1", environ={})
    child = Settings.resolve(environ=settings.environment())
    assert (child.api_key.reveal(), child.base_url) == ("sk-child", "http://127.0.0.1:9")


def test_client_studio_and_grid_resolve_the_same_way(monkeypatch, tmp_path, anyfast_simulator):
    monkeypatch.setenv("ANYFAST_API_KEY", anyfast_simulator.api_key)
    monkeypatch.setenv("ANYFAST_BASE_URL", anyfast_simulator.base_url + "/v1")
    monkeypatch.setenv("ANYFAST_RUN_DIR", str(tmp_path / "from-env"))
    with Client() as client:
        assert client.base_url == anyfast_simulator.base_url
        assert client.store.root == tmp_path / "from-env"
    studio = ImageStudio()
    assert studio.store.root == tmp_path / "from-env" and "API key" not in studio.run_blocked
    grid = compare("a fox", run=False, progress=False)
    assert grid.store.root == tmp_path / "from-env"
    monkeypatch.delenv("ANYFAST_API_KEY")
    with pytest.raises(ConfigurationError, match="No API key"):
        compare("a fox", progress=False)
    unsent = compare("a fox", run=False, progress=False)  # looking at a grid needs no key; sending it does
    with pytest.raises(ConfigurationError, match="No API key"):
        unsent.run()
    assert "API key" in ImageStudio().run_blocked


def test_a_prepared_request_is_sent_through_the_public_seam(anyfast_simulator, run_dir):
    prepared = prepare_generation("a lighthouse", size="1024x1024", quality="low")
    with Client(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir) as client:
        result = client.send(prepared)
    assert anyfast_simulator.request_count() == 1
    assert result.request_hash == prepared.request_hash and result.params["quality"] == "low"
    assert RunStore(run_dir).get(result.id).data == result.data
