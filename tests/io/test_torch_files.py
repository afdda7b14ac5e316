"""PyTorch files read without PyTorch, reproducing PyTorch's own numbers."""

import os
import pickle
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz import FileFormatError, LstmVizError, load_model
from tests.conftest import mutated

TOL = 1e-5


def reference(fixtures, name):
    with np.load(fixtures / name, allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


@pytest.mark.parametrize("name", ["torch_textnet.pt", "torch_textnet.safetensors"])
def test_text_model_with_embedding_and_readout(fixtures, name):
    ref = reference(fixtures, "torch_textnet_reference.npz")
    model = load_model(fixtures / name)
    assert model.embedding.shape == (12, 5) and model.input_size == 12
    assert model.readout.kind == "classification" and model.readout.output_size == 12
    one_hot = np.eye(12, dtype=np.float32)[ref["ids"]]
    trace = model.run(one_hot)
    for layer in range(2):
        np.testing.assert_allclose(trace.layers[layer].cell, ref[f"cell_l{layer}"], atol=TOL, rtol=0)
        np.testing.assert_allclose(trace.layers[layer].hidden, ref[f"hidden_l{layer}"], atol=TOL, rtol=0)
    np.testing.assert_allclose(model.readout.logits(trace.output), ref["logits"], atol=TOL, rtol=0)
    if name.endswith(".pt"):  # the checkpoint dict also carried the vocabulary
        assert model.metadata["vocabulary"] == [str(v) for v in ref["vocab"]]
        assert model.metadata["prefix"] == "state_dict.lstm."
        assert model.readout.labels == model.metadata["vocabulary"]


def test_the_lstm_inside_a_larger_module_is_found_by_prefix(fixtures):
    ref = reference(fixtures, "torch_seq2seq_reference.npz")
    default = load_model(fixtures / "torch_seq2seq.pt")
    assert default.metadata["prefix"] == "decoder.rnn." and default.metadata["other_lstm_prefixes"] == ["encoder.rnn."]
    model = load_model(fixtures / "torch_seq2seq.pt", prefix="encoder.rnn.")
    assert model.num_layers == 2 and model.is_bidirectional(0) and model.directions(0)[0].output_size == 3
    trace = model.run(ref["x"])
    np.testing.assert_allclose(trace.output, ref["output"], atol=TOL, rtol=0)
    np.testing.assert_allclose(trace.layers[1].reverse.cell[:, 0], ref["c_n"][3], atol=TOL, rtol=0)
    with pytest.raises(FileFormatError, match="no nn.LSTM under prefix 'nope.'"):
        load_model(fixtures / "torch_seq2seq.pt", prefix="nope.")


def test_a_pickled_module_object_is_refused(fixtures):
    with pytest.raises(FileFormatError, match="refused: the file asks to run 'torch.nn.modules.rnn.LSTM'"):
        load_model(fixtures / "torch_whole_model.pt")


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def rewrite_member(source, target, member_suffix, content):
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w") as dst:
        for info in src.infolist():
            data = content if info.filename.endswith(member_suffix) else src.read(info)
            dst.writestr(info.filename, data)


def test_os_system_payloads_never_run(fixtures, tmp_path):
    marker = tmp_path / "PWNED"
    for protocol in (0, 2, 4):
        evil = tmp_path / f"evil{protocol}.pt"
        rewrite_member(fixtures / "torch_textnet.pt", evil, "/data.pkl", pickle.dumps(Payload(marker), protocol))
        with pytest.raises(FileFormatError, match="refused: the file asks to run '(posix|os).system'"):
            load_model(evil)
    legacy = tmp_path / "legacy.pt"
    legacy.write_bytes(pickle.dumps({"weight_ih_l0": Payload(marker)}, 2))
    with pytest.raises(FileFormatError, match="legacy"):
        load_model(legacy)
    assert not marker.exists()


def test_storages_are_checked_against_what_the_file_holds(fixtures, tmp_path):
    cut = tmp_path / "cut.pt"
    rewrite_member(fixtures / "torch_textnet.pt", cut, "/data/0", b"\0" * 8)
    with pytest.raises(FileFormatError, match="storage '0' claims .* bytes but holds 8"):
        load_model(cut)
    data = (fixtures / "torch_textnet.safetensors").read_bytes()
    (tmp_path / "short.safetensors").write_bytes(data[: len(data) // 2])
    with pytest.raises(FileFormatError, match="damaged safetensors"):
        load_model(tmp_path / "short.safetensors")
    huge = bytearray(data)
    huge[:8] = (10**12).to_bytes(8, "little")
    (tmp_path / "huge.safetensors").write_bytes(bytes(huge))
    with pytest.raises(FileFormatError, match="header length is larger than the file"):
        load_model(tmp_path / "huge.safetensors")


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=st.sampled_from(["torch_textnet.pt", "torch_textnet.safetensors", "torch_seq2seq.pt"]),
    position=st.integers(min_value=0),
    value=st.integers(min_value=0, max_value=255),
    cut=st.booleans(),
)
def test_mutated_pytorch_files_raise_only_documented_errors(fixtures, tmp_path, name, position, value, cut):
    data = mutated((fixtures / name).read_bytes(), position, value, cut)
    path = tmp_path / ("m" + os.path.splitext(name)[1])
    path.write_bytes(data)
    try:
        load_model(path)
    except LstmVizError:
        pass
