"""Grid specs: a grid's definition as a TOML file a person can read and edit, written and read back.

``grid.save_spec("fox.toml")`` writes what ``compare()`` was given: the prompt and
request parameters at the top, ``repeats``, ``concurrency``, ``budget``, shared
``sources`` and ``mask`` as paths, ``[prices]`` and ``[token_prices]`` tables, and one table per axis
(``[rows]``, ``[cols]``, ``[pages]``) in one of three forms::

    [rows]                      [cols]                      [pages]
    field = "quality"           replace = "fox"             name = "style"
    values = ["low", "high"]    values = ["fox", "wolf"]    labels = ["plain", "big"]
                                                            steps = [{quality = "low"}, {size = "1536x1024"}]

(``field = "sources"`` takes a list of path lists, ``field = "mask"`` a list of paths,
``""`` for no mask.) Paths are relative to the spec file. Images held in memory
(PIL, numpy, bytes, masks) are written as PNG files into ``<stem>.files/`` beside
it, as the exact bytes the requests send, so the spec alone rebuilds the same
requests (the same request hashes, so the same grid id and the same stored results).

:func:`load_spec` reads a spec back into ``compare()``'s arguments; an unknown key,
a value of the wrong type or a missing file is a ValidationError naming the key and
its line, never a traceback.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..core import REQUEST_PARAMS, EncodedImage, Mask, TokenPrices, ValidationError, Violation, encode_source
from ..store import atomic_write
from ._axes import FIELDS, Axis, axis, replace

if TYPE_CHECKING:
    from ._grid import Grid

HEADER = """\
# A comparison grid of anyfast-widget. `python -m anyfast_widget run {name}` sends it (resumable: what is in the
# run store is not sent again); anyfast_widget.open_grid(run_dir, "{name}") shows it. Paths are relative to this file.
"""
SCALARS = {"prompt": str, "repeats": int, "concurrency": int, "budget": float, "mask": str}
TABLES = ("rows", "cols", "pages")
TOKEN_PRICES = ("text_input", "image_input", "output")  # TokenPrices' fields, per million tokens
TOP_KEYS = (*SCALARS, "sources", "prices", "token_prices", *TABLES, *REQUEST_PARAMS)
AXIS_FORMS = {  # an axis table's form (the key that names it) and the keys it takes
    "field": ("field", "values", "labels"),
    "replace": ("replace", "values", "labels"),
    "steps": ("name", "labels", "steps"),
}


@dataclass(frozen=True)
class Spec:
    """A grid spec read from ``path``: ``arguments`` are ``compare()``'s keyword arguments, its paths absolute."""

    path: Path
    arguments: dict[str, Any]


def spec_files_dir(path: Path) -> Path:
    """Where a spec's own images go: ``<stem>.files/`` beside it."""
    return path.with_name(f"{path.stem}.files")


def save_spec(grid: Grid, path: str | os.PathLike[str], *, copy_files: bool = False) -> Path:
    """Write ``grid``'s definition to ``path`` as TOML (and its in-memory images beside it); returns the path.

    ``copy_files`` copies images given as paths into ``<stem>.files/`` too (a spec that
    travels alone). Raises ValidationError naming ``prices`` for a price function (a
    function cannot be written), and naming the value for one TOML cannot hold (None).
    """
    import tomli_w  # only when a spec is written

    definition = grid.definition
    if definition is None:
        raise _invalid(
            "grid",
            "definition",
            "this grid was not made by compare(), so it has no definition to save.",
            "make it with compare(...), or open_grid(...).",
        )
    prices = definition.get("prices")
    if callable(prices):
        raise _invalid(
            "prices",
            "callable",
            "a price function cannot be written to a spec file.",
            "pass prices as a table, e.g. {'low': 0.01, 'medium': 0.04, 'high': 0.17, 'edits': 0.05}.",
        )
    target = Path(path).expanduser().resolve()
    files = _Files(target, copy_files)
    doc: dict[str, Any] = {}
    if definition.get("prompt") is not None:
        doc["prompt"] = definition["prompt"]
    doc.update({k: v for k, v in definition["params"].items() if v is not None})
    doc["repeats"], doc["concurrency"] = definition["repeats"], definition["concurrency"]
    if definition.get("budget") is not None:
        doc["budget"] = float(definition["budget"])
    if definition["sources"]:
        doc["sources"] = [files.source(image, f"sources[{i}]") for i, image in enumerate(definition["sources"])]
    if definition.get("mask") is not None:
        doc["mask"] = files.mask(definition["mask"], "mask")
    if prices is not None:
        doc["prices"] = {str(k): float(v) for k, v in prices.items()}
    token_prices = definition.get("token_prices")
    if token_prices is not None:
        doc["token_prices"] = {name: float(getattr(token_prices, name)) for name in TOKEN_PRICES}
    for role in TABLES:
        if definition.get(role) is not None:
            doc[role] = _axis_table(definition[role], role, files)
    atomic_write(target, (HEADER.format(name=target.name) + tomli_w.dumps(doc)).encode())
    return target


class _Files:
    """The paths a spec writes for its images: files given by path as they are (relative), the rest as PNG files."""

    def __init__(self, spec: Path, copy_files: bool) -> None:
        self.spec, self.copy_files = spec, copy_files
        self.folder = spec_files_dir(spec)

    def source(self, value: Any, where: str) -> str:
        if isinstance(value, (str, os.PathLike)) and not self.copy_files:
            return self._relative(Path(value).expanduser().resolve())
        if isinstance(value, (str, os.PathLike)):
            original = Path(value).expanduser().resolve()
            return self._put("source", original.read_bytes(), original.suffix.lower() or ".png")
        if isinstance(value, EncodedImage):
            encoded = value
        else:
            if _is_file(value):  # a file object compare() has read already: read it from the start
                value.seek(0)
            encoded = encode_source(value, where)  # the very bytes compare() sent
        return self._put("source", encoded.data, ".jpg" if encoded.format == "jpeg" else ".png")

    def mask(self, value: Any, where: str) -> str:
        if isinstance(value, (str, os.PathLike)):
            return self.source(value, where)
        if _is_file(value):
            value.seek(0)
        return self._put("mask", Mask.coerce(value).to_png(), ".png")  # the very PNG the requests send

    def _put(self, kind: str, data: bytes, suffix: str) -> str:
        path = self.folder / f"{kind}-{hashlib.sha256(data).hexdigest()[:16]}{suffix}"
        if not path.exists():
            atomic_write(path, data)
        return self._relative(path)

    def _relative(self, path: Path) -> str:
        try:
            return Path(os.path.relpath(path, self.spec.parent)).as_posix()
        except ValueError:  # another drive (Windows): only an absolute path reaches it
            return path.as_posix()


def _axis_table(ax: Axis, role: str, files: _Files) -> dict[str, Any]:
    """The shortest of the three forms that gives back this axis exactly (labels only where not the default)."""
    keys = {k for step in ax.steps for k in step}
    table: dict[str, Any]
    if len(keys) == 1 and all(len(step) == 1 for step in ax.steps):
        (key,) = keys
        values = [step[key] for step in ax.steps]
        if key == "replace" and len({word for word, _ in values}) == 1:
            word = values[0][0]
            table, default = {"replace": word, "values": [v for _, v in values]}, replace(word, [v for _, v in values])
        elif key in FIELDS and ax.name == key:
            default = axis(key, values)
            table = {"field": key, "values": [_step_value(key, v, f"{role}.values[{i}]", files) for i, v in enumerate(values)]}
        else:
            default = None
        if default is not None:
            if default.labels != ax.labels:
                table["labels"] = list(ax.labels)
            return table
    steps = [{k: _step_value(k, v, f"{role}.steps[{i}].{k}", files) for k, v in step.items()} for i, step in enumerate(ax.steps)]
    return {"name": ax.name, "labels": list(ax.labels), "steps": steps}


def _step_value(key: str, value: Any, where: str, files: _Files) -> Any:
    if key == "sources":
        return [files.source(image, f"{where}[{i}]") for i, image in enumerate(value)]
    if key == "mask":
        return "" if value is None else files.mask(value, where)
    if key == "replace":
        return list(value)
    if value is None:
        raise _invalid(
            where,
            "none",
            f"{where} is None, which a TOML file cannot hold.",
            "leave the value out of the axis (None means the API's default).",
        )
    return value


def load_spec(path: str | os.PathLike[str]) -> Spec:
    """Read a spec file into ``compare()``'s arguments (paths resolved against the spec's folder).

    Raises ValidationError naming each unknown key, value of the wrong type, missing
    file or TOML syntax error, with its line; the requests themselves are checked by
    ``compare()`` when the grid is made.
    """
    spec = Path(path).expanduser().resolve()
    try:
        text = spec.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _invalid("spec", "missing_file", f"no spec file at {spec}.", "check the path.") from None
    except (OSError, UnicodeDecodeError) as error:
        raise _invalid("spec", "unreadable", f"cannot read {spec}: {error}.", "pass a UTF-8 TOML file.") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise _invalid("spec", "toml", f"{spec.name} is not valid TOML: {error}.", "fix the syntax at that line.") from None
    reader = _Reader(spec, text)
    arguments = reader.arguments(data)
    if reader.problems:
        raise ValidationError(reader.problems)
    return Spec(spec, arguments)


class _Reader:
    """Checks a parsed spec key by key, collecting every problem (with its line) instead of stopping at the first."""

    def __init__(self, spec: Path, text: str) -> None:
        self.spec, self.lines = spec, text.splitlines()
        self.problems: list[Violation] = []

    def arguments(self, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in data.items():
            if key not in TOP_KEYS:
                self.problem(key, "unknown_key", f"unknown key {key!r}.", _suggest(key, TOP_KEYS))
            elif key in SCALARS:
                if self.typed(key, value, SCALARS[key]):
                    out[key] = self.path(key, value, optional=True) if key == "mask" else value
            elif key == "sources":
                if self.typed(key, value, list) and all(self.typed(f"sources[{i}]", v, str) for i, v in enumerate(value)):
                    out[key] = [self.path(f"sources[{i}]", v) for i, v in enumerate(value)]
            elif key == "prices":
                if self.typed(key, value, dict) and all(self.typed(f"prices.{k}", v, float) for k, v in value.items()):
                    out[key] = {k: float(v) for k, v in value.items()}
            elif key == "token_prices":
                if self.typed(key, value, dict):
                    out[key] = self.token_prices(value)
            elif key in TABLES:
                if self.typed(key, value, dict):
                    out[key] = self.axis(key, value)
            else:
                out[key] = value  # a request parameter: compare() checks it against the API's rules
        return out

    def axis(self, role: str, table: Mapping[str, Any]) -> Axis | None:
        forms = [form for form in AXIS_FORMS if form in table]
        if len(forms) != 1:
            self.problem(
                role,
                "axis_form",
                f"[{role}] needs exactly one of 'field', 'replace' or 'steps'.",
                'e.g. field = "quality" with values = ["low", "high"].',
            )
            return None
        allowed = AXIS_FORMS[forms[0]]
        for key in table:
            if key not in allowed:
                self.problem(f"{role}.{key}", "unknown_key", f"unknown key {key!r} in [{role}].", f"use {', '.join(allowed)}.")
        needed = [key for key in allowed if key != "labels" or forms[0] == "steps"]
        missing = [key for key in needed if key not in table]
        for key in missing:
            self.problem(f"{role}.{key}", "missing_key", f"[{role}] has no {key!r}.", f"add {key} = ... to [{role}].")
        if missing or not all(self.typed(f"{role}.{k}", table[k], list) for k in ("values", "labels", "steps") if k in table):
            return None
        labels = table.get("labels")
        try:
            if forms[0] == "field":
                if not self.typed(f"{role}.field", table["field"], str):
                    return None
                if table["field"] not in FIELDS:
                    self.problem(
                        f"{role}.field",
                        "unknown_field",
                        f"{table['field']!r} is not a request field a grid can vary.",
                        f"use one of {', '.join(FIELDS)}.",
                    )
                    return None
                values = [self.value(table["field"], v, f"{role}.values[{i}]") for i, v in enumerate(table["values"])]
                return axis(table["field"], values, labels=labels)
            if forms[0] == "replace":
                words = [table["replace"], *table["values"]]
                if not all(
                    self.typed(f"{role}.replace" if i == 0 else f"{role}.values[{i - 1}]", w, str) for i, w in enumerate(words)
                ):
                    return None
                return replace(table["replace"], table["values"], labels=labels)
            steps = []
            for i, step in enumerate(table["steps"]):
                if self.typed(f"{role}.steps[{i}]", step, dict):
                    steps.append({k: self.value(k, v, f"{role}.steps[{i}].{k}") for k, v in step.items()})
            return Axis(str(table["name"]), tuple(str(label) for label in labels), tuple(steps))
        except ValidationError as error:  # the axis's own rules (labels per value, unknown field, ...)
            for v in error.violations:
                self.problem(role, v.rule, v.message, v.fix)
            return None

    def token_prices(self, table: Mapping[str, Any]) -> TokenPrices | None:
        names = ", ".join(TOKEN_PRICES)
        for key in table:
            if key not in TOKEN_PRICES:
                self.problem(f"token_prices.{key}", "unknown_key", f"unknown key {key!r} in [token_prices].", f"use {names}.")
        missing = [key for key in TOKEN_PRICES if key not in table]
        if missing:
            self.problem("token_prices", "missing_key", f"[token_prices] has no {', '.join(missing)}.", f"give {names}.")
        if missing or not all(self.typed(f"token_prices.{k}", v, float) for k, v in table.items() if k in TOKEN_PRICES):
            return None
        return TokenPrices(**{key: float(table[key]) for key in TOKEN_PRICES})

    def value(self, key: str, value: Any, where: str) -> Any:
        """One axis step's value for ``key``: paths resolved for sources and masks, a word swap as a pair."""
        if key == "sources":
            items = value if isinstance(value, list) else [value]
            if all(self.typed(f"{where}[{i}]", v, str) for i, v in enumerate(items)):
                return [self.path(f"{where}[{i}]", v) for i, v in enumerate(items)]
        elif key == "mask":
            if self.typed(where, value, str):
                return self.path(where, value, optional=True)
        elif key == "replace":
            if isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value):
                return tuple(value)
            self.problem(where, "type", f"{where} must be a [word, replacement] pair.", 'e.g. replace = ["fox", "wolf"].')
        elif key not in FIELDS:
            self.problem(where, "unknown_key", f"unknown field {key!r}.", f"use one of {', '.join(FIELDS)}, or replace.")
        return value

    def typed(self, key: str, value: Any, kind: type) -> bool:
        ok = isinstance(value, kind) and not isinstance(value, bool)
        if kind is float:
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not ok:
            names = {str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "a table"}
            self.problem(key, "type", f"{key} must be {names[kind]}, not {_toml_type(value)}.", f"write {key} as {names[kind]}.")
        return ok

    def path(self, key: str, value: str, *, optional: bool = False) -> str | None:
        """A path of the spec, resolved against its folder; a problem if there is no file there."""
        if optional and value == "":
            return None  # "" is "no mask"
        path = (self.spec.parent / Path(value).expanduser()).resolve()
        if not path.is_file():
            self.problem(key, "missing_file", f"no file at {path}.", "fix the path (relative to the spec file).")
        return str(path)

    def problem(self, key: str, rule: str, message: str, fix: str) -> None:
        line = _line_of(self.lines, key)
        where = f"{self.spec.name}, line {line}" if line else self.spec.name
        self.problems.append(Violation(key, rule, f"{message} ({where})", fix))


def _line_of(lines: Sequence[str], key: str) -> int | None:
    """The line (1-based) where ``key`` is set (``"rows.values[2]"``: ``values`` in ``[rows]``), if it can be found."""
    parts = [re.sub(r"(\[\d+\])+$", "", part) for part in key.split(".")]
    table = re.compile(rf"^\s*\[\s*{re.escape(parts[0])}\s*\]")
    found = [i for i, line in enumerate(lines) if table.match(line)]
    start = 0
    if len(parts) == 1 and found:
        return found[0] + 1  # a table: the line of its header
    if len(parts) > 1:
        if not found:
            return _line_of(lines, parts[0])  # an inline table, say: the line of its key
        start = found[0] + 1
    name = re.compile(rf"""^\s*["']?{re.escape(parts[-1])}["']?\s*=""")
    for i in range(start, len(lines)):
        if re.match(r"^\s*\[", lines[i]) and not lines[i].lstrip().startswith(f"[[{parts[0]}."):
            break  # the next table: the key is not set in this one
        if name.match(lines[i]):
            return i + 1
    return start if len(parts) > 1 else None  # a key missing from its table: the table's header


def _suggest(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    return (f"did you mean {close[0]!r}? " if close else "") + f"The keys a spec takes: {', '.join(allowed)}."


def _toml_type(value: Any) -> str:
    names = {bool: "a boolean", str: "a string", int: "a whole number", float: "a number", list: "a list", dict: "a table"}
    name = names.get(type(value), type(value).__name__)
    return name if isinstance(value, (list, dict)) else f"{name} ({value!r})"


def _invalid(field: str, rule: str, message: str, fix: str) -> ValidationError:
    return ValidationError([Violation(field, rule, message, fix)])


def _is_file(value: Any) -> bool:
    """A readable file object; not a PIL image, whose ``seek`` picks a frame of the user's picture."""
    return hasattr(value, "read") and hasattr(value, "seek")
