"""Map frameworks' LSTM parameter layouts onto the canonical one (NumPy only).

These functions take plain name -> array mappings, however they were read from disk, and
return an :class:`~lstm_viz.engine.LSTM`. Each mapping was checked against the framework
itself (see ``tests/fixtures/generate_fixtures.py``):

- PyTorch ``nn.LSTM``: ``weight_ih_l{k}`` (4H, D), ``weight_hh_l{k}`` (4H, H_out), biases
  ``bias_ih_l{k}`` + ``bias_hh_l{k}``, gates i, f, g, o; ``weight_hr_l{k}`` (P, H);
  ``_reverse`` for the backward direction.
- TensorFlow 1 ``LSTMCell`` / ``BasicLSTMCell``: ``kernel`` (D + H_out, 4H) with the rows
  for x first, gates i, j (candidate), f, o; ``bias`` (4H,); ``w_i_diag``, ``w_f_diag``,
  ``w_o_diag`` peepholes; ``projection/kernel`` (H, P); ``forget_bias`` is not stored and
  is added at run time (1.0 by default).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

from lstm_viz.engine import LSTM, LSTMLayer
from lstm_viz.engine import provenance as prov
from lstm_viz.errors import ModelError

TORCH_ORDER = ("ifgo", "i, f, g, o")
TF1_ORDER = ("igfo", "i, j, f, o")  # canonical letters of TensorFlow's blocks i, j (candidate), f, o


def _need(arrays: Mapping[str, np.ndarray], key: str, what: str) -> np.ndarray:
    if key not in arrays:
        raise ModelError(f"missing tensor {key!r} ({what})")
    return np.asarray(arrays[key], dtype=np.float64)


def from_torch_state_dict(arrays: Mapping[str, np.ndarray], prefix: str = "") -> LSTM:
    """Build an LSTM from an ``nn.LSTM`` state_dict (keys after ``prefix``)."""
    layer_ids = sorted(
        {int(m.group(1)) for key in arrays if (m := re.fullmatch(re.escape(prefix) + r"weight_ih_l(\d+)", key))}
    )
    if not layer_ids:
        raise ModelError(f"no tensor named {prefix}weight_ih_l0: not an nn.LSTM state_dict")
    if layer_ids != list(range(len(layer_ids))):
        raise ModelError(f"nn.LSTM layers must be numbered 0..n-1, found {layer_ids}")
    layers = []
    described = []
    for k in layer_ids:
        directions = []
        described.append([])
        for suffix in ("", "_reverse"):
            name = f"{prefix}weight_ih_l{k}{suffix}"
            if suffix and name not in arrays:
                break
            w_ih = _need(arrays, name, f"layer {k} input weights")
            w_hh = _need(arrays, f"{prefix}weight_hh_l{k}{suffix}", f"layer {k} recurrent weights")
            b = np.zeros(w_ih.shape[0])
            bias_keys = [f"{prefix}{bias}_l{k}{suffix}" for bias in ("bias_ih", "bias_hh")]
            present = [key for key in bias_keys if key in arrays]
            if len(present) == 1:  # nn.LSTM has both biases (bias=True) or neither (bias=False)
                missing = next(key for key in bias_keys if key not in arrays)
                raise ModelError(
                    f"layer {k}{suffix} has {present[0]!r} but not {missing!r}: nn.LSTM stores both biases or "
                    "neither, so the file is incomplete"
                )
            for key in present:
                b = b + _need(arrays, key, f"layer {k} bias")
            w_hr_key = f"{prefix}weight_hr_l{k}{suffix}"
            W_proj = _need(arrays, w_hr_key, "projection").T if w_hr_key in arrays else None
            try:
                directions.append(LSTMLayer(w_ih.T, w_hh.T, b, W_proj=W_proj))
            except ModelError as exc:
                raise ModelError(f"{prefix}*_l{k}{suffix}: {exc}") from None
            described[-1].append(
                _torch_provenance(arrays, name, f"{prefix}weight_hh_l{k}{suffix}", present, w_hr_key, suffix)
            )
        layers.append(directions[0] if len(directions) == 1 else tuple(directions))
    model = LSTM(layers)
    prov.attach(model, {"framework": "PyTorch", "file": None, "layers": described})
    return model


def _torch_provenance(arrays, w_ih_key, w_hh_key, bias_keys, w_hr_key, suffix) -> dict:
    """Where each block of one nn.LSTM direction sits in the state_dict (rows are gates: transposed)."""
    order, label = TORCH_ORDER

    def t(key, index):
        return prov.term(key, index, np.shape(arrays[key]), order=order, order_label=label)

    transposed = "nn.LSTM stores it transposed, (4H, {}) with a row per gate unit"
    entry = {
        "W_x": prov.block(t(w_ih_key, ["gate_unit", "col"]), note=transposed.format("D")),
        "W_h": prov.block(t(w_hh_key, ["gate_unit", "col"]), note=transposed.format("H_out")),
        "b": prov.block(
            *(t(key, ["gate_unit"]) for key in bias_keys), note=None if bias_keys else "the nn.LSTM has bias=False"
        ),
    }
    if w_hr_key in arrays:
        entry["W_proj"] = prov.block(t(w_hr_key, ["col", "unit"]), note="weight_hr is (P, H): transposed on import")
    if suffix:
        entry["note"] = "The _reverse tensors are the backward direction (it reads the sequence from its end)"
    return entry


def _tf_cell_sort_key(prefix: str):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", prefix)]


def from_tf1_variables(
    arrays: Mapping[str, np.ndarray],
    *,
    forget_bias: float = 1.0,
    cell_clip: float | None = None,
    proj_clip: float | None = None,
) -> LSTM:
    """Build an LSTM from TF1 ``LSTMCell``/``BasicLSTMCell`` variables (one cell per layer).

    Cells are found by their ``.../kernel`` variables and stacked in the order of their
    names (``cell_0``, ``cell_1``, ... under ``MultiRNNCell``). ``forget_bias``,
    ``cell_clip`` and ``proj_clip`` are constructor arguments in TensorFlow, not
    variables, so they are given here.
    """
    prefixes = sorted(
        (key[: -len("/kernel")] for key in arrays if key.endswith("/kernel") and not key.endswith("projection/kernel")),
        key=_tf_cell_sort_key,
    )
    if not prefixes:
        raise ModelError("no '<cell>/kernel' variable: not a TensorFlow LSTM cell checkpoint")
    layers = []
    described = []
    for prefix in prefixes:
        kernel = _need(arrays, f"{prefix}/kernel", "cell kernel")
        bias = _need(arrays, f"{prefix}/bias", "cell bias")
        if kernel.ndim != 2 or bias.ndim != 1 or kernel.shape[1] != bias.shape[0] or bias.shape[0] % 4:
            raise ModelError(f"{prefix}: kernel {kernel.shape} and bias {bias.shape} do not form an LSTM cell")
        H = bias.shape[0] // 4
        proj_key = f"{prefix}/projection/kernel"
        W_proj = _need(arrays, proj_key, "projection") if proj_key in arrays else None
        out = H if W_proj is None else W_proj.shape[1]
        D = kernel.shape[0] - out
        if D <= 0:
            raise ModelError(f"{prefix}/kernel has {kernel.shape[0]} rows, fewer than the state size {out}")
        i, j, f, o = np.split(kernel, 4, axis=1)
        canonical = np.concatenate([i, f, j, o], axis=1)
        bi, bj, bf, bo = np.split(bias, 4)
        peepholes = None
        if f"{prefix}/w_i_diag" in arrays:
            peepholes = np.stack([_need(arrays, f"{prefix}/w_{g}_diag", "peephole") for g in "ifo"])
        layers.append(
            LSTMLayer(
                canonical[:D],
                canonical[D:],
                np.concatenate([bi, bf, bj, bo]),
                peepholes=peepholes,
                W_proj=W_proj,
                cell_clip=cell_clip,
                proj_clip=proj_clip,
                forget_bias=forget_bias,
            )
        )
        described.append([_tf1_provenance(arrays, prefix, D, forget_bias, peepholes is not None, W_proj is not None)])
    model = LSTM(layers)
    prov.attach(model, {"framework": "TensorFlow 1", "file": None, "layers": described})
    return model


def _tf1_provenance(arrays, prefix, D, forget_bias, peepholes, projection) -> dict:
    """Where each block of one TF1 cell sits: one kernel for x (rows 0..D-1) and h (rows D..)."""
    order, label = TF1_ORDER

    def t(key, index, gates=(order, label)):
        return prov.term(key, index, np.shape(arrays[key]), order=gates[0], order_label=gates[1])

    kernel = f"{prefix}/kernel"
    entry = {
        "W_x": prov.block(t(kernel, ["col", "gate_unit"]), note=f"rows 0..{D - 1} of the kernel multiply x"),
        "W_h": prov.block(
            t(kernel, [f"col+{D}", "gate_unit"]), note=f"rows {D}.. of the kernel multiply h(t-1) (x rows come first)"
        ),
        "b": prov.block(
            t(f"{prefix}/bias", ["gate_unit"]),
            gate_notes={
                "f": f"TensorFlow adds forget_bias = {forget_bias:g} to this gate at run time; it is not stored "
                "in the file (lstm-viz keeps it apart, as the layer's forget_bias)"
            },
        ),
    }
    if peepholes:
        entry["peepholes"] = prov.block(
            *(
                prov.term(f"{prefix}/w_{g}_diag", ["unit"], np.shape(arrays[f"{prefix}/w_{g}_diag"]), order=g, gates=g)
                for g in "ifo"
            ),
            note="one diagonal peephole vector per gate (w_i_diag, w_f_diag, w_o_diag)",
        )
    if projection:
        entry["W_proj"] = prov.block(t(f"{prefix}/projection/kernel", ["unit", "col"]))
    return entry
