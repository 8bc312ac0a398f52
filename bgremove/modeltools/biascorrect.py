"""Bias correction of the int8 file's weight rounding (Nagel et al., "Data-Free Quantization
Through Weight Equalization and Bias Correction", 2019, section 4.2, the empirical variant).

Rounding a convolution's weights W to 7 or 8 bits (W_q) moves its output by (W_q - W) x. The
rounding errors of a channel's few weights (nine in a depthwise 3x3) do not cancel, and the
inputs after ReLU6 or a sigmoid gate have a non-zero mean, so the move has a non-zero mean too:
(W_q - W) E[x], up to 0.8 in a channel of EfficientNet-lite0's block 0 projection (stage 20's
soup). Those shifts add up through the network into a bias of its output: with every
activation in fp32, the rounded weights alone cost 0.0062 IoU on val/davis
(extra foreground in a crowd), most of the int8 file's 0.0071. Lowering each bias by (W_q - W)
E[x], E[x] the mean of each input channel over the calibration photos, removes the mean of the
move; the weights are left as they are, so quantisation rounds them exactly as before.

Measured on stage 20's soup, 120 selection photos from the training pools, never val/
(`python -m train.quant_sensitivity runs/soup20/e3-t-ship.onnx --run runs/distil-tail
--calibration ../shared/data/train/ccp/images --out DIR --no-sweep [--no-bias-correction]`),
the shipped recipe: mean |int8 - fp32| 0.00651 -> 0.00398, mask IoU 0.9774 -> 0.9825, worst
photo 0.41 -> 0.63; every layer in int8: 0.01152 -> 0.00813.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np


def dequantised_weights(int8_path: str | Path) -> dict[str, np.ndarray]:
    """{convolution node name: its weights as the int8 file rounds them} for every int8 conv."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(int8_path)).graph
    inits = {i.name: i for i in graph.initializer}
    producer = {o: n for n in graph.node for o in n.output}
    rounded = {}
    for conv in (n for n in graph.node if n.op_type == "Conv"):
        dq = producer.get(conv.input[1])
        if dq is None or dq.op_type != "DequantizeLinear" or dq.input[0] not in inits:
            continue  # kept in fp32
        q, scale, zero = (numpy_helper.to_array(inits[name]).astype(np.float64) for name in dq.input[:3])
        per_channel = [-1] + [1] * (q.ndim - 1)  # axis 0, the output channels
        rounded[conv.name] = (q - zero.reshape(per_channel)) * scale.reshape(per_channel)
    return rounded


def bias_shift(weight_error: np.ndarray, input_mean: np.ndarray, group: int) -> np.ndarray:
    """Mean output change per output channel of a (grouped) convolution whose weights moved by
    weight_error (O x C/group x kh x kw), for inputs whose channels have means input_mean (C)."""
    out_channels, per_group = weight_error.shape[:2]
    means = input_mean.reshape(group, per_group)[np.arange(out_channels) // (out_channels // group)]
    return np.einsum("oc,oc->o", weight_error.sum(axis=(2, 3)), means)


def input_channel_means(fp32, tensors: list[str],
                        batches: Iterable[np.ndarray]) -> dict[str, np.ndarray]:
    """Mean of each channel of the named tensors over the batches (NCHW), the fp32 model (an
    onnx ModelProto, left as it is) run with those tensors as extra outputs."""
    import onnx

    from bgremove.inference.backends import import_onnxruntime

    ort = import_onnxruntime()
    model = onnx.ModelProto()
    model.CopyFrom(fp32)
    known = {o.name for o in model.graph.output}
    model.graph.output.extend(onnx.helper.make_tensor_value_info(t, onnx.TensorProto.FLOAT, None)
                              for t in tensors if t not in known)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feed = session.get_inputs()[0].name
    sums, count = dict.fromkeys(tensors, 0.0), 0
    for batch in batches:
        for name, value in zip(tensors, session.run(tensors, {feed: batch}), strict=True):
            sums[name] = sums[name] + value.astype(np.float64).mean(axis=(2, 3)).sum(axis=0)
        count += len(batch)
    return {name: total / max(count, 1) for name, total in sums.items()}


def correct_biases(fp32_path: str | Path, int8_path: str | Path, batches: Iterable[np.ndarray],
                   output: str | Path) -> int:
    """Write fp32_path with each int8 convolution's bias lowered by its rounding's mean output
    change (int8_path says how each is rounded); returns how many biases changed."""
    import onnx
    from onnx import numpy_helper

    rounded = dequantised_weights(int8_path)
    model = onnx.load(str(fp32_path))
    inits = {i.name: i for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.name in rounded and len(n.input) == 3
             and n.input[1] in inits and n.input[2] in inits]
    means = input_channel_means(model, sorted({n.input[0] for n in convs}), batches)
    for conv in convs:
        weight = numpy_helper.to_array(inits[conv.input[1]]).astype(np.float64)
        group = next((a.i for a in conv.attribute if a.name == "group"), 1)
        shift = bias_shift(rounded[conv.name] - weight, means[conv.input[0]], group)
        bias = numpy_helper.to_array(inits[conv.input[2]]).astype(np.float64)
        inits[conv.input[2]].CopyFrom(numpy_helper.from_array((bias - shift).astype(np.float32),
                                                              conv.input[2]))
    onnx.save(model, str(output))
    return len(convs)
