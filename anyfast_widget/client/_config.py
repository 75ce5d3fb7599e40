"""Configuration: the API key, the API's address and the run directory, from arguments, the environment or defaults.

This is the one module that reads the environment. The client, the studio, grids
and the demo all resolve their settings here, so a name, a default or the rule for
base URLs is written once.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..core import ConfigurationError
from ..store import RunStore

ENV_API_KEY = "ANYFAST_API_KEY"
ENV_BASE_URL = "ANYFAST_BASE_URL"
ENV_RUN_DIR = "ANYFAST_RUN_DIR"

DEFAULT_BASE_URL = "https://www.anyfast.ai"
DEFAULT_RUN_DIR = "./anyfast-runs"
# A high-quality 4K image can take minutes; connecting should not.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=600.0, write=120.0, pool=600.0)
DEFAULT_MAX_RESPONSE_BYTES = 128 * 1024 * 1024  # a 3840x2160 PNG in base64 is well under this
DEFAULT_MAX_DOWNLOAD_BYTES = 96 * 1024 * 1024

NO_KEY_HINT = f"Set the {ENV_API_KEY} environment variable, or pass api_key=... to the client."

RunDir = str | os.PathLike[str] | RunStore


class Secret:
    """Holds the API key so that no repr, str, log line or pickle can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("the API key is not picklable")


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (the only hosts a key may reach over plain http)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(url: str) -> str:
    """The base URL the paths are appended to; ConfigurationError unless it is https, or http to this machine.

    A trailing ``/v1`` (as OpenAI-style base URLs have) is dropped: the paths carry it.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(
            f"The base URL {url!r} is not an http(s) URL.", hint=f"Use e.g. {DEFAULT_BASE_URL} ({ENV_BASE_URL})."
        )
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise ConfigurationError(
            f"Refusing to send the API key over plain http to {parts.hostname}.",
            hint="Use https, or http only to a server on this machine (127.0.0.1, localhost).",
        )
    path = parts.path.rstrip("/")
    if path.endswith("/v1"):
        path = path[: -len("/v1")]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _key(value: str | Secret | None) -> Secret | None:
    if isinstance(value, Secret):
        value = value.reveal()
    return Secret(value.strip()) if value and value.strip() else None


@dataclass(frozen=True)
class Settings:
    """Where requests go and where results are kept, resolved once: argument, else environment, else default."""

    api_key: Secret | None
    base_url: str
    run_dir: RunDir

    @classmethod
    def resolve(
        cls,
        api_key: str | Secret | None = None,
        base_url: str | None = None,
        run_dir: RunDir | None = None,
        *,
        key_required: bool = False,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Settings from the arguments given, the environment (``ANYFAST_*``) for the rest, then the defaults.

        Raises ConfigurationError for a base URL the key may not be sent to, and with
        ``key_required`` for a missing key (checked first). A studio opens without a
        key; a client does not.
        """
        env = os.environ if environ is None else environ
        key = _key(api_key if api_key is not None else env.get(ENV_API_KEY))
        if key is None and key_required:
            raise ConfigurationError("No API key.", hint=NO_KEY_HINT)
        return cls(
            api_key=key,
            base_url=check_base_url(base_url or env.get(ENV_BASE_URL) or DEFAULT_BASE_URL),
            run_dir=run_dir if run_dir is not None else env.get(ENV_RUN_DIR) or DEFAULT_RUN_DIR,
        )

    def require_key(self) -> Secret:
        """The key, or ConfigurationError saying how to set one."""
        if self.api_key is None:
            raise ConfigurationError("No API key.", hint=NO_KEY_HINT)
        return self.api_key

    def open_store(self) -> RunStore:
        """The run store at ``run_dir`` (the store itself when one was given); a directory that does not exist is
        not made here but at the first save, so building a client or a studio leaves no folder behind."""
        return self.run_dir if isinstance(self.run_dir, RunStore) else RunStore(self.run_dir)

    def environment(self) -> dict[str, str]:
        """The environment for another process (a kernel, a script): this one's, with these settings' base URL and key."""
        env = {**os.environ, ENV_BASE_URL: self.base_url}
        if self.api_key is not None:
            env[ENV_API_KEY] = self.api_key.reveal()
        return env
