"""The async client's connections on asyncio's streams (client/_network.py), over real HTTP to the stand-in.

Every fault the stand-in plays goes through them too (tests/test_faults.py, async
flavour), as do the hostile server's caps, and TLS (tests/test_hostile_server.py).
"""

from __future__ import annotations

import asyncio
import io

import httpx
import numpy as np
from PIL import Image

from anyfast_widget import AsyncClient
from anyfast_widget.client._network import FLUSH_AT, use_asyncio_streams
from anyfast_widget.client._pools import PoolShards


def test_httpx_keeps_its_pool_where_the_backend_is_given():
    """If an httpx release moves it, the client still works (on anyio) but this says the speed is gone."""
    assert use_asyncio_streams(httpx.AsyncHTTPTransport())
    assert PoolShards(128).asyncio_streams


def test_an_upload_many_times_the_flush_size_arrives_byte_exact(anyfast_simulator, run_dir):
    noise = np.random.default_rng(7).integers(0, 256, (1024, 1024, 3), dtype=np.uint8)  # a PNG that does not shrink
    source = Image.fromarray(noise)

    async def main() -> None:
        options = dict(api_key=anyfast_simulator.api_key, base_url=anyfast_simulator.base_url, run_dir=run_dir)
        async with AsyncClient(**options) as client:
            await asyncio.gather(*(client.edit(f"a hat, take {i}", source, size="1024x1024") for i in range(3)))

    asyncio.run(main())
    uploads = [r.files[0].data for r in anyfast_simulator.api_requests if r.path.endswith("/edits")]
    assert len(uploads) == 3 and len(uploads[0]) > 40 * FLUSH_AT
    with Image.open(io.BytesIO(uploads[0])) as received:
        assert np.array_equal(np.asarray(received.convert("RGB")), noise)
