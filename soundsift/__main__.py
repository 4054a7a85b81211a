"""``python -m soundsift`` runs the command line."""
from soundsift.cli import main

raise SystemExit(main())
