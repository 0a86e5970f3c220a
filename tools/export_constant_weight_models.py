"""Write two example graphs whose weights are not initializers, without PaddlePaddle:

Usage: /usr/bin/python3 tools/export_constant_weight_models.py [--out models]

* OUT/paddle/paddle_cnn.onnx, shaped like a paddle2onnx export of a small Paddle CNN
  (PaddlePaddle is not installable here, so it is built node by node with onnx.helper):
  - producer_name "PaddlePaddle", opset 11, input "x" [N,1,28,28], output named like Paddle's
    inference programs ("save_infer_model/scale_0.tmp_0");
  - every parameter as a Constant node (as paddle2onnx did before it wrote initializers), named
    the Paddle way (conv2d_0.w_0, conv2d_0.b_0, batch_norm_0.w_0/.b_0/.w_1/.w_2, linear_0.w_0);
  - small constant subgraphs between a parameter and its layer: the conv bias as Add of
    Reshape(bias, Constant [1,C,1,1]) or Unsqueeze(bias, axes 0,2,3) after a Conv without bias
    (Paddle's elementwise_add with axis=1), a float16 weight Cast to float32, a Linear as MatMul
    by the [in, out] weight plus Add;
  - inference-form BatchNormalization, a depthwise Conv, MaxPool, GlobalAveragePool, Flatten;
  - weights drawn the way Paddle initializes them (conv Normal(0, sqrt(2/(in*k*k))), Linear
    Xavier-uniform, biases non-zero so verify compares something).
* OUT/light/resnet_tiny_light.onnx: models/resnet_tiny.onnx made "light" the way ONNX's
  onnx.tools.replace_constants.replace_initializer_by_constant_of_shape does (onnx >= 1.14;
  Debian has 1.12): every initializer of more than 128 elements becomes
  ConstantOfShape(<name>__SHAPE) filled with 0.5, so the file keeps the architecture but not
  the weights.

Both folders get a manifest.json with each file's trainable parameter count. Weights are drawn
from a fixed numpy seed, so reruns write byte-identical files.
"""

import argparse
import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parent.parent
PADDLE_OPSET = 11
LIGHT_THRESHOLD = 128
LIGHT_VALUE = 0.5


class PaddleGraph:
    """Nodes and parameter counts of a paddle2onnx-style graph; parameters are Constant nodes."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.nodes = []
        self.params = 0

    def constant(self, name, array, parameter=True):
        self.nodes.append(helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name)))
        self.params += array.size if parameter else 0
        return name

    def node(self, op, inputs, output, **attrs):
        self.nodes.append(helper.make_node(op, inputs, [output], **attrs))
        return output

    def conv(self, prefix, x, c_in, c_out, k, stride=1, groups=1, bias_form="reshape", half=False):
        """Conv without bias, then Add of the bias broadcast over [1,C,1,1] as Paddle writes it."""
        std = np.sqrt(2.0 / (c_in * k * k))  # paddle.nn.Conv2D's default Normal
        w = self.rng.normal(0, std, (c_out, c_in // groups, k, k)).astype(np.float16 if half else np.float32)
        weight = self.constant(f"{prefix}.w_0", w)
        if half:
            weight = self.node("Cast", [weight], f"{prefix}.w_0.cast", to=TensorProto.FLOAT)
        y = self.node("Conv", [x, weight], f"{prefix}.tmp_0", kernel_shape=[k, k], strides=[stride, stride],
                      pads=[k // 2] * 4, group=groups, dilations=[1, 1])
        b = self.constant(f"{prefix}.b_0", self.rng.uniform(-0.1, 0.1, c_out).astype(np.float32))
        if bias_form == "reshape":
            shape = self.constant(f"{prefix}.b_0.shape", np.array([1, c_out, 1, 1], dtype=np.int64), parameter=False)
            b = self.node("Reshape", [b, shape], f"{prefix}.b_0.reshaped")
        else:
            b = self.node("Unsqueeze", [b], f"{prefix}.b_0.unsqueezed", axes=[0, 2, 3])
        return self.node("Add", [y, b], f"{prefix}.tmp_1")

    def batch_norm(self, prefix, x, c):
        names = [self.constant(f"{prefix}.w_0", self.rng.uniform(0.5, 1.5, c).astype(np.float32)),
                 self.constant(f"{prefix}.b_0", self.rng.uniform(-0.2, 0.2, c).astype(np.float32)),
                 self.constant(f"{prefix}.w_1", self.rng.uniform(-0.1, 0.1, c).astype(np.float32), parameter=False),
                 self.constant(f"{prefix}.w_2", self.rng.uniform(0.5, 1.5, c).astype(np.float32), parameter=False)]
        return self.node("BatchNormalization", [x, *names], f"{prefix}.tmp_2", epsilon=1e-5, momentum=0.9)

    def linear(self, prefix, x, c_in, c_out, output):
        limit = np.sqrt(6.0 / (c_in + c_out))  # Xavier-uniform, paddle.nn.Linear's default
        w = self.constant(f"{prefix}.w_0", self.rng.uniform(-limit, limit, (c_in, c_out)).astype(np.float32))
        b = self.constant(f"{prefix}.b_0", self.rng.uniform(-0.1, 0.1, c_out).astype(np.float32))
        return self.node("Add", [self.node("MatMul", [x, w], f"{prefix}.tmp_0"), b], output)


def paddle_cnn():
    g = PaddleGraph(seed=11)
    x = g.conv("conv2d_0", "x", 1, 8, 3)
    x = g.node("Relu", [g.batch_norm("batch_norm_0", x, 8)], "relu_0.tmp_0")
    x = g.node("MaxPool", [x], "pool2d_0.tmp_0", kernel_shape=[2, 2], strides=[2, 2])
    x = g.node("Relu", [g.conv("conv2d_1", x, 8, 8, 3, groups=8, bias_form="unsqueeze", half=True)], "relu_1.tmp_0")
    x = g.conv("conv2d_2", x, 8, 16, 1, stride=2)
    x = g.node("Relu", [g.batch_norm("batch_norm_1", x, 16)], "relu_2.tmp_0")
    x = g.node("GlobalAveragePool", [x], "pool2d_1.tmp_0")
    x = g.node("Flatten", [x], "flatten_0.tmp_0", axis=1)
    out = g.linear("linear_0", x, 16, 10, "save_infer_model/scale_0.tmp_0")
    graph = helper.make_graph(
        g.nodes, "paddle_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, 28, 28])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, ["N", 10])])
    model = helper.make_model(graph, producer_name="PaddlePaddle", producer_version="2.4.2",
                              opset_imports=[helper.make_opsetid("", PADDLE_OPSET)])
    model.ir_version = 6
    return model, g.params


def light(model):
    """replace_initializer_by_constant_of_shape, as in ONNX's tools: big initializers become ConstantOfShape."""
    graph = model.graph
    kept, nodes = [], []
    for init in graph.initializer:
        array = numpy_helper.to_array(init)
        if array.size <= LIGHT_THRESHOLD:
            kept.append(init)
            continue
        shape = numpy_helper.from_array(np.array(array.shape, dtype=np.int64), f"{init.name}__SHAPE")
        kept.append(shape)
        value = numpy_helper.from_array(np.array([LIGHT_VALUE], dtype=array.dtype), "value")
        nodes.append(helper.make_node("ConstantOfShape", [shape.name], [init.name], value=value))
    del graph.initializer[:]
    graph.initializer.extend(kept)
    all_nodes = nodes + list(graph.node)
    del graph.node[:]
    graph.node.extend(all_nodes)
    return model


def save(model, path, params, manifest):
    onnx.checker.check_model(model, full_check=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(model.SerializeToString())
    manifest.setdefault(path.parent, []).append({"file": path.name, "producer": model.producer_name, "params": params})
    print(f"{path}: {path.stat().st_size} bytes, {params} trainable parameters, "
          f"{sum(n.op_type in ('Constant', 'ConstantOfShape') for n in model.graph.node)} constant nodes")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=REPO / "models")
    args = parser.parse_args()
    manifest = {}
    model, params = paddle_cnn()
    save(model, args.out / "paddle" / "paddle_cnn.onnx", params, manifest)
    torch_params = {m["file"]: m["torch_params"] for m in json.loads((REPO / "models" / "manifest.json").read_text())}
    save(light(onnx.load(str(REPO / "models" / "resnet_tiny.onnx"))), args.out / "light" / "resnet_tiny_light.onnx",
         torch_params["resnet_tiny.onnx"], manifest)
    for folder, entries in manifest.items():
        (folder / "manifest.json").write_text(json.dumps(entries, indent=2) + "\n")


if __name__ == "__main__":
    main()
