"""Start the desktop app: ``soundsift gui [FILES...]`` or the ``soundsift-gui`` script."""
from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

# QtMultimedia lists every optional codec library it could not find; that is noise for a user.
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false")

from PyQt6.QtWidgets import QApplication

from soundsift import __version__
from soundsift.gui.excepthook import install_exception_handler
from soundsift.gui.settings import open_store
from soundsift.gui.theme import apply_theme
from soundsift.gui.window import MainWindow


def run(files: Sequence[str | Path] = ()) -> int:
    """Open the window (with ``files`` already in the queue) and run until it closes; returns the exit code."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("soundsift")
    app.setApplicationDisplayName("soundsift")
    app.setApplicationVersion(__version__)
    app.setOrganizationName("soundsift")
    apply_theme(app)
    window = MainWindow(open_store())
    install_exception_handler(window)
    window.show()
    if files:
        window.add_paths([Path(f) for f in files])
    return app.exec()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``soundsift-gui`` script: every argument is a file or folder to queue."""
    args = list(sys.argv[1:] if argv is None else argv)
    if any(a in ("-h", "--help") for a in args):
        print("usage: soundsift-gui [FILE_OR_FOLDER ...] | --self-test\n"
              "Open the soundsift desktop app with these inputs queued.\n"
              "--self-test: load the default model, separate a built-in clip, check the result and exit "
              "(0 when it passes).")
        return 0
    if args == ["--self-test"]:
        from soundsift.gui.self_test import run_self_test

        return run_self_test()
    return run(args)
