"""Entry point of the packaged desktop app (build.spec): the ``soundsift-gui`` command."""
from soundsift.gui.app import main

if __name__ == "__main__":
    raise SystemExit(main())
