#!/usr/bin/env python3
"""Converts an ONNX model with constant, block-quantised int8 weights to a plain fp32 model OpenCV 4.6 can read.

Usage: scripts/convert-onnx-model.py INPUT.onnx OUTPUT.onnx   (needs the PyPI packages onnx and numpy; scripts/setup
installs the pinned versions into .local/onnx-tools and runs this for the YuNet and SFace models of OpenCV Zoo)

OpenCV 4.6's ONNX importer knows neither DequantizeLinear's block_size (opset 21) nor weights computed by nodes
("Blob ... not found in const blobs"). So every DequantizeLinear whose inputs are all initializers is evaluated here,
together with a Reshape that follows it with a constant shape, and replaced by an fp32 initializer; Dropout (an
identity at inference) is removed; graph inputs that are initializers or feed nothing, and initializers and nodes
nothing uses, are dropped; the default-domain opset becomes 11, the lowest that has YuNet's Resize, and
onnx.checker.check_model(full_check=True) must accept the result. The output depends only on the input: the same
file gives the same bytes (scripts/setup checks them against models/SHA256SUMS).
"""

import os
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

TARGET_OPSET = 11
# The operators the converted graph may hold: each means the same at opset 11 as at the originals' opset 21 for what
# these models use (each node's attributes and inputs are checked against its opset-11 schema below), so lowering the
# opset cannot silently change a node. (onnx's reference evaluator runs BatchNormalization 9 as in training; OpenCV
# and the specification do not.)
KNOWN_OPS = {"Add", "BatchNormalization", "Concat", "Conv", "Flatten", "Gemm", "MaxPool", "Mul", "PRelu", "Relu",
             "Reshape", "Resize", "Sigmoid", "Sub", "Transpose"}
PRODUCER = "facegate scripts/convert-onnx-model.py"
PRODUCER_VERSION = "1"


def fail(message):
    sys.exit(f"convert-onnx-model: {message}")


def dequantize(x, scale, zero_point, axis, block_size):
    """DequantizeLinear (opset 21) on constants: per tensor, per axis, or blocked along `axis`."""
    if scale.dtype != np.float32:
        fail(f"scale of type {scale.dtype}, expected float32")
    if zero_point is None:
        zero_point = np.zeros(scale.shape, dtype=x.dtype)
    if zero_point.shape != scale.shape:
        fail(f"zero point shape {zero_point.shape} differs from scale shape {scale.shape}")
    if scale.ndim == 0:
        pass
    elif block_size == 0:
        if scale.ndim != 1:
            fail("per-axis scale that is not 1-D")
        axis = axis % x.ndim
        shape = [1] * x.ndim
        shape[axis] = scale.shape[0]
        scale, zero_point = scale.reshape(shape), zero_point.reshape(shape)
    else:
        axis = axis % x.ndim
        if scale.ndim != x.ndim or -(-x.shape[axis] // block_size) != scale.shape[axis]:
            fail(f"blocked scale of shape {scale.shape} does not fit data {x.shape} with block {block_size}")
        scale = np.repeat(scale, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
        zero_point = np.repeat(zero_point, block_size, axis=axis).take(range(x.shape[axis]), axis=axis)
    # (x - zero_point) is an exact integer in float32; one rounding, in the product, as the ONNX reference does.
    return ((x.astype(np.float32) - zero_point.astype(np.float32)) * scale).astype(np.float32)


def reshape(data, shape):
    """Reshape (allowzero = 0) on a constant: 0 copies the input's dimension, -1 is inferred."""
    dims = [int(data.shape[i]) if d == 0 else int(d) for i, d in enumerate(shape)]
    return data.reshape(dims)


def convert(model):
    graph = model.graph
    if any(f.data_location == onnx.TensorProto.EXTERNAL for f in graph.initializer):
        fail("initializers stored outside the file are not supported")
    if len(model.functions) or any(o.domain not in ("", "ai.onnx") for o in model.opset_import):
        fail("model functions or operator domains other than the default are not supported")
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    folded = {}  # tensor name -> fp32 array computed here

    def consumers(name):
        return [n for n in graph.node if name in n.input]

    nodes = []
    for node in graph.node:
        ins = [i for i in node.input if i]
        if node.op_type == "DequantizeLinear" and all(i in constants or i in folded for i in ins):
            attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
            if set(attrs) - {"axis", "block_size"}:
                fail(f"{node.name}: unexpected attributes {sorted(attrs)}")
            x, scale, zero_point = [folded[i] if i in folded else constants[i] if i else None
                                    for i in list(node.input) + [""] * (3 - len(node.input))]
            folded[node.output[0]] = dequantize(x, scale, zero_point, attrs.get("axis", 1), attrs.get("block_size", 0))
        elif (node.op_type == "Reshape" and node.input[0] in folded and node.input[1] in constants
              and not any(a.name == "allowzero" and a.i for a in node.attribute)):
            folded[node.output[0]] = reshape(folded[node.input[0]], constants[node.input[1]])
        elif node.op_type == "Dropout":
            if len(node.output) > 1 and node.output[1] and consumers(node.output[1]):
                fail(f"{node.name}: the Dropout mask is used")
            if node.output[0] in {o.name for o in graph.output}:
                fail(f"{node.name}: a Dropout output is a graph output")
            for other in graph.node:
                for k, name in enumerate(other.input):
                    if name == node.output[0]:
                        other.input[k] = node.input[0]
        else:
            nodes.append(node)

    # Keep only what the graph outputs need: nodes, then folded tensors and initializers they read.
    needed = {o.name for o in graph.output}
    kept = []
    for node in reversed(nodes):
        if any(o in needed for o in node.output):
            kept.append(node)
            needed.update(i for i in node.input if i)
    kept.reverse()
    produced = {o for n in kept for o in n.output}

    initializers = [t for t in graph.initializer if t.name in needed and t.name not in folded]
    # Folded tensors take the initializers' place in the order their nodes had in the graph.
    initializers += [numpy_helper.from_array(folded[name], name) for name in folded if name in needed]
    inputs = [i for i in graph.input if i.name in needed and i.name not in {t.name for t in initializers}]
    value_info = [v for v in graph.value_info if v.name in produced]
    missing = needed - produced - {t.name for t in initializers} - {i.name for i in inputs}
    if missing:
        fail(f"tensors nobody produces: {sorted(missing)}")

    for field, items in (("node", kept), ("initializer", initializers), ("input", inputs), ("value_info", value_info)):
        graph.ClearField(field)
        getattr(graph, field).extend(items)
    graph.ClearField("sparse_initializer")

    ops = {n.op_type for n in graph.node}
    if ops - KNOWN_OPS:
        fail(f"operators not checked for opset {TARGET_OPSET}: {sorted(ops - KNOWN_OPS)}")
    for node in graph.node:
        schema = onnx.defs.get_schema(node.op_type, TARGET_OPSET)
        unknown = {a.name for a in node.attribute} - set(schema.attributes)
        if unknown:
            fail(f"{node.name} ({node.op_type}): attributes {sorted(unknown)} do not exist in opset {TARGET_OPSET}")
        if not schema.min_input <= len(node.input) <= schema.max_input:
            fail(f"{node.name} ({node.op_type}): {len(node.input)} inputs, opset {TARGET_OPSET} takes "
                 f"{schema.min_input} to {schema.max_input}")
    model.ClearField("opset_import")
    model.opset_import.extend([helper.make_opsetid("", TARGET_OPSET)])
    model.ir_version = 6  # what ONNX 1.6 (opset 11) wrote; OpenCV 4.6 reads it
    model.producer_name, model.producer_version = PRODUCER, PRODUCER_VERSION
    model.ClearField("metadata_props")
    onnx.checker.check_model(model, full_check=True)
    return model


def main():
    if len(sys.argv) != 3:
        fail("usage: convert-onnx-model.py INPUT.onnx OUTPUT.onnx")
    source, target = sys.argv[1:]
    model = convert(onnx.load(source))
    data = model.SerializeToString(deterministic=True)
    with open(target, "wb") as f:
        f.write(data)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f"{os.path.basename(source)} -> {os.path.basename(target)}: {len(data)} bytes, {len(model.graph.node)} nodes "
          f"({', '.join(ops)}), opset {TARGET_OPSET}", file=sys.stderr)


if __name__ == "__main__":
    main()
