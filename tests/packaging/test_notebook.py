"""The example notebook (examples/quickstart.ipynb, rendered in the docs site)
runs from top to bottom in a fresh kernel, as a user runs it, and draws its chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "examples" / "quickstart.ipynb"


def test_quickstart_notebook_runs_and_draws_its_chart(tmp_path):
    nbformat = pytest.importorskip("nbformat", reason="nbclient/nbformat are in the test extra")
    from nbclient import NotebookClient

    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), (
        "the notebook is kept without outputs (the docs build runs it)")
    # A fresh kernel of this interpreter, in a scratch directory; any error stops the run
    # with CellExecutionError naming the cell.
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "AAPL results" in text and "ticks in=30,000" in text, text
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, "the chart cell should draw exactly one figure"


def test_notebook_is_valid_nbformat():
    nbformat = pytest.importorskip("nbformat", reason="nbclient/nbformat are in the test extra")
    nb = nbformat.reads(NOTEBOOK.read_text(), as_version=4)
    nbformat.validate(nb)
    assert json.loads(NOTEBOOK.read_text())["metadata"]["kernelspec"]["name"] == "python3"
