"""The stand-in's rate limit, per key, over real HTTP: requests a second, requests at once, a Retry-After that is true."""

from __future__ import annotations

import concurrent.futures
import subprocess
import sys
import time

import httpx
import pytest

from anyfast_widget.simulator import Simulator

GEN = "/v1/images/generations"
BODY = {"model": "gpt-image-2-c", "prompt": "a lighthouse", "size": "1024x640", "quality": "low",
        "output_format": "jpeg", "output_compression": 50, "response_format": "b64_json"}

session = httpx.Client(timeout=30)


@pytest.fixture(autouse=True, scope="module")
def _close_the_client():
    yield
    session.close()


def generate(base_url: str, key: str) -> httpx.Response:
    return session.post(base_url + GEN, json=BODY, headers={"Authorization": f"Bearer {key}"})


def retry_after(response: httpx.Response) -> float:
    assert response.status_code == 429, response.text
    seconds = float(response.headers["Retry-After"])
    assert float(response.headers["retry-after-ms"]) == pytest.approx(seconds * 1000)
    return seconds


def test_the_limit_is_off_by_default(anyfast_simulator):
    assert [generate(anyfast_simulator.base_url, anyfast_simulator.api_key).status_code for _ in range(12)] == [200] * 12
    settings = anyfast_simulator.settings()
    assert (settings["rate_limit"], settings["rate_burst"], settings["max_concurrent"]) == (0, None, 0)


def test_a_burst_over_the_rate_is_refused_like_a_gateway_and_says_when_to_come_back():
    with Simulator(rate_limit=1, rate_burst=2) as sim:
        codes = [generate(sim.base_url, sim.api_key) for _ in range(3)]
        assert [r.status_code for r in codes] == [200, 200, 429]
        error = codes[2].json()["error"]
        assert (error["type"], error["code"]) == ("requests", "rate_limit_exceeded")
        assert "requests per second" in error["message"] and sim.api_key not in codes[2].text
        # One token a second, none left: the wait is at most a second, and most of it still to come.
        assert 0.5 < retry_after(codes[2]) <= 1.0
        assert sim.api_requests[-1].status == 429 and sim.api_requests[-1].fault is None


def test_coming_back_early_is_refused_again_and_honouring_retry_after_succeeds():
    with Simulator(rate_limit=1, rate_burst=1) as sim:
        assert generate(sim.base_url, sim.api_key).status_code == 200
        first = retry_after(generate(sim.base_url, sim.api_key))
        time.sleep(first * 0.3)
        second = retry_after(generate(sim.base_url, sim.api_key))  # still no token: what it said was true
        assert second < first  # and the wait shrank by about the time waited (the refusal took no token)
        time.sleep(second)
        assert generate(sim.base_url, sim.api_key).status_code == 200


def test_reset_fills_the_buckets_again():
    with Simulator(rate_limit=0.1, rate_burst=1) as sim:
        assert [generate(sim.base_url, sim.api_key).status_code for _ in range(2)] == [200, 429]
        sim.reset()
        assert generate(sim.base_url, sim.api_key).status_code == 200


def test_each_key_has_its_own_bucket_and_a_wrong_key_is_401_not_429():
    with Simulator(rate_limit=1, rate_burst=1, extra_keys=["sk-team-b"]) as sim:
        assert generate(sim.base_url, sim.api_key).status_code == 200
        assert generate(sim.base_url, sim.api_key).status_code == 429
        assert generate(sim.base_url, "sk-team-b").status_code == 200  # another key: untouched by the first one's use
        assert generate(sim.base_url, "sk-team-b").status_code == 429
        assert generate(sim.base_url, "sk-wrong").status_code == 401


def test_requests_over_max_concurrent_are_refused_until_one_in_progress_is_due():
    with Simulator(max_concurrent=2, latency=1.5, extra_keys=["sk-team-b"]) as sim, \
            concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(generate, sim.base_url, sim.api_key) for _ in range(2)]
        while sim.request_count() < 2:
            time.sleep(0.01)
        time.sleep(0.2)  # both let in, and waiting out their latency
        refused = generate(sim.base_url, sim.api_key)
        other_key = generate(sim.base_url, "sk-team-b")
        assert other_key.status_code == 200
        assert "concurrent requests (limit 2)" in refused.json()["error"]["message"]
        assert 0.0 < retry_after(refused) <= 1.5  # until the first of the two is due to be answered
        assert [f.result().status_code for f in slow] == [200, 200]
        assert generate(sim.base_url, sim.api_key).status_code == 200  # their places are free again


def test_the_knobs_change_over_http_and_nonsense_is_a_400(anyfast_simulator):
    admin = anyfast_simulator.base_url + "/_simulator/config"
    settings = session.post(admin, json={"rate_limit": 1, "rate_burst": 1, "max_concurrent": 3}).json()
    assert (settings["rate_limit"], settings["rate_burst"], settings["max_concurrent"]) == (1, 1, 3)
    codes = [generate(anyfast_simulator.base_url, anyfast_simulator.api_key).status_code for _ in range(2)]
    assert codes == [200, 429]
    for body in ({"rate_limit": -1}, {"rate_burst": 0}, {"max_concurrent": 1.5}, {"max_concurrent": -2}):
        response = session.post(admin, json=body)
        assert response.status_code == 400 and list(body)[0] in response.json()["error"]["message"]
    assert session.post(admin, json={"rate_limit": 0, "max_concurrent": 0}).status_code == 200
    assert generate(anyfast_simulator.base_url, anyfast_simulator.api_key).status_code == 200


def test_the_command_line_takes_the_rate_limit():
    command = [sys.executable, "-m", "anyfast_widget.simulator", "--port", "0", "--api-key", "sk-cli",
               "--rate-limit", "0.5", "--rate-burst", "1", "--max-concurrent", "4"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        url = process.stdout.readline().strip()
        assert [generate(url, "sk-cli").status_code for _ in range(2)] == [200, 429]
        assert session.get(url + "/_simulator/config").json()["max_concurrent"] == 4
    finally:
        process.terminate()
        process.wait(10)
        process.stdout.close()
        process.stderr.close()
