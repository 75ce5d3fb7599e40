"""The ``%anyfast`` and ``%%anyfast`` magics: generate, edit, open a studio and browse the run store from a notebook.

``%load_ext anyfast_widget`` (or IPython's ``extensions`` setting) calls
:func:`load_ipython_extension`, which registers :class:`AnyfastMagics`:

- ``%%anyfast generate [--size WxH] [--quality Q] [--format F] [--variants N]``: the
  cell's body is the prompt;
- ``%%anyfast edit SOURCE... [--mask PATH] [--size WxH] [--format F] [--variants N]``;
- ``%anyfast studio``: an ImageStudio (with ``%%anyfast studio`` the body is its prompt);
- ``%anyfast history [N]``: the run store's N latest results as a gallery.

Every command uses the configuration the client uses (``ANYFAST_API_KEY``,
``ANYFAST_BASE_URL``, ``ANYFAST_RUN_DIR``, read by the client layer). A request is
checked once, before anything is sent, by the same ``prepare_*`` functions the
client calls, and sent ``variants`` times at once; each result is in the run store
when it is shown. An :class:`AnyfastError` (a broken rule, no key, a failure past
the retries) is printed as the client words it, without a traceback; a variant
that fails does not stop the others. Arguments are parsed by IPython's
``magic_arguments``, so a malformed line is a ``UsageError``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.display import display

from ..client import Client, Settings
from ..core import (
    OUTPUT_FORMATS,
    QUALITIES,
    AnyfastError,
    PreparedRequest,
    ValidationError,
    Violation,
    prepare_edit,
    prepare_generation,
)
from ..store import RunStore
from ._history import History

MAX_VARIANTS = 8  # as many as the studio sends at once
DEFAULT_HISTORY = 12
_VARIANTS_HELP = f"how many requests to send at once (1 to {MAX_VARIANTS}; default 1)"


# IPython writes the usage as "%" + name: "%anyfast generate" reads "%%anyfast generate" (a cell magic).
@magic_arguments(name="%anyfast generate")
@argument("--size", metavar="WxH", help="WIDTHxHEIGHT, e.g. 1536x1024 (the API's default when left out)")
@argument("--quality", metavar="Q", help=", ".join(QUALITIES))
@argument("--format", dest="output_format", metavar="F", help=", ".join(OUTPUT_FORMATS))
@argument("--variants", type=int, default=1, metavar="N", help=_VARIANTS_HELP)
def _generate_arguments() -> None:
    """Generate images from the cell's body (the prompt); they show below and are saved in the run store."""


@magic_arguments(name="%anyfast edit")
@argument("sources", nargs="+", metavar="SOURCE", help="image files; the first is the one the mask belongs to")
@argument("--mask", metavar="PATH", help="an RGBA PNG the size of the first source: alpha 0 where the model may edit")
@argument("--size", metavar="WxH", help="WIDTHxHEIGHT, e.g. 1536x1024 (the API's default when left out)")
@argument("--format", dest="output_format", metavar="F", help=", ".join(OUTPUT_FORMATS))
@argument("--variants", type=int, default=1, metavar="N", help=_VARIANTS_HELP)
def _edit_arguments() -> None:
    """Edit SOURCE images as the cell's body (the prompt) says; the results show below and are saved in the run store."""


@magic_arguments(name="anyfast studio")
def _studio_arguments() -> None:
    """Open an ImageStudio with the session's settings (with %%anyfast studio, the cell's body is its prompt)."""


@magic_arguments(name="anyfast history")
@argument("n", nargs="?", type=int, default=DEFAULT_HISTORY, metavar="N", help=f"how many (default {DEFAULT_HISTORY})")
def _history_arguments() -> None:
    """Show the run store's N latest results, newest first, as a gallery of thumbnails."""


_COMMANDS: dict[str, Callable[[], None]] = {
    "generate": _generate_arguments,
    "edit": _edit_arguments,
    "studio": _studio_arguments,
    "history": _history_arguments,
}


def _usage(command: Callable[[], None]) -> str:
    """A command's help, without the "::" IPython puts first for its docstrings."""
    return command.parser.format_help().removeprefix("::\n\n")  # type: ignore[attr-defined]


def _help() -> str:
    return "Work with the Anyfast image API from a notebook.\n\n" + "\n".join(_usage(command) for command in _COMMANDS.values())


def _report(error: AnyfastError) -> None:
    """The error as the client words it, on stderr: a notebook shows it without a traceback."""
    print(f"{type(error).__name__}: {error}", file=sys.stderr)


def _variants(count: int) -> int:
    if not 1 <= count <= MAX_VARIANTS:
        fix = f"ask for 1 to {MAX_VARIANTS} (each is one request)."
        raise ValidationError([Violation("variants", "range", f"{count} variants were asked for.", fix)])
    return count


def _prompt(cell: str | None, command: str) -> str:
    if cell is None:
        raise UsageError(f"The prompt is the cell's body: start the cell with %%anyfast {command} and write the prompt below.")
    return cell.strip()


@magics_class
class AnyfastMagics(Magics):
    """The ``anyfast`` line and cell magic; ``%anyfast --help`` (or this module's docstring) lists its commands."""

    @line_cell_magic
    def anyfast(self, line: str, cell: str | None = None) -> Any:
        """Dispatch ``%anyfast COMMAND ...`` / ``%%anyfast COMMAND ...`` to generate, edit, studio or history."""
        command, _, rest = line.strip().partition(" ")
        if command in ("", "-h", "--help", "help"):
            print(_help())
            return None
        if command not in _COMMANDS:
            raise UsageError(f"Unknown command {command!r}: use one of {', '.join(_COMMANDS)} (%anyfast --help says more).")
        spec = _COMMANDS[command]
        if {"-h", "--help"} & set(rest.split()):
            print(_usage(spec))
            return None
        args = parse_argstring(spec, rest)
        try:
            if command == "generate":
                self._send(self._generation(args, _prompt(cell, command)), _variants(args.variants))
            elif command == "edit":
                self._send(self._edit(args, _prompt(cell, command)), _variants(args.variants))
            elif command == "studio":
                return self._studio(cell)
            else:
                return self._history(args.n)
        except AnyfastError as error:
            _report(error)
        return None

    @staticmethod
    def _generation(args: Any, prompt: str) -> PreparedRequest:
        return prepare_generation(prompt, size=args.size, quality=args.quality, output_format=args.output_format)

    @staticmethod
    def _edit(args: Any, prompt: str) -> PreparedRequest:
        return prepare_edit(prompt, args.sources, mask=args.mask, size=args.size, output_format=args.output_format)

    @staticmethod
    def _send(prepared: PreparedRequest, variants: int) -> None:
        """Send ``prepared`` ``variants`` times at once; show each result as it comes, then report the failures."""
        failures: list[AnyfastError] = []
        with Client() as client:
            if variants == 1:
                display(client.send(prepared))
                return
            with ThreadPoolExecutor(max_workers=variants, thread_name_prefix="anyfast-magic") as pool:
                for future in as_completed([pool.submit(client.send, prepared) for _ in range(variants)]):
                    try:
                        display(future.result())
                    except AnyfastError as error:
                        failures.append(error)
        for error in failures:
            _report(error)

    @staticmethod
    def _studio(cell: str | None) -> Any:
        from ..studio import ImageStudio  # the widget stack, loaded only when a studio is asked for

        return ImageStudio((cell or "").strip())

    @staticmethod
    def _history(count: int) -> History:
        if count < 1:
            raise UsageError("N is how many results to show: 1 or more.")
        run_dir = Settings.resolve().run_dir
        if isinstance(run_dir, RunStore):
            return History(run_dir.find(limit=count), run_dir.root)
        path = Path(run_dir).expanduser().resolve()
        if not path.is_dir():  # nothing saved yet: say so without creating the directory
            return History([], path)
        store = RunStore(path)
        try:
            return History(store.find(limit=count), store.root)
        finally:
            store.close()


def load_ipython_extension(ipython: Any) -> None:
    """Register the ``%anyfast`` / ``%%anyfast`` magics with ``ipython`` (what ``%load_ext anyfast_widget`` calls)."""
    ipython.register_magics(AnyfastMagics)
