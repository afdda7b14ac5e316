"""A folder of sequence files opens as one batch: one sequence per file, named by the file."""

import shutil

import numpy as np
import pytest

from lstm_viz import FileFormatError, load_sequence
from lstm_viz.engine.sequence import NumberedSteps
from lstm_viz.io import formats, sequences


def arrays(folder, lengths, width=2, stem="walk"):
    folder.mkdir(exist_ok=True)
    made = {}
    for k, n in lengths.items():
        values = (np.arange(n * width, dtype=np.float32).reshape(n, width) + 100 * k).astype(np.float32)
        np.save(folder / f"{stem}_{k}.npy", values)
        made[f"{stem}_{k}"] = values
    return made


def test_each_file_is_a_sequence_named_by_it_in_natural_order_and_shorter_ones_are_padded(tmp_path):
    folder = tmp_path / "walks"
    made = arrays(folder, {10: 3, 2: 5, 1: 4})
    (folder / ".DS_Store").write_bytes(b"\0\0")  # hidden files and sub-folders are not part of the batch
    (folder / "old").mkdir()
    seq = load_sequence(folder)
    assert seq.names == ["walk_1", "walk_2", "walk_10"]  # 2 before 10
    assert seq.values.shape == (3, 5, 2) and seq.lengths.tolist() == [4, 5, 3]
    for b, name in enumerate(seq.names):
        n = len(made[name])
        np.testing.assert_array_equal(seq.values[b, :n], made[name])
        np.testing.assert_array_equal(seq.values[b, n:], 0)  # zero padding, as a table's series
    # padded steps are labelled "", as a table's id column does it
    assert seq.batch_labels == [["0", "1", "2", "3", ""], NumberedSteps(0, 5), ["0", "1", "2", "", ""]]
    assert seq.source == str(folder) and seq.options["folder"] == {"format": "arrays", "files": 3}
    assert formats.role_of(folder) == "sequence"
    assert formats.detect(folder, "sequence").name == "folder"


def test_tables_keep_their_columns_and_time_labels_and_normalise_over_the_whole_batch(tmp_path):
    folder = tmp_path / "stations"
    folder.mkdir()
    (folder / "oslo.csv").write_text("day,temp,wind\n2024-01-01,1,3\n2024-01-02,2,4\n2024-01-03,3,5\n")
    (folder / "lima.csv").write_text("day,temp,wind\n2024-01-01,21,1\n2024-01-02,23,2\n")
    seq = load_sequence(folder)
    assert seq.names == ["lima", "oslo"] and seq.feature_names == ["temp", "wind"]
    assert seq.batch_labels == [["2024-01-01", "2024-01-02", ""], ["2024-01-01", "2024-01-02", "2024-01-03"]]
    assert seq.options["table"]["roles"]["day"] == "time"
    scaled = load_sequence(folder, normalize="zscore")
    valid = np.array([[21, 1], [23, 2], [1, 3], [2, 4], [3, 5]], np.float64)
    expected = (valid - valid.mean(axis=0)) / valid.std(axis=0)  # one scale for every file
    np.testing.assert_allclose(scaled.values[0, :2], expected[:2], rtol=1e-5)
    np.testing.assert_allclose(scaled.values[1], expected[2:], rtol=1e-5)
    np.testing.assert_array_equal(scaled.values[0, 2], 0)


def test_text_files_share_one_vocabulary(tmp_path):
    folder = tmp_path / "texts"
    folder.mkdir()
    (folder / "a.txt").write_text("abba")
    (folder / "b.txt").write_text("cab")
    seq = load_sequence(folder)
    assert seq.vocabulary == ["a", "b", "c"] and seq.width == 3 and seq.is_text
    assert seq.names == ["a", "b"] and seq.lengths.tolist() == [4, 3]
    np.testing.assert_array_equal(seq.values[1, :3].argmax(axis=1), [2, 0, 1])  # c, a, b in the shared vocabulary
    assert seq.batch_labels[1] == ["c", "a", "b", ""]


def test_a_file_with_several_sequences_adds_each_named_after_the_file(tmp_path):
    folder = tmp_path / "genes"
    folder.mkdir()
    (folder / "one.fa").write_text(">x\nACGT\n>y\nAC\n")
    (folder / "two.fa").write_text(">z\nGGG\n")
    seq = load_sequence(folder)
    assert seq.names == ["one: x", "one: y", "two"] and seq.lengths.tolist() == [4, 2, 3] and seq.is_dna


def test_a_mixed_folder_is_refused_naming_the_file_that_differs(tmp_path):
    folder = tmp_path / "mixed"
    arrays(folder, {1: 3, 2: 3, 3: 3})
    (folder / "notes.txt").write_text("not a sequence of this batch")
    with pytest.raises(FileFormatError) as error:
        load_sequence(folder)
    message = str(error.value)
    assert message.startswith(f"{folder}: notes.txt is Text but walk_1.npy and 2 more are NumPy arrays")
    assert "same format" in message
    (folder / "notes.txt").unlink()
    np.save(folder / "walk_9.npy", np.zeros((3, 5), np.float32))
    with pytest.raises(FileFormatError, match=r"walk_9.npy has 5 features per step but walk_1.npy and 2 more have 2"):
        load_sequence(folder)


def test_tables_with_other_columns_are_refused(tmp_path):
    folder = tmp_path / "tables"
    folder.mkdir()
    (folder / "a.csv").write_text("temp,wind\n1,2\n3,4\n")
    (folder / "b.csv").write_text("temp,rain\n1,2\n3,4\n")
    with pytest.raises(FileFormatError, match=r"b.csv's feature 1 is 'rain' but a.csv's is 'wind'"):
        load_sequence(folder)


def test_too_many_files_and_no_files_are_refused_clearly(tmp_path, monkeypatch):
    folder = tmp_path / "many"
    arrays(folder, dict.fromkeys(range(6), 2))
    monkeypatch.setattr(sequences, "MAX_FOLDER_FILES", 5)
    with pytest.raises(FileFormatError, match=r"holds 6 files, more than the 5 a folder batch may have"):
        load_sequence(folder)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FileFormatError, match=r"holds no files"):
        load_sequence(empty)


def test_a_checkpoint_folder_stays_a_model(tmp_path, fixtures):
    folder = tmp_path / "train"
    folder.mkdir()
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(fixtures / "tf_checkpoints" / f"tf_lstmcell{suffix}", folder / f"model.ckpt-7{suffix}")
    (folder / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-7"\n')
    assert formats.role_of(folder) == "model"  # what a drop or the command line opens it as
    with pytest.raises(FileFormatError, match="is a TensorFlow checkpoint folder, a model"):
        load_sequence(folder)
