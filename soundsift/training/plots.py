"""Figures of a training run: loss, validation SDRi and absent-query level against steps, from its log.csv."""
from __future__ import annotations

import csv
from pathlib import Path


def plot_log(log_csv: Path, out_png: Path, title: str = "") -> Path:
    """Draw the training loss (and validation SDRi and absent-query level when logged) and save it as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with log_csv.open(newline="") as f:
        rows = list(csv.DictReader(f))
    steps = [int(r["step"]) for r in rows if r["loss"]]
    loss = [float(r["loss"]) for r in rows if r["loss"]]
    val = [(int(r["step"]), float(r["val_sdri"])) for r in rows if r["val_sdri"]]
    absent = [(int(r["step"]), float(r["val_absent_db"])) for r in rows if r.get("val_absent_db")]
    fig, ax = plt.subplots(figsize=(7, 4), dpi=100)
    ax.plot(steps, loss, color="tab:blue", label="training loss")
    ax.set_xlabel("step")
    ax.set_ylabel("loss", color="tab:blue")
    if val:
        ax2 = ax.twinx()
        ax2.plot(*zip(*val), "o-", color="tab:orange", label="validation SDRi")
        ax2.set_ylabel("validation SDRi (dB)", color="tab:orange")
        if absent:
            ax2.plot(*zip(*absent), "s--", color="tab:green", label="absent-query level")
            ax2.set_ylabel("validation SDRi / absent-query level (dB)")
            ax2.legend(loc="best")
    ax.set_title(title or log_csv.parent.name)
    fig.tight_layout()
    tmp = out_png.with_name(f".{out_png.stem}.part.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(out_png)
    return out_png
