"""The API's handler: ``POST /v1/images/generations`` and ``/v1/images/edits``, from the key check to the answer's last byte.

A request is authorized, its body parsed, then a fault (queued, or drawn by
``failure_rate``) may answer instead; otherwise it is validated with the client's
own rules module (only the API's own rules, ``strict=False``, read as a request on
the wire, ``wire=True``: ``model`` required, sizes exactly ``WxH``, a JSON ``null``
a value of the wrong type, ``80.0`` an integer), moderated, painted and answered in OpenAI-style JSON
once the simulator's latency has passed, the answer faults bending that answer.
Paths under ``/_simulator/`` go to the admin endpoints.
"""

from __future__ import annotations

import base64
import io
import json
import secrets
import threading
import time
import traceback
from typing import Any
from urllib.parse import urlsplit

import numpy as np
from PIL import Image

from ..core import (
    DEFAULT_SIZE,
    EDITS_PATH,
    GENERATIONS_PATH,
    UploadInfo,
    bearer_key,
    check_params,
    parse_size,
    request_usage,
    wire_fields,
)
from ._admin import ADMIN_PREFIX, admin_get, admin_post
from ._errors import BodyUnread, Rejection, error_body
from ._fast import fast_generation_bytes
from ._faults import ANSWER_FAULTS, Fault
from ._http import BaseHandler, status_phrase
from ._parsing import check_files, decode_upload, parse_body
from ._rate_limit import Admission, Refusal
from ._records import UploadedFile
from ._render import encode, generation_bytes, render_edit

# Pictures made at once. Two keep both cores busy; more only starve the threads that
# read requests of the GIL, so 16 requests sent together would "arrive" up to 0.2 s
# apart and their latency would start late: the stand-in's own CPU, not the API's.
_PAINTERS = threading.BoundedSemaphore(2)


class ApiHandler(BaseHandler):
    """``POST /v1/images/generations`` and ``/v1/images/edits``, and the admin endpoints under ``/_simulator/``."""

    host_role = "api"

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(ADMIN_PREFIX):
            self._begin_record("admin")
            return self._send(*admin_get(self.sim, path))
        self._begin_record()
        self._send(404, error_body(f"Invalid URL (GET {path})", "invalid_request_error"))

    def do_POST(self) -> None:
        self.admission: Admission | None = None
        try:
            self._post()
        finally:  # answered, refused or dropped: the key's place among its max_concurrent is free again
            self.sim._rate_limiter.release(self.admission)

    def _post(self) -> None:
        path = urlsplit(self.path).path
        record = self._begin_record("admin" if path.startswith(ADMIN_PREFIX) else "api")
        try:
            try:
                body = self._read_body()
            except BodyUnread:
                self.close_connection = True
                raise
            if record.host == "admin":
                return self._send(*admin_post(self.sim, path, body))
            if path not in (GENERATIONS_PATH, EDITS_PATH):
                raise Rejection(f"Invalid URL (POST {path})", status=404)
            refusal = self._admit(self._authorize())  # a gateway's rate limit answers before the model is reached
            if refusal is not None:
                return self._send(429, refusal.body, headers=refusal.headers)
            endpoint = "generations" if path == GENERATIONS_PATH else "edits"
            # Parsed before any fault, so that the record shows what a failed attempt carried;
            # a body that does not parse is only reported if no fault comes first, as at a gateway.
            try:
                record.fields, record.files = parse_body(endpoint, body, self.headers.get("Content-Type", ""))
                unparsable = None
            except Rejection as rejection:
                unparsable = rejection
            fault = record.fault = self.sim._faults.next_api(self.sim.failure_rate, self.sim.failure_kinds)
            if fault and fault.kind not in ANSWER_FAULTS:
                return self._fail(fault)
            if unparsable is not None:
                raise unparsable
            payload = self._answer(endpoint, record.fields, record.files, fault)
        except Rejection as rejection:
            return self._send(rejection.status, rejection.body)
        except ConnectionAbortedError:
            return self._drop()  # the client went away mid-upload: nobody to answer
        except OSError:
            self.close_connection = True  # the client hung up while we answered
            return
        except Exception as exc:  # noqa: BLE001 - a bug here must still get an answer, and be seen
            traceback.print_exc()
            return self._send(500, error_body(f"The simulator failed: {exc!r}", "server_error"))
        self._deliver(payload, fault)

    def _authorize(self) -> str:
        """The key the request carries, if the simulator accepts it; else a 401."""
        given = self.headers.get("Authorization")
        if not given:
            raise Rejection(
                "You didn't provide an API key. You need to provide your API key in an Authorization header "
                "using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).",
                code="invalid_api_key",
                status=401,
            )
        key = bearer_key(given)  # "Bearer", in any case, then one or more spaces (RFC 6750, RFC 7235)
        accepted = (self.sim.api_key, *self.sim.extra_keys)
        if key is None or not any(secrets.compare_digest(key.encode(), k.encode()) for k in accepted):
            raise Rejection("Incorrect API key provided.", code="invalid_api_key", status=401)
        return key

    def _admit(self, key: str) -> Refusal | None:
        """Let the request in under ``key``'s rate limit (kept in ``self.admission``), or the 429 to refuse it with."""
        sim = self.sim
        left = max(0.0, sim.latency - (time.time() - self.arrived))  # when it is due, as latency counts from arrival
        admitted = sim._rate_limiter.admit(key, time.monotonic(), rate=sim.rate_limit, burst=sim.rate_burst,
                                           max_concurrent=sim.max_concurrent, latency=left)
        if isinstance(admitted, Refusal):
            return admitted
        self.admission = admitted
        return None

    def _fail(self, fault: Fault) -> None:
        kind = fault.kind
        if kind == "429":
            headers = {} if fault.retry_after is None else {"Retry-After": f"{fault.retry_after:g}"}
            body = error_body("Rate limit reached for requests. Please try again later.", "requests", None, "rate_limit_exceeded")
            return self._send(429, body, headers=headers)
        if kind in ("500", "502", "503", "504"):
            message = {
                "503": "The engine is currently overloaded, please try again later.",
                "504": "The upstream server timed out while processing your request.",
            }.get(kind, "The server had an error while processing your request. Sorry about that!")
            return self._send(int(kind), error_body(message, "server_error"))
        if kind == "html":
            title = f"{fault.status} {status_phrase(fault.status)}"
            page = (
                f"<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n<center><h1>{title}</h1></center>\r\n"
                "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            )
            return self._send(fault.status, page.encode(), "text/html")
        if kind == "drop":
            return self._drop()
        if kind == "stall":
            self.sim._wait(fault.seconds)
            return self._drop()
        if kind == "malformed_json":
            return self._send(200, b'{"created": ' + str(int(time.time())).encode() + b', "data": [{"b64_json": "iVBORw0KGgo')
        raise AssertionError(f"unhandled fault {kind}")

    def _deliver(self, payload: dict[str, Any], fault: Fault | None) -> None:
        item = payload["data"][0]
        if fault and "b64_json" in item:
            if fault.kind == "truncated_b64":
                item["b64_json"] = item["b64_json"][: len(item["b64_json"]) // 2 // 4 * 4]
            elif fault.kind == "invalid_b64":
                item["b64_json"] = "!!" + item["b64_json"][2:]
        body = _encode_payload(payload)
        # Latency counts from arrival, as a client sees it: all the work above happens while "the model" thinks.
        remaining = self.sim.latency - (time.time() - self.arrived)
        plain = not fault or fault.kind not in ("slow_body", "drop_mid_body")
        if remaining > 0 and plain:  # answered when due, by whichever worker is free then: none waits for it
            admission, self.admission = self.admission, None  # still in progress: its place is freed once answered

            def finish() -> None:
                try:
                    self._send(200, body)
                finally:
                    self.sim._rate_limiter.release(admission)

            return self.wire.answer_later(remaining, finish)
        if remaining > 0:
            self.sim._wait(remaining)
        if plain:
            return self._send(200, body)
        self._start(200, len(body), "application/json")
        if fault.kind == "drop_mid_body":
            self.wfile.write(body[: len(body) // 2])
            return self._drop()
        step = max(1, -(-len(body) // fault.chunks))
        for start in range(0, len(body), step):
            self.wfile.write(body[start : start + step])
            self.wfile.flush()
            if start + step < len(body):
                self.sim._wait(fault.delay)

    def _answer(self, endpoint: str, params: dict[str, Any], files: list[UploadedFile], fault: Fault | None) -> dict[str, Any]:
        violations = check_params(endpoint, params, strict=False, wire=True)
        params = wire_fields(endpoint, params)  # what passed, as the API reads it: output_compression 80.0 is 80
        sources: list[UploadedFile] = []
        mask: UploadedFile | None = None
        infos: list[UploadInfo] = []
        if endpoint == "edits":
            sources, mask, infos, file_violations = check_files(files)
            violations += file_violations
        if violations:
            first = violations[0]
            raise Rejection(" ".join(str(v) for v in violations), first.field, first.rule)
        self._moderate(endpoint, params)
        if mask is not None and self.sim.refuse_masks:
            raise Rejection(
                "Mask editing is not available for this account's group: select the Direct group for this key "
                "in the Anyfast console to send masks, or edit without a mask.",
                "mask",
                "mask_not_allowed",
            )
        if endpoint == "generations" and self.sim.fast:  # a cached picture, marked: nothing to paint (see _fast)
            data, output_format = self._paint(endpoint, params, sources, mask, infos, fault)
        else:
            with _PAINTERS:
                data, output_format = self._paint(endpoint, params, sources, mask, infos, fault)
        return self._payload(params, data, output_format, infos)

    def _paint(
        self,
        endpoint: str,
        params: dict[str, Any],
        sources: list[UploadedFile],
        mask: UploadedFile | None,
        infos: list[UploadInfo],
        fault: Fault | None,
    ) -> tuple[bytes, str]:
        """The answer's encoded picture, and its format."""
        width, height = parse_size(params.get("size", DEFAULT_SIZE))  # type: ignore[misc]
        output_format = params.get("output_format", "png")
        compression = params.get("output_compression")
        if endpoint == "generations" and self.sim.fast:
            data = fast_generation_bytes(params["prompt"], width, height, output_format, compression, self.request_id)
        elif endpoint == "generations":
            quality = params.get("quality", "medium")
            data = generation_bytes(
                params["prompt"], width, height, quality, output_format, compression,
                self.sim._next_variant((params["prompt"], quality, width, height)), self.sim.variation,
            )
        else:
            images = [decode_upload(f, info.field) for f, info in zip(sources, infos, strict=True)]
            editable = None
            if mask is not None:
                editable = np.asarray(decode_upload(mask, "mask").convert("RGBA").getchannel("A")) == 0
            picture = render_edit(params["prompt"], images, (width, height), editable, self.sim.leak)
            data = encode(picture, output_format, compression)
        if fault and fault.kind == "wrong_format":
            output_format = "png" if output_format == "jpeg" else "jpeg"
            data = encode(Image.open(io.BytesIO(data)), output_format)
        return data, output_format

    def _moderate(self, endpoint: str, params: dict[str, Any]) -> None:
        trigger = self.sim.moderation_trigger
        if not trigger or trigger.lower() not in str(params.get("prompt", "")).lower():
            return
        if endpoint == "generations" and params.get("moderation") == "low":
            return
        raise Rejection(
            "Your request was rejected as a result of our safety system. safety_violations=[violence].",
            None,
            "moderation_blocked",
            kind="image_generation_user_error",
        )

    def _payload(self, params: dict[str, Any], data: bytes, output_format: str, sources: list[UploadInfo]) -> dict[str, Any]:
        prompt = str(params["prompt"]).strip()
        item: dict[str, Any] = {}
        if params.get("response_format", "url") == "b64_json":
            item["b64_json"] = base64.b64encode(data).decode()
        else:
            item["url"] = self.sim._links.publish(data, output_format, self.sim.download_url, self.sim.url_ttl)
        item["revised_prompt"] = f"{prompt}, rendered in a clean, detailed style"
        # Counted as gpt-image-1 counts them: output by quality and area, each source image in tiles (core's request_usage).
        usage = request_usage(params, [(s.width, s.height) for s in sources])
        return {"created": int(time.time()), "data": [item], "usage": usage.as_json()}


def _encode_payload(payload: dict[str, Any]) -> bytes:
    """JSON for a success body; the base64 image (megabytes, nothing to escape) is spliced in, not scanned."""
    item = payload["data"][0]
    image = item.pop("b64_json", None)
    if not isinstance(image, str) or not image.isascii() or '"' in image or "\\" in image:
        if image is not None:
            item["b64_json"] = image
        return json.dumps(payload).encode()
    text = json.dumps(payload)
    marker = '"data": [{'
    at = text.index(marker) + len(marker)
    return (text[:at] + '"b64_json": "' + image + '", ' + text[at:]).encode()
