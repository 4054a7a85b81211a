"""What a separation would write over: track folders that already hold files from an earlier run."""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from soundsift.batch import FileJob


def occupied_track_folders(planned: Sequence[FileJob]) -> list[Path]:
    """The planned jobs' track folders that exist and are not empty, in plan order."""
    folders = list(dict.fromkeys(path.parent for job in planned for path in job.outputs.values()))
    return [folder for folder in folders if folder.is_dir() and any(folder.iterdir())]
