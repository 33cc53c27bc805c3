"""`gopolicy plot`: training curves from a small synthetic RUN/metrics.csv."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from matplotlib.image import imread  # noqa: E402

from gopolicy.cli import main  # noqa: E402
from gopolicy.review.curves import load_metrics, plot_curves  # noqa: E402

HEADER = "step,samples,split,loss,top1,top5,lr,elapsed_s\n"


def write_run(tmp_path, train_rows=40):
    """Return a run folder whose metrics.csv has `train_rows` train rows and 3 val rows, out of order."""
    run = tmp_path / "run"
    run.mkdir()
    lines = [HEADER]
    for step in range(train_rows, 0, -1):  # written backwards: the reader must sort by samples
        loss = 5.9 - 3.0 * step / train_rows
        lines.append(f"{step},{step * 256},train,{loss:.4f},{0.1 + step / 200:.4f},"
                     f"{0.3 + step / 100:.4f},0.01,{step * 2.5}\n")
    for step, loss, top1, top5 in ((10, 4.5, 0.20, 0.45), (20, 3.9, 0.28, 0.55), (40, 3.2, 0.35, 0.64)):
        lines.append(f"{step},{step * 256},val,{loss},{top1},{top5},0.01,{step * 2.5}\n")
    (run / "metrics.csv").write_text("".join(lines))
    return run


def test_load_metrics_splits_and_sorts(tmp_path):
    metrics = load_metrics(write_run(tmp_path))
    assert set(metrics) == {"train", "val"}
    assert np.all(np.diff(metrics["train"]["samples"]) > 0)
    assert metrics["val"]["samples"].tolist() == [2560, 5120, 10240]
    assert metrics["val"]["top5"].tolist() == [0.45, 0.55, 0.64]


def test_plot_has_three_panels_with_both_splits(tmp_path):
    fig = plot_curves(load_metrics(write_run(tmp_path)))
    axes = fig.get_axes()
    assert [ax.get_ylabel() for ax in axes] == ["loss (cross-entropy)", "top-1 accuracy", "top-5 accuracy"]
    for ax, column in zip(axes, ("loss", "top1", "top5")):
        labels = [line.get_label() for line in ax.get_lines()]
        assert "validation" in labels and "train (smoothed)" in labels
        val = next(line for line in ax.get_lines() if line.get_label() == "validation")
        expected = {"loss": [4.5, 3.9, 3.2], "top1": [0.20, 0.28, 0.35], "top5": [0.45, 0.55, 0.64]}[column]
        assert list(val.get_ydata()) == expected


def test_plot_command_writes_png(tmp_path, capsys):
    run = write_run(tmp_path)
    out = tmp_path / "curves.png"
    assert main(["plot", str(run), "-o", str(out)]) == 0, capsys.readouterr().err
    image = imread(out)
    assert image.shape[:2] == (900, 800)  # 8 x 9 inches at 100 dpi
    assert image[..., :3].std() > 0.05  # not a blank page


@pytest.mark.parametrize("csv_text, words", [
    (None, "no such file"),
    ("step,samples,split,loss\n1,256,train,5.0\n", "missing column"),
    (HEADER + "1,256,train,five,0.1,0.3,0.01,1.0\n", "metrics.csv:2"),
    (HEADER, "no rows"),
])
def test_plot_errors_are_one_line(tmp_path, capsys, csv_text, words):
    run = tmp_path / "run"
    run.mkdir()
    if csv_text is not None:
        (run / "metrics.csv").write_text(csv_text)
    status = main(["plot", str(run), "-o", str(tmp_path / "c.png")])
    err = capsys.readouterr().err
    assert status != 0
    assert err.startswith("gopolicy plot: error:") and err.count("\n") == 1 and words in err, err
