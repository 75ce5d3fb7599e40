"""multipart/form-data request bodies, split byte-exact.

The body is cut on ``CRLF--boundary`` (RFC 2046), so file bytes are never touched;
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
    # The first delimiter may open the body without a CRLF before it.
    pieces = (b"\r\n" + body).split(delimiter)
    fields: dict[str, str] = {}
    files: list[UploadedFile] = []
    parser = email.parser.BytesHeaderParser(policy=email.policy.HTTP)
    for piece in pieces[1:]:
        if piece.startswith(b"--"):
            return fields, files
        head, sep, content = piece.lstrip(b" \t").removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            if not head.strip():
                break  # the body ended right after a delimiter
            raise MultipartError("A multipart part has no blank line after its headers.")
        headers = parser.parsebytes(head + b"\r\n\r\n")
        name = headers.get_param("name", header="content-disposition")
        if isinstance(name, tuple):  # an RFC 2231 encoded name
            name = email.utils.collapse_rfc2231_value(name)
        if not isinstance(name, str):
            raise MultipartError("A multipart part has no name in its Content-Disposition header.")
        filename = headers.get_filename()
        if filename is not None:
            content_type_of_part = headers.get_content_type() if "content-type" in headers else None
            files.append(UploadedFile(name, filename, content_type_of_part, content))
        else:
            fields[name] = content.decode("utf-8", "replace")
    raise MultipartError("The multipart/form-data body ends before its closing boundary (a truncated upload?).")
