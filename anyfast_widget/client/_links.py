"""Which links the client follows: the API's redirects never, a result's download link and its redirects when safe.

httpx reads a redirect's whole body before following it, and parses its Location
even when not following (raising InvalidURL, outside its error tree): a hostile
server could answer a redirect with an endless body, or an unparseable link. So a
response hook stops at every redirect (:class:`Redirect`), before either happens,
and downloads follow redirects by hand, each target checked.
"""

from __future__ import annotations

import httpx

from ..core import AnyfastError, APIStatusError, DownloadError, MalformedResponseError, PreparedRequest

MAX_DOWNLOAD_REDIRECTS = 5


class Redirect(Exception):
    """Raised by a response hook at each redirect, before httpx reads its body or parses its Location."""

    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.status, self.url, self.location = response.status_code, response.url, response.headers["location"]


def stop_at_redirects(response: httpx.Response) -> None:
    if response.has_redirect_location:
        raise Redirect(response)


async def astop_at_redirects(response: httpx.Response) -> None:
    stop_at_redirects(response)


def link_problem(url: str) -> str | None:
    """Why ``url`` is no link to download a result from (None when it is an http(s) link with a host)."""
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, ValueError):
        return "is not a valid URL"
    if parsed.scheme not in ("http", "https"):
        return f"is a {parsed.scheme + ': ' if parsed.scheme else 'relative '}link, not http(s)"
    if not parsed.host:
        return "names no host"
    return None


def check_download_url(url: str, request_id: str | None) -> None:
    """MalformedResponseError for a result link that is not to be fetched at all."""
    problem = link_problem(url)
    if problem:
        raise MalformedResponseError(f"The result's url {problem}; it was not fetched.", status=200, request_id=request_id)


def redirect_target(redirect: Redirect, hops: int) -> str:
    """Where a download redirect points, checked: an http(s) link, and not too many hops."""
    if hops >= MAX_DOWNLOAD_REDIRECTS:
        raise DownloadError(
            f"The result's download link redirected more than {MAX_DOWNLOAD_REDIRECTS} times (a loop?); it was given up.",
            status=redirect.status,
        )
    try:
        target = str(redirect.url.join(redirect.location))
    except (httpx.InvalidURL, ValueError):
        target = redirect.location
    if problem := link_problem(target):
        message = f"The download host redirected to a link that {problem}; it was not followed."
        raise DownloadError(message, status=redirect.status)
    return target


def api_redirect_error(prepared: PreparedRequest, redirect: Redirect) -> AnyfastError:
    """The error for a redirect from the API itself, which is never followed."""
    return APIStatusError(
        f"{redirect.status} from {prepared.path}: a redirect, which is not followed (it would take the API key elsewhere).",
        status=redirect.status,
        hint="Point base_url (ANYFAST_BASE_URL) at the address the API answers on.",
    )
