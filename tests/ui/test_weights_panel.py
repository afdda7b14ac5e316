"""The weights panel: the numbers in each gate's heatmap are the layer's own, gate by gate."""

import numpy as np
import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import panel


def shown(window):
    p = panel(window, "WeightsPanel")
    p.show()
    p.raise_()
    window.repaint()
    return p


def test_each_gate_heatmap_holds_that_gates_block_with_units_as_rows(window):
    window.open_example("brackets", wait=True)
    p = shown(window)
    layer = window.session.model.layers[0]
    H = layer.hidden_size
    for key, block in (("W_x", layer.W_x), ("W_h", layer.W_h)):
        p.block.setCurrentIndex(p.block.findData(key))
        for k, gate in enumerate(("input", "forget", "candidate", "output")):  # the engine's column blocks
            image = p.images[gate].image
            np.testing.assert_array_equal(image, block[:, k * H : (k + 1) * H].T)
    p.block.setCurrentIndex(p.block.findData("b"))
    np.testing.assert_array_equal(p.images["forget"].image[:, 0], layer.b[H : 2 * H])


def test_hovering_a_weight_names_its_gate_unit_input_value_and_engine_index(window):
    window.open_example("brackets", wait=True)
    p = shown(window)
    p.block.setCurrentIndex(p.block.findData("W_x"))
    layer = window.session.model.layers[0]
    H = layer.hidden_size
    text = p.describe("input", 1.5, 4.5)  # column 1 (the ')' feature), unit 4
    value = layer.W_x[1, 0 * H + 4]
    assert text.startswith("Write (input) · unit 4 ← ')'") and f"{value:+.5f}" in text
    assert f"engine W_x[1, {4}]" in text
    assert [label for _, label in p.plots["input"].getAxis("bottom")._tickLevels[0]] == ["(", ")", "a"]


def test_the_selected_unit_is_outlined_and_a_click_selects_another(window, qtbot):
    window.open_example("brackets", wait=True)
    p = shown(window)
    window.session.select_units([4])
    xs, ys = p.outlines["forget"].getData()
    assert len(xs) == 8 and set(ys) == {4.0, 5.0}  # one box around row 4
    p.block.setCurrentIndex(p.block.findData("W_h"))
    xs, ys = p.outlines["forget"].getData()
    assert len(xs) == 16  # the row and the column of unit 4
    assert p.clicked("output", 2.5, 6.2, Qt.KeyboardModifier.NoModifier)
    assert window.session.selected == [6]
    assert p.describe("output", 2.5, 6.2).startswith("Read (output) · unit 6 ← h of unit 2 (t-1)")


def test_a_forget_bias_added_at_run_time_is_said_where_the_bias_is_shown(window):
    """TensorFlow's cells add forget_bias (1.0) at run time instead of storing it in b."""
    window.open_example("sine", wait=True)
    p = shown(window)
    layer = window.session.model.layers[0]
    layer.forget_bias = 1.0  # as a TF checkpoint's layer is read
    p.block.setCurrentIndex(p.block.findData("b"))
    assert "the run adds forget_bias 1" in p.describe("forget", 0.5, 2.5)
    assert "forget_bias" not in p.describe("input", 0.5, 2.5)
    assert p.values["forget"][2, 0] == layer.b[layer.hidden_size + 2]


def test_an_onnx_models_weight_names_the_onnx_tensor_it_was_read_from(window, fixtures, tmp_path):
    """ONNX orders the gates i, o, f, c: the keep gate of unit u sits in row 2H + u of W,
    read back here from the file with onnx itself."""
    onnx = pytest.importorskip("onnx")
    from onnx import numpy_helper

    path = fixtures / "onnx_torch_legacy.onnx"
    np.save(tmp_path / "x.npy", np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32))
    window.open_files(sequence_path=str(tmp_path / "x.npy"), model_path=str(path), wait=True)
    p = shown(window)
    p.block.setCurrentIndex(p.block.findData("W_x"))
    text = p.describe("forget", 0.5, 1.5)  # unit 1, input feature 0
    H = 5
    assert f"onnx::LSTM_376[0, {2 * H + 1}, 0]" in text and "ONNX's order i, o, f, c" in text
    graph = onnx.load(str(path)).graph
    tensor = next(numpy_helper.to_array(t) for t in graph.initializer if t.name == "onnx::LSTM_376")
    assert f"{tensor[0, 2 * H + 1, 0]:+.5f}" in text
