"""A TensorFlow 1 checkpoint opens from whatever a TF user has at hand (issue 9, section 3).

``tf.train.Saver`` writes, in one folder, ``model.ckpt-1000.index``,
``model.ckpt-1000.data-00000-of-00001``, ``model.ckpt-1000.meta`` and a ``checkpoint``
text file naming the latest. Each of these, the folder and the bare prefix open the same
checkpoint.
"""

import shutil

import numpy as np
import pytest

from lstm_viz import FileFormatError
from lstm_viz.io.tf_checkpoint import checkpoint_prefix, model_from_tf_variables, read_checkpoint

TOL = 1e-5
DATA = ".data-00000-of-00001"


@pytest.fixture
def saver_folder(fixtures, tmp_path):
    """The files tf.train.Saver leaves after two saves, the latest at step 1000."""
    folder = tmp_path / "train"
    folder.mkdir()
    source = fixtures / "tf_checkpoints" / "tf_lstmcell"
    for step in (500, 1000):
        for suffix in (".index", DATA):
            shutil.copy(f"{source}{suffix}", folder / f"model.ckpt-{step}{suffix}")
        (folder / f"model.ckpt-{step}.meta").write_bytes(b"\x0a\x00graph")  # MetaGraphDef: not read
    # the older one is damaged: opening it instead of the latest would fail
    (folder / f"model.ckpt-500{DATA}").write_bytes(b"")
    (folder / "checkpoint").write_text(
        'model_checkpoint_path: "model.ckpt-1000"\n'
        'all_model_checkpoint_paths: "model.ckpt-500"\n'
        'all_model_checkpoint_paths: "model.ckpt-1000"\n'
    )
    return folder


def _check(fixtures, path):
    with np.load(fixtures / "tf_lstmcell_peephole_clip_proj.npz", allow_pickle=False) as data:
        ref = {k: data[k] for k in data.files}
    model = model_from_tf_variables(path, read_checkpoint(path), cell_clip=0.6)
    trace = model.run(ref["x"], [(ref["h0"], ref["c0"])])
    np.testing.assert_allclose(trace.output, ref["output"], atol=TOL, rtol=0)


@pytest.mark.parametrize(
    "given",
    ["", "checkpoint", "model.ckpt-1000", "model.ckpt-1000.index", f"model.ckpt-1000{DATA}", "model.ckpt-1000.meta"],
)
def test_every_form_opens_the_latest_checkpoint(fixtures, saver_folder, given):
    path = saver_folder / given if given else saver_folder
    assert checkpoint_prefix(path) == str(saver_folder / "model.ckpt-1000")
    _check(fixtures, path)


def test_an_absolute_path_from_the_training_machine_is_looked_up_in_the_folder(fixtures, saver_folder):
    (saver_folder / "checkpoint").write_text('model_checkpoint_path: "/home/someone/run7/model.ckpt-1000"\n')
    assert checkpoint_prefix(saver_folder) == str(saver_folder / "model.ckpt-1000")
    _check(fixtures, saver_folder)


def test_the_state_file_never_leads_outside_its_folder(fixtures, saver_folder, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    shutil.copy(saver_folder / "model.ckpt-1000.index", outside / "model.ckpt-7.index")
    (saver_folder / "checkpoint").write_text('model_checkpoint_path: "../elsewhere/model.ckpt-7"\n')
    assert checkpoint_prefix(saver_folder) == str(saver_folder / "model.ckpt-7")
    with pytest.raises(FileFormatError, match="no checkpoint index 'model.ckpt-7.index'"):
        read_checkpoint(saver_folder)


def test_a_folder_without_a_state_file(fixtures, saver_folder):
    (saver_folder / "checkpoint").unlink()
    assert checkpoint_prefix(saver_folder) is None  # two checkpoints and nothing says which
    with pytest.raises(FileFormatError, match="a folder without a TensorFlow 'checkpoint' file"):
        read_checkpoint(saver_folder)
    for suffix in (".index", DATA, ".meta"):
        (saver_folder / f"model.ckpt-500{suffix}").unlink()
    assert checkpoint_prefix(saver_folder) == str(saver_folder / "model.ckpt-1000")
    _check(fixtures, saver_folder)


def test_what_is_not_a_checkpoint(tmp_path, saver_folder):
    assert checkpoint_prefix(tmp_path / "empty") is None
    (tmp_path / "empty").mkdir()
    assert checkpoint_prefix(tmp_path / "empty") is None
    (tmp_path / "model.npz").write_bytes(b"PK\x03\x04")
    assert checkpoint_prefix(tmp_path / "model.npz") is None
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "checkpoint").write_text("just some text\n")
    assert checkpoint_prefix(tmp_path / "notes" / "checkpoint") is None
    (saver_folder / "checkpoint").write_text("garbage\n")
    with pytest.raises(FileFormatError, match="checkpoint: names no checkpoint"):
        checkpoint_prefix(saver_folder)


def test_a_meta_graph_alone_says_the_data_is_missing(tmp_path):
    (tmp_path / "graph.meta").write_bytes(b"\x0a\x00")
    assert checkpoint_prefix(tmp_path / "graph.meta") == str(tmp_path / "graph")
    with pytest.raises(FileFormatError, match="graph.meta: no checkpoint index 'graph.index' next to it"):
        read_checkpoint(tmp_path / "graph.meta")
