"""multipart/form-data request bodies, split byte-exact.

The body is cut on ``CRLF--boundary`` (RFC 2046), so file bytes are never touched (each copied once, to its part);
each part's header block goes through the standard library's ``email`` parser,
which handles quoting and RFC 2231 file names.
"""

from __future__ import annotations

import email.message
import email.parser
import email.policy
import email.utils

from ._records import UploadedFile


class MultipartError(ValueError):
    """The body is not well-formed multipart/form-data (the server answers 400)."""


def boundary_of(content_type: str) -> str | None:
    message = email.message.Message()
    message["content-type"] = content_type
    boundary = message.get_param("boundary")
    return boundary if isinstance(boundary, str) and boundary else None


def parse_multipart(body: bytes, content_type: str) -> tuple[dict[str, str], list[UploadedFile]]:
    """Text fields (a later duplicate wins) and file parts (those with a filename), in order.

    Raises MultipartError for a missing boundary, a part without a name, or a body
    that ends before its closing boundary (a truncated upload).
    """
    boundary = boundary_of(content_type)
    if boundary is None:
        raise MultipartError("The multipart/form-data body has no boundary parameter in its Content-Type.")
    delimiter = b"\r\n--" + boundary.encode("latin-1")
    # Cut by offsets, so that the only copy of a part's bytes is its own (an upload can be 850 MB).
    # The first delimiter may open the body without a CRLF before it.
    if body.startswith(delimiter[2:]):
        start = len(delimiter) - 2
    elif (found := body.find(delimiter)) >= 0:
        start = found + len(delimiter)
    else:
        start = -1
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    parser = email.parser.BytesHeaderParser(policy=email.policy.HTTP)
    while start >= 0:
        end = body.find(delimiter, start)
        stop = end if end >= 0 else len(body)
        if body.startswith(b"--", start, stop):
            return fields, files
        while start < stop and body[start] in b" \t":
            start += 1
        if body.startswith(b"\r\n", start, stop):
            start += 2
        blank = body.find(b"\r\n\r\n", start, stop)
        if blank < 0:
            if not body[start:stop].strip():
                break  # the body ended right after a delimiter
            raise MultipartError("A multipart part has no blank line after its headers.")
        headers = parser.parsebytes(body[start:blank] + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, tuple):  # an RFC 2231 encoded name
            name = email.utils.collapse_rfc2231_value(name)
        if not isinstance(name, str):
            raise MultipartError("A multipart part has no name in its Content-Disposition header.")
        filename = headers.get_filename()
        if filename is not None:
            content_type_of_part = headers.get_content_type() if "content-type" in headers else None
            files.append(UploadedFile(name, filename, content_type_of_part, body[blank + 4 : stop]))
        else:
            fields[name] = body[blank + 4 : stop].decode("utf-8", "replace")
        start = end + len(delimiter) if end >= 0 else -1
    raise MultipartError("The multipart/form-data body ends before its closing boundary (a truncated upload?).")
