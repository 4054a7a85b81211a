"""The one loaded model the app holds, shared by the separation worker and the query scoring."""
from __future__ import annotations

import threading
from collections.abc import Callable

from soundsift.gui.jobs import ModelChoice
from soundsift.separation import SegmentSeparator

Loader = Callable[[ModelChoice], SegmentSeparator]


class ModelCache:
    """Loads a model choice on first use and keeps it until another choice is asked for (thread-safe)."""

    def __init__(self, loader: Loader) -> None:
        self._loader = loader
        self._lock = threading.Lock()
        self._held: tuple[ModelChoice, SegmentSeparator] | None = None

    def holds(self, choice: ModelChoice) -> bool:
        """True when ``choice`` is loaded, so :meth:`get` returns at once."""
        held = self._held
        return held is not None and held[0] == choice

    def current(self) -> tuple[ModelChoice, SegmentSeparator] | None:
        """The loaded choice and its separator, if any."""
        return self._held

    def get(self, choice: ModelChoice) -> SegmentSeparator:
        """The separator for ``choice``, loading it (and dropping the one held before) when needed."""
        with self._lock:
            if self._held is None or self._held[0] != choice:
                self._held = None  # free the old model before the new one takes memory
                self._held = (choice, self._loader(choice))
            return self._held[1]
