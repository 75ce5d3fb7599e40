"""Headless runs: ``python -m anyfast_widget run SPEC`` sends a grid spec from a terminal, safe to stop and to run again.

The spec is read and every request checked before anything is sent (a bad spec
exits 2 with the problems, by key and line). The key and base URL are resolved as
the client does (``ANYFAST_API_KEY``, ``ANYFAST_BASE_URL``) and never printed. The
spec is saved into the run store as ``grids/<grid id>.toml`` (its files beside it),
so ``open_grid(run_dir, grid_id)`` finds it, and a heartbeat file there tells a
grid opened elsewhere that the run is going on. A tqdm bar shows the progress.

Ctrl-C stops sending: nothing new starts, requests under way get :data:`GRACE_S`
seconds to finish and be saved, then (or at a second Ctrl-C) are abandoned; a
saved result is always whole, so the run store stays whole. What is in the run
store is never sent again, so running the same command again sends only what is
missing. Exit codes: 0 every request done, 1 some not done (stopped, failed,
blocked), 2 an invalid spec or command line, or a grid that needs ``--yes``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence

from ..client import Settings
from ..core import AnyfastError
from ._compare import compare
from ._grid import CONFIRM_ABOVE, Grid
from ._heartbeat import Heartbeat, heartbeat_path
from ._model import SlotState
from ._spec import load_spec

GRACE_S = 10.0  # seconds requests under way get to finish after Ctrl-C
EXIT_DONE, EXIT_NOT_DONE, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """The command line (``python -m anyfast_widget ...``); returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m anyfast_widget", description="Run anyfast-widget grid specs headless.")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="send a grid spec's requests (only those not in the run store yet)")
    run.add_argument("spec", help="the grid spec (TOML), as written by grid.save_spec()")
    run.add_argument("--run-dir", help="the run store (default: ANYFAST_RUN_DIR, else ./anyfast-runs)")
    run.add_argument("--yes", action="store_true", help=f"send even when more than {CONFIRM_ABOVE} requests would go out")
    run.add_argument("--offline", action="store_true", help="send to the built-in stand-in server (nothing paid)")
    args = parser.parse_args(argv)  # (a usage error exits 2, as argparse does)
    try:
        return run_spec(args.spec, run_dir=args.run_dir, yes=args.yes, offline=args.offline)
    except KeyboardInterrupt:  # outside the run's own handling (reading the spec, say): whatever was saved is whole
        _say("Interrupted. Run the same command again to send what is missing.")
        return EXIT_NOT_DONE


def run_spec(spec: str, *, run_dir: str | None = None, yes: bool = False, offline: bool = False) -> int:
    """Run the grid spec at ``spec`` headless (see the module docstring); returns the exit code."""
    try:
        arguments = load_spec(spec).arguments
        grid = compare(**arguments, run_dir=run_dir, offline=offline, run=False, progress=True)
    except (AnyfastError, TypeError) as error:  # a spec's problems, no key, a run directory that cannot be made
        _say(f"{spec}: {error}")
        return EXIT_USAGE
    plan = grid.plan()
    if plan.to_send and not offline:
        try:  # a grid already done needs no key; one with requests to send does, before anything else happens
            Settings.resolve(None, None, run_dir, key_required=True)
        except AnyfastError as error:
            _say(f"{spec}: {error}")
            return EXIT_USAGE
    if plan.fit > CONFIRM_ABOVE and not yes:  # (fit: those within the budget, as compare()'s confirm counts them)
        _say(f"This grid would send {plan.fit} requests ({plan}); pass --yes to send them.")
        return EXIT_USAGE
    grids = grid.store.root / "grids"
    try:
        grid.save_spec(grids / f"{grid.id}.toml", copy_files=True)  # so that open_grid(run_dir, grid.id) finds it
    except (AnyfastError, OSError) as error:
        _say(f"Cannot save the spec into the run store {grid.store.root}: {error}")
        return EXIT_USAGE
    interrupted = False
    if plan.to_send:
        with Heartbeat(heartbeat_path(grid.store.root, grid.id)):
            interrupted = asyncio.run(_send(grid))
    return _report(grid, interrupted)


async def _send(grid: Grid) -> bool:
    """Send what the grid has not done yet; True if Ctrl-C stopped it."""
    loop = asyncio.get_running_loop()
    task = grid.run(confirm=True)  # a task: the loop is running
    stop = _Stop(grid, task, loop)
    try:
        loop.add_signal_handler(signal.SIGINT, stop.interrupt)
    except (NotImplementedError, RuntimeError):  # Windows: a plain handler, handing over to the loop
        signal.signal(signal.SIGINT, lambda *_: loop.call_soon_threadsafe(stop.interrupt))
    try:
        await task
    except asyncio.CancelledError:  # abandoned after the grace time, or at a second Ctrl-C
        pass
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await grid._clients.close_for_loop()  # before the loop ends with this run
    return stop.count > 0


class _Stop:
    """What Ctrl-C does: the first stops new requests and waits a while for those under way; the next abandons them."""

    def __init__(self, grid: Grid, task: asyncio.Task[Grid], loop: asyncio.AbstractEventLoop) -> None:
        self.grid, self.task, self.loop = grid, task, loop
        self.count = 0

    def interrupt(self) -> None:
        self.count += 1
        if self.count > 1:
            self.task.cancel()
            return
        self.grid.cancel()
        self.loop.call_later(GRACE_S, self.task.cancel)  # (also should the run not have begun yet, and so missed the cancel)
        under_way = sum(1 for _, slot in self.grid.slots() if slot.status == SlotState.RUNNING)
        if under_way:
            _say(f"Stopping: no new requests; {under_way} under way get {GRACE_S:g} s to finish (Ctrl-C again abandons them).")


def _report(grid: Grid, interrupted: bool) -> int:
    """One line on how the run ended; the exit code."""
    slots = [slot for _, slot in grid.slots()]
    done = sum(1 for slot in slots if slot.result is not None)
    missing = len(slots) - done
    where = f"grid {grid.id} in {grid.store.root}"
    if not missing:
        _say(f"All {done} requests done ({where}).")
        return EXIT_DONE
    failed = [slot for slot in slots if slot.status in (SlotState.ERROR, SlotState.BLOCKED)]
    why = f"; {len(failed)} failed, first: {failed[0].error}" if failed else ""
    unsent = sum(1 for slot in slots if slot.status == SlotState.OVER_BUDGET)
    why += f"; {unsent} left unsent by the budget" if unsent else ""
    head = "Interrupted: " if interrupted else ""
    again = f"Run the same command again to send only those ({where})."
    _say(f"{head}{done} of {len(slots)} requests done, {missing} not{why}. {again}")
    return EXIT_NOT_DONE


def _say(line: str) -> None:
    """A line for the person at the terminal, on stderr, clear of the progress bar."""
    from tqdm import tqdm

    tqdm.write(line, file=sys.stderr)
