"""Load functions of the model formats, as the registry (:mod:`lstm_viz.io.formats`) calls them.

Each takes the path and the options its format declares and returns an LSTM (or RNN).
"""

from __future__ import annotations

from lstm_viz.safe_arrays import NpzReader


def load_native_file(path):
    from lstm_viz.io.native import load_native_model

    with NpzReader(path) as archive:
        return load_native_model(path, archive)


def load_torch(path, prefix: str | None = None):
    from lstm_viz.io.torch_files import read_torch_file, walk
    from lstm_viz.io.torch_import import model_from_torch_tensors

    tensors, strings = walk(path, read_torch_file(path))
    return model_from_torch_tensors(path, tensors, strings, prefix)


def load_safetensors(path, prefix: str | None = None):
    from lstm_viz.io.torch_files import read_safetensors
    from lstm_viz.io.torch_import import model_from_torch_tensors

    return model_from_torch_tensors(path, read_safetensors(path), None, prefix)


def load_tf_checkpoint(path, forget_bias: float = 1.0, cell_clip: float | None = None, proj_clip=None):
    from lstm_viz.io.tf_checkpoint import model_from_tf_variables, read_checkpoint

    return model_from_tf_variables(
        path, read_checkpoint(path), forget_bias=forget_bias, cell_clip=cell_clip, proj_clip=proj_clip
    )


def load_tf_npz(path, forget_bias: float = 1.0, cell_clip: float | None = None, proj_clip=None):
    from lstm_viz.io.tf_checkpoint import model_from_tf_variables

    with NpzReader(path) as archive:
        arrays = {name: archive[name] for name in archive.files}
    return model_from_tf_variables(path, arrays, forget_bias=forget_bias, cell_clip=cell_clip, proj_clip=proj_clip)
