"""lstm_viz.show and lstm_viz.render from Python, and the notebook in docs/ run headlessly
by a real Jupyter kernel (nbclient), its outputs checked."""

from __future__ import annotations

import base64
import os

import numpy as np
import pytest
from PySide6.QtGui import QImage

import lstm_viz
from lstm_viz.errors import InputError
from tests.ui.test_export import pixels

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
DEMO = os.path.join(ROOT, "resources", "demo")


@pytest.fixture
def demo():
    model = lstm_viz.load_model(os.path.join(DEMO, "adding_model.npz"))
    x = lstm_viz.load_sequence(os.path.join(DEMO, "adding_sequence.json")).values[0]
    return model, x


def test_render_draws_the_window_as_it_shows(demo, window, qtbot):
    model, x = demo
    picture = lstm_viz.render(model, x, step=12, select=[2])
    window.session.select_units([2])
    window.session.set_step(12)
    window.status.setText("")  # the status line says how each was opened
    qtbot.wait(20)
    assert picture.size == (window.width(), window.height())
    assert picture._repr_png_().startswith(b"\x89PNG")
    image = picture.to_numpy().astype(np.int16)
    mine = pixels(window.grab().toImage())
    body = slice(0, window.height() - 30)  # all but the status line
    assert np.abs(image[body] - mine[body]).mean() < 3


def test_render_stacks_panels_as_wide_as_asked_under_their_titles(demo):
    model, x = demo
    picture = lstm_viz.render(model, x, panels=["gates", "memory"], step=3, size=(1000, 700))
    image = picture.to_numpy()
    assert image.shape == (picture.size[1], picture.size[0], 3) and picture.size[0] == 1000
    assert picture.size == (1000, 700)  # two title bands and two panels sharing the height asked for
    title = image[:26]
    assert (title.min(axis=2) < 100).any()  # dark text on the grey band: the panel's title
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 50  # drawn, not blank


def test_show_returns_a_live_window_at_once(demo, qtbot):
    model, x = demo
    window = lstm_viz.show(model, x, step=7, select=[1, 4])
    try:
        assert window.isVisible() and window.session.core.step == 7
        assert window.session.core.selected == [1, 4]
        assert np.array_equal(window.session.core.quantity("cell"), model.run(x[None]).layers[0].cell[0])
        window.session.set_step(8)  # the window answers while the caller goes on
        qtbot.wait(10)
        assert "t = 8" in window.transport.position.text()
    finally:
        window.close()


def test_what_cannot_be_shown_is_said(demo):
    model, x = demo
    trace = model.run(x[None])
    with pytest.raises(InputError, match="a trace holds the states, not the weights"):
        lstm_viz.render(trace)
    with pytest.raises(InputError, match=r"x must be \(T, D\) or \(B, T, D\)"):
        lstm_viz.render(model, np.zeros(5))
    with pytest.raises(InputError, match="NaN"):
        lstm_viz.render(model, np.full((4, 2), np.nan))
    with pytest.raises(InputError, match=r"step 500 is not a step of the sequence \(0 to 29\)"):
        lstm_viz.render(model, x, step=500)
    with pytest.raises(InputError, match="step -3"):
        lstm_viz.show(model, x, step=-3)
    from lstm_viz.ui.export import ExportError

    with pytest.raises(ExportError, match=r"no panel called 'nope' \(one of: gatebars, gateheatmaps,"):
        lstm_viz.render(model, x, panels=["nope"])
    picture = lstm_viz.render(model, trace=trace, panels=["input"])  # a trace with its model
    assert picture.size[0] > 100


def test_the_notebook_in_docs_runs_headless_and_shows_its_pictures(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    env_before = dict(os.environ)
    os.environ.update(QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path))  # the kernel inherits these
    try:
        # Once, on a machine whose two cores a whole test run took, a cell after show() never
        # ran: the kernel stayed in IPython's Qt event loop (ipykernel wakes it through a
        # socket notifier). A cell that times out is given one more whole run in a new kernel.
        for attempt in (1, 2):
            notebook = nbformat.read(os.path.join(ROOT, "docs", "notebook.ipynb"), as_version=4)
            client = nbclient.NotebookClient(
                notebook, timeout=90, kernel_name="python3", resources={"metadata": {"path": ROOT}}
            )
            try:
                client.execute()
                break
            except nbclient.exceptions.CellTimeoutError:
                if attempt == 2:
                    raise
    finally:
        os.environ.clear()
        os.environ.update(env_before)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(not any(o.get("output_type") == "error" for o in cell.outputs) for cell in code)
    # the picture, inline: a PNG of the two panels
    shown = code[1].outputs[0]
    assert shown["output_type"] == "execute_result" and "image/png" in shown["data"]
    image = QImage.fromData(base64.b64decode(shown["data"]["image/png"]), "PNG")
    assert image.width() > 400 and image.height() > 300
    assert shown["data"]["text/plain"] == f"<lstm-viz picture {image.width()}x{image.height()}>"
    assert (
        code[2].outputs[0]["data"]["text/plain"]
        == f"(({image.height()}, {image.width()}, 3), ({image.width()}, {image.height()}))"
    )
    # the live window followed the notebook's steps
    assert code[3].outputs[0]["data"]["text/plain"] == "5"
    printed = code[4].outputs[0]["text"]
    model = lstm_viz.load_model(os.path.join(DEMO, "adding_model.npz"))
    x = lstm_viz.load_sequence(os.path.join(DEMO, "adding_sequence.json")).values
    layer = model.run(x).layers[0]
    assert (
        printed.strip() == f"step 12, unit 3 keep gate {layer.forget[0, 12, 3]:.4f}, memory {layer.cell[0, 12, 3]:.4f}"
    )
