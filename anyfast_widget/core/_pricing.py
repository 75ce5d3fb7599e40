"""What a request costs: from the answer's token ``usage`` with per-token prices, or from a price table.

One set of rules for the client (which records each result's cost when it saves
it), the grid (which plans and caps a run's spend) and the studio (its session
spend), so there is one way to price:

- ``TokenPrices`` (per million tokens) price an answer's ``usage`` block, OpenAI
  image style: ``input_tokens_details.text_tokens`` / ``image_tokens`` and
  ``output_tokens``. The cost's source is then ``"usage"``.
- A price table ``{"low": .., "medium": .., "high": .., "edits": ..}`` (per request,
  by quality, and one price for edits) or a function of the request's parameters
  prices the request itself. The cost's source is then ``"table"``.

Before sending, the *expected* cost is the table's price, or, with token prices
only, the token prices of :func:`estimated_usage` (the token counts gpt-image-1
publishes). A budget reserves that much for each request in flight.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._errors import ValidationError
from ._request import PreparedRequest
from ._rules import DEFAULT_SIZE, QUALITIES, Violation, parse_size

PriceTable = Mapping[str, float] | Callable[[Mapping[str, Any]], float]
"""Per-request prices: ``{"low", "medium", "high", "edits"}`` or a function of ``{"endpoint", **params}``."""

# gpt-image-1's published output tokens for a 1024x1024 image; other sizes scale by area.
OUTPUT_TOKENS_1024 = {"low": 272, "medium": 1056, "high": 4160}
_DEFAULT_QUALITY = "medium"  # the API's default; edits take no quality and are counted so too
_TILE, _TILE_TOKENS, _BASE_TOKENS = 512, 170, 85  # an input image is counted in 512 px tiles, as GPT-4o vision counts


@dataclass(frozen=True)
class Usage:
    """The tokens one request took: its prompt's text, its source images, and the image it made."""

    text_tokens: int
    image_tokens: int
    output_tokens: int

    @classmethod
    def from_response(cls, usage: Any) -> Usage | None:
        """Read an answer's ``usage`` block; None when there is none or it is not one (nothing is guessed)."""
        if not isinstance(usage, Mapping):
            return None
        details = usage.get("input_tokens_details")
        output = usage.get("output_tokens")
        if not isinstance(details, Mapping) or not _is_count(output):
            return None
        text, image = details.get("text_tokens", 0), details.get("image_tokens", 0)
        if not (_is_count(text) and _is_count(image)):
            return None
        return cls(int(text), int(image), int(output))

    def as_json(self) -> dict[str, Any]:
        """The ``usage`` block as an OpenAI-compatible server sends it."""
        inputs = self.text_tokens + self.image_tokens
        return {
            "input_tokens": inputs,
            "output_tokens": self.output_tokens,
            "total_tokens": inputs + self.output_tokens,
            "input_tokens_details": {"text_tokens": self.text_tokens, "image_tokens": self.image_tokens},
        }


@dataclass(frozen=True)
class TokenPrices:
    """Prices per million tokens, for costs read from an answer's ``usage``.

    ``TokenPrices(text_input=5.0, image_input=10.0, output=40.0)`` is gpt-image-1's
    list price in dollars; the currency is whatever the prices are in (and a budget too).
    """

    text_input: float
    image_input: float
    output: float

    def __post_init__(self) -> None:
        for name in ("text_input", "image_input", "output"):
            value = getattr(self, name)
            if not _is_amount(value):
                fix = "give each price per million tokens as a number, 0 or more."
                raise ValidationError([Violation("token_prices", "price", f"{name}={value!r} is not a price.", fix)])

    def cost(self, usage: Usage) -> float:
        """What ``usage`` costs at these prices."""
        return (
            usage.text_tokens * self.text_input + usage.image_tokens * self.image_input + usage.output_tokens * self.output
        ) / 1_000_000


def estimated_usage(prepared: PreparedRequest) -> Usage:
    """The tokens ``prepared`` should take, by gpt-image-1's published counts (see :func:`request_usage`)."""
    return request_usage(prepared.effective_params, [s.size for s in prepared.sources])


def request_usage(params: Mapping[str, Any], source_sizes: Sequence[tuple[int, int]] = ()) -> Usage:
    """The tokens a request with these fields (``prompt``, ``size``, ``quality``) and sources takes, gpt-image-1 style.

    Output: 272 / 1056 / 4160 tokens for a low / medium / high 1024x1024 image, scaled
    by area (no quality, as on edits, counts as medium). Text: a token per 4 characters
    of the prompt. Each source image: see :func:`source_tokens`. The stand-in server
    answers with these counts.
    """
    width, height = parse_size(params.get("size", DEFAULT_SIZE)) or (1024, 1024)
    quality = params.get("quality", _DEFAULT_QUALITY)
    output = round(OUTPUT_TOKENS_1024.get(quality, OUTPUT_TOKENS_1024[_DEFAULT_QUALITY]) * width * height / (1024 * 1024))
    text = max(1, math.ceil(len(str(params.get("prompt", "")).strip()) / 4))
    return Usage(text, source_tokens(source_sizes), output)


def source_tokens(sizes: Sequence[tuple[int, int]]) -> int:
    """The input tokens of source images of these (width, height) sizes.

    Each: 85 + 170 per 512 px tile once fitted in 2048 px and its short edge in 768 px
    (a 1024x1024 source is 765 tokens), as GPT-4o vision counts.
    """
    total = 0
    for width, height in sizes:
        scale = min(1.0, 2048 / max(width, height))
        width, height = width * scale, height * scale
        scale = min(1.0, 768 / min(width, height))
        tiles = math.ceil(width * scale / _TILE) * math.ceil(height * scale / _TILE)
        total += _BASE_TOKENS + _TILE_TOKENS * tiles
    return total


@dataclass(frozen=True)
class Pricing:
    """How requests are priced: a per-request ``table``, per-token ``tokens`` prices, or both (tokens win when usage came).

    Made with :meth:`of`, which checks what it is given.
    """

    table: PriceTable | None = None
    tokens: TokenPrices | None = None

    @classmethod
    def of(cls, prices: PriceTable | None = None, token_prices: TokenPrices | None = None) -> Pricing | None:
        """The pricing these options ask for, or None for none; ValidationError naming ``prices`` if the table is no table."""
        if token_prices is not None and not isinstance(token_prices, TokenPrices):
            fix = "pass TokenPrices(text_input=..., image_input=..., output=...), per million tokens."
            raise ValidationError([Violation("token_prices", "type", f"{token_prices!r} is not TokenPrices.", fix)])
        if prices is not None and not callable(prices):
            if not isinstance(prices, Mapping):
                fix = 'pass {"low": .., "medium": .., "high": .., "edits": ..} or a function of the request\'s parameters.'
                raise ValidationError([Violation("prices", "type", f"{type(prices).__name__} is not a price table.", fix)])
            known = (*QUALITIES, "edits")
            for key, value in prices.items():
                if key not in known:
                    fix = f"use the keys {', '.join(known)}."
                    raise ValidationError([Violation("prices", "unknown_key", f"the price table has {key!r}.", fix)])
                if not _is_amount(value):
                    fix = "give each price as a number, 0 or more."
                    raise ValidationError([Violation("prices", "price", f"{key}={value!r} is not a price.", fix)])
        if prices is None and token_prices is None:
            return None
        return cls(prices, token_prices)

    def expected(self, prepared: PreparedRequest) -> float:
        """What ``prepared`` should cost, before it is sent: the table's price, else its estimated tokens' price.

        Raises ValidationError naming ``prices`` when the table has no price for it.
        """
        if self.table is not None:
            return self.table_price(prepared)
        assert self.tokens is not None  # (of() makes no pricing without either)
        return self.tokens.cost(estimated_usage(prepared))

    def table_price(self, prepared: PreparedRequest) -> float:
        """The table's price for ``prepared``; ValidationError naming ``prices`` if it has none."""
        assert self.table is not None
        params = {"endpoint": prepared.endpoint, **prepared.effective_params}
        if callable(self.table):
            value = self.table(params)
            if not _is_amount(value):
                fix = "make the price function return a number, 0 or more."
                raise ValidationError([Violation("prices", "price", f"the price function returned {value!r}.", fix)])
            return float(value)
        key = "edits" if prepared.endpoint == "edits" else params.get("quality", "medium")
        if key not in self.table:
            fix = "give a price for every quality used, and 'edits' for edits."
            raise ValidationError([Violation("prices", "missing", f"the price table has no entry for {key!r}.", fix)])
        return float(self.table[key])

    def recorded(self, prepared: PreparedRequest, usage: Any) -> tuple[float | None, str | None]:
        """What a request that was answered cost, and where that figure comes from: ``"usage"``, ``"table"`` or None.

        The answer's ``usage`` with token prices first; otherwise the table; otherwise unknown (None, None).
        """
        read = Usage.from_response(usage)
        if self.tokens is not None and read is not None:
            return self.tokens.cost(read), "usage"
        if self.table is not None:
            return self.table_price(prepared), "table"
        return None, None


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _is_amount(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0
