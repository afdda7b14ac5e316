"""Your own data and models in the window: tables with roles, the import step, TF checkpoint
folders, every reading option, and no dead end when the widths do not fit."""

import shutil

import numpy as np
import pytest

from lstm_viz.io.tables import TableOptions
from lstm_viz.ui import table_dialog
from lstm_viz.workbench import RandomSpec, SequenceOptions

STOCKS = "symbol,date,price\n" + "".join(
    f"{symbol},2024-01-{day:02d},{base + day * step:.2f}\n"
    for symbol, base, step in (("AAPL", 180.0, 0.5), ("GOOG", 140.0, -0.25), ("MSFT", 370.0, 1.0))
    for day in range(1, 11)
)
WEATHER = "date,precipitation,temp_max,weather\n" + "".join(
    f"2015-01-{day:02d},{(day * 0.7) % 3:.1f},{5 + day % 7},{['rain', 'sun', 'fog'][day % 3]}\n" for day in range(1, 21)
)


def test_a_stock_table_opens_without_editing_and_offers_a_random_model(window, tmp_path):
    path = tmp_path / "stocks.csv"
    path.write_text(STOCKS, encoding="utf-8")
    demo = window.session.loaded
    window.open_files(sequence_path=str(path), wait=True)  # the demo's model reads 2 features
    assert window.session.loaded is demo and "stocks.csv has 1 feature per step" in window.last_error
    window.accept_offer(wait=True)  # the message's one-click way out
    sequence = window.session.sequence
    assert sequence.names == ["AAPL", "GOOG", "MSFT"] and sequence.feature_names == ["price"]
    assert list(sequence.lengths) == [10, 10, 10] and sequence.batch_labels[1][:2] == ["2024-01-01", "2024-01-02"]
    np.testing.assert_allclose(sequence.values[2, :3, 0], [371.0, 372.0, 373.0])
    assert window.session.model.input_size == 1
    window.session.set_batch(1)
    assert window.session.label(0) == "2024-01-01"


def test_a_weather_table_s_categories_become_one_hot_features(window, tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text(WEATHER, encoding="utf-8")
    window.open_files(sequence_path=str(path), random_spec=([5], 0), wait=True)
    sequence = window.session.sequence
    names = sequence.feature_names
    assert {"weather=rain", "weather=sun", "weather=fog"} <= set(names)
    sun = names.index("weather=sun")
    expected = [1.0 if day % 3 == 1 else 0.0 for day in range(1, 21)]
    np.testing.assert_array_equal(sequence.values[0, :, sun], expected)
    assert sequence.labels[0] == "2015-01-01"


def test_the_import_step_uses_the_user_s_roles_and_a_cancel_keeps_the_session(window, tmp_path, monkeypatch):
    path = tmp_path / "stocks.csv"
    path.write_text(STOCKS, encoding="utf-8")
    monkeypatch.delenv("LSTM_VIZ_NO_DIALOGS")
    asked = []

    def ask(parent, asked_path, settings):
        asked.append(asked_path)
        return TableOptions(roles={"symbol": "ignore"})  # one long series instead of three

    monkeypatch.setattr(table_dialog, "ask_table_options", ask)
    window.open_files(sequence_path=str(path), random_spec=([4], 0), wait=True)
    assert asked == [str(path)]
    assert window.session.sequence.batch_size == 1 and window.session.sequence.length == 30
    assert window.session.loaded.request.sequence_options.table["roles"] == {"symbol": "ignore"}
    shown = window.session.loaded
    monkeypatch.setattr(table_dialog, "ask_table_options", lambda *args: None)  # Cancel
    window.open_files(sequence_path=str(path), random_spec=([4], 0), wait=True)
    assert window.session.loaded is shown and "cancelled" in window.status.text()
    window.reload()  # reloading reads the file the same way, without asking again
    window.wait_for_job()
    assert window.session.sequence.batch_size == 1 and window.session.loaded is not shown


def test_remembered_choices_are_used_for_the_same_file(window, tmp_path):
    path = tmp_path / "stocks.csv"
    path.write_text(STOCKS, encoding="utf-8")
    table_dialog.remember_options(window.settings, path, TableOptions(roles={"symbol": "ignore"}, fill="previous"))
    window.open_files(sequence_path=str(path), random_spec=([4], 0), wait=True)
    assert window.session.sequence.batch_size == 1


def test_a_tensorflow_checkpoint_folder_opens_from_the_window(window, tmp_path, fixtures):
    folder = tmp_path / "train"
    folder.mkdir()
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(fixtures / "tf_checkpoints" / f"tf_lstmcell{suffix}", folder / f"model.ckpt-7{suffix}")
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-7"\n')
    np.save(tmp_path / "five.npy", np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32))
    window.open_files(sequence_path=str(tmp_path / "five.npy"), random_spec=([3], 0), wait=True)
    for given in (folder, folder / "checkpoint", folder / "model.ckpt-7"):
        window.last_error = None
        window.open_files(sequence_path=str(tmp_path / "five.npy"), random_spec=([3], 0), wait=True)
        assert window.session.model.hidden_sizes == [3]
        window.open_files(model_path=str(given), wait=True)
        assert window.last_error is None
        assert window.session.model.hidden_sizes == [6] and window.session.loaded.model_path == str(given)


def test_a_new_random_model_after_a_mismatch_is_sized_to_the_sequence_being_opened(window, tmp_path):
    np.save(tmp_path / "one.npy", np.arange(8, dtype=np.float32)[:, None])
    window.open_files(sequence_path=str(tmp_path / "one.npy"), wait=True)
    assert "one.npy has 1 feature per step" in window.last_error
    request = window.random_model_request(RandomSpec([9], seed=3))  # Model > New random model
    window.open_request(request, wait=True)
    assert window.session.loaded.sequence_path == str(tmp_path / "one.npy")
    assert window.session.model.input_size == 1 and window.session.model.hidden_sizes == [9]
    again = window.random_model_request(RandomSpec([4]))  # after a success: the sequence shown
    assert again.sequence_path is None


def test_open_with_options_offers_every_reading_option(window, qtbot, tmp_path):
    from lstm_viz.ui.open_dialog import OpenDialog

    (tmp_path / "words.txt").write_text("one two three two one", encoding="utf-8")
    dialog = OpenDialog(window, window.session.loaded.request)
    qtbot.addWidget(dialog)
    dialog.sequence.setText(str(tmp_path / "words.txt"))
    dialog.text_mode.setCurrentIndex(dialog.text_mode.findData("words"))
    dialog.normalize.setCurrentIndex(dialog.normalize.findData("none"))
    dialog.random.setChecked(True)
    dialog.sizes.setText("5, 3")
    dialog.seed.setValue(11)
    assert not dialog.prefix.isEnabled() and dialog.sizes.isEnabled()
    request = dialog.request()
    assert request.sequence_options.text_mode == "words" and request.random.sizes == [5, 3]
    window.open_request(request, wait=True)
    assert window.session.sequence.labels == ["one", "two", "three", "two", "one"]
    assert window.session.model.hidden_sizes == [5, 3]
    dialog.from_file.setChecked(True)
    dialog.model.setText("m.npz")
    dialog.cell_clip.setText("-2")
    with pytest.raises(ValueError, match="cell_clip must be positive"):
        dialog.request()
    dialog.cell_clip.setText("3")
    dialog.prefix.setText("encoder.rnn.")
    dialog.forget_bias.setValue(0.0)
    options = dialog.request().model_options
    assert (options.prefix, options.forget_bias, options.cell_clip) == ("encoder.rnn.", 0.0, 3.0)


def test_dates_label_the_time_axes(window, tmp_path):
    path = tmp_path / "weather.csv"
    path.write_text(WEATHER, encoding="utf-8")
    window.open_files(sequence_path=str(path), random_spec=([5], 0), wait=True)
    for name in ("InputPanel", "CellTrajectoryPanel"):
        axis = next(p for p in window.panels if p.objectName() == name).plot.getPlotItem().getAxis("bottom")
        assert axis.tickStrings([0, 4, 2.5, 19, 20], 1.0, 1.0) == ["2015-01-01", "2015-01-05", "", "2015-01-20", ""]
    heatmaps = next(p for p in window.panels if p.objectName() == "GateHeatmapsPanel")
    assert heatmaps.plots["candidate"].getAxis("bottom").tickStrings([1], 1.0, 1.0) == ["2015-01-02"]
    window.open_demo(wait=True)  # steps without dates: their numbers
    axis = next(p for p in window.panels if p.objectName() == "InputPanel").plot.getPlotItem().getAxis("bottom")
    assert axis.tickStrings([0, 10], 1.0, 10.0) == ["0", "10"]


def test_a_named_pipe_is_refused_at_once_and_the_session_kept(window, qtbot, tmp_path):
    import os
    import time

    pipe = tmp_path / "stream.csv"
    os.mkfifo(pipe)
    shown = window.session.loaded
    started = time.perf_counter()
    window.open_files(sequence_path=str(pipe))  # in a worker, as from the menu
    qtbot.waitUntil(lambda: window.job is None, timeout=5000)
    assert time.perf_counter() - started < 5
    assert window.session.loaded is shown and "stream.csv" in window.last_error
    assert "not a regular file" in window.last_error
    window.open_files(model_path=str(pipe), wait=True)
    assert window.session.loaded is shown and "not a regular file" in window.last_error


def test_wide_inputs_say_how_many_features_are_not_drawn(window, tmp_path):
    np.save(tmp_path / "wide.npy", np.random.default_rng(0).normal(size=(20, 14)).astype(np.float32))
    window.open_files(sequence_path=str(tmp_path / "wide.npy"), random_spec=([3], 0), wait=True)
    inputs = next(p for p in window.panels if p.objectName() == "InputPanel")
    inputs.raise_()
    names = [label.text for _, label in inputs.legend.items]
    assert sum(curve.isVisible() for curve in inputs.curves) == 12
    assert names[:12] == [f"x{k}" for k in range(12)] and names[-1] == "+ 2 more features, not drawn"


def test_the_guide_keeps_the_example_and_says_when_the_input_is_your_own(window, qtbot):
    window.open_example("text", wait=True)
    guide = next(p for p in window.panels if p.objectName() == "GuidePanel")
    guide.raise_()
    assert "your own input" not in guide.text.toPlainText()
    window.run_typed(text="the queen said", wait=True)
    text = guide.text.toPlainText()
    assert "A character model of Alice" in text and "Now running on your own input" in text


def test_the_tour_waits_when_the_first_start_shows_an_error_or_is_still_loading(window, qtbot, tmp_path):
    window.settings.remove("tour/seen")
    window.last_error = "pipe.csv: is not a regular file"
    assert window.maybe_start_tour() is False and window.settings.value("tour/seen") is None
    window.last_error = None
    np.save(tmp_path / "long.npy", np.zeros((200_000, 2), np.float32))
    window.open_files(sequence_path=str(tmp_path / "long.npy"), random_spec=([64], 0))  # in a worker
    assert window.job is not None and window.maybe_start_tour() is False  # not yet: it is loading
    qtbot.waitUntil(lambda: getattr(window, "tour", None) is not None and window.tour.isVisible(), timeout=20000)
    assert window.job is None and window.session.length == 200_000  # shown once the load was done
    window.tour.finish()


def test_a_checkpoint_file_is_offered_by_the_model_dialog():
    from lstm_viz.io.formats import dialog_filter

    first = dialog_filter("model").split(";;")[0]
    assert " checkpoint" in first and "*.index" in first


def test_the_window_says_when_raw_values_saturate_the_gates(window, tmp_path):
    kelvin = (283 + 8 * np.sin(np.arange(300) / 4)).astype(np.float32)[:, None]
    np.save(tmp_path / "kelvin.npy", kelvin)
    window.open_files(sequence_path=str(tmp_path / "kelvin.npy"), random_spec=([16], 0), wait=True)
    message = window.statusBar().currentMessage()
    assert "of the gate values are within 0.01 of 0 or 1" in message and "z-score" in message
    window.open_files(
        sequence_path=str(tmp_path / "kelvin.npy"),
        random_spec=([16], 0),
        sequence_options=SequenceOptions(normalize="zscore"),
        wait=True,
    )
    assert "gate values" not in window.statusBar().currentMessage()
