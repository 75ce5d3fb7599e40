"""A widget whose browser is an untrusted sender: every update is checked whole first, and a refusal shows one notice.

``BrowserWidget.set_state`` (how ipywidgets delivers the browser's trait updates)
runs the widget's ``_check_browser_state`` on the whole update before anything
lands. A refused update changes nothing: the browser is sent Python's values back,
the widget's ``notice`` trait shows what was refused and why, and the kernel logs
one warning, never a traceback in the notebook.
"""

from __future__ import annotations

import logging
from typing import Any

import anywidget
import traitlets as t

from ..core import error_card
from ._checks import Refused

logger = logging.getLogger("anyfast_widget")


class BrowserWidget(anywidget.AnyWidget):
    """An anywidget with a ``notice`` trait that refuses bad updates from its browser whole."""

    notice = t.Dict().tag(sync=True)
    # The update set_state has just checked, by trait name, while traitlets applies it (empty otherwise).
    _checked: dict[str, Any] = {}

    def _check_browser_state(self, sync_data: dict[str, Any]) -> None:
        """Raise :class:`Refused` unless every value of the update keeps to its rules."""
        raise NotImplementedError

    def set_state(self, sync_data: dict[str, Any]) -> None:
        """An update of synced traits from the browser, refused whole unless every value keeps to its rules."""
        names = [n for n in sync_data if n in self.keys] if isinstance(sync_data, dict) else []
        try:
            self._check_browser_state(sync_data)
            self._checked = sync_data  # the traits' own checks need not look at these values again
            super().set_state(sync_data)
        except t.TraitError as error:  # Refused, or a widget trait's own type (rolled back by traitlets)
            refused = error if isinstance(error, Refused) else Refused("state", "type", str(error)[:200], "")
            self._refuse(refused, "value")
            if names:
                self.send_state(names)
        except Exception as error:  # noqa: BLE001 - never a traceback in the notebook for a browser's update
            logger.warning("%s: an update from the browser failed: %s", type(self).__name__, error)
            self.notice = {"kind": "error", **error_card(error)}
        finally:
            self._checked = {}

    def _refuse(self, refused: Refused, what: str) -> None:
        """Show that a value or message from the browser was refused (one notice, one warning in the log)."""
        logger.warning("%s refused a %s from the browser: %s", type(self).__name__, what, refused)
        notice = refused.notice(what)
        if self.notice == notice:  # the same refusal again is a new notice, not no change
            self.notice = {}
        self.notice = notice
