"""Write small ONNX graphs shaped like tf2onnx exports of Keras models, without TensorFlow.

Usage: /usr/bin/python3 tools/export_tf2onnx_style.py --out DIR

TensorFlow is not available here, so the graphs are built node by node with onnx.helper,
reproducing the patterns tf2onnx (and keras2onnx) leave in a converted Keras model:

* producer_name "tf2onnx", opset 13, graph inputs in Keras' NHWC layout with the batch axis
  symbolic and named "unk__N" (tf2onnx names unknown dims unk__<number>);
* Transpose(perm 0,3,1,2) after the NHWC input, since ONNX Conv is NCHW; where tf2onnx's
  transpose optimizer cannot push the transposes through, each Conv stays wrapped in
  Transpose(0,3,1,2) -> Conv -> Transpose(0,2,3,1) (the "NHWC Conv" pattern);
* padding="same" both as explicit, possibly asymmetric pads (tf2onnx computes them when the
  spatial shape is known: extra pad at the end, like SAME_UPPER) and as auto_pad SAME_UPPER
  (what it writes when the shape is unknown);
* BatchNormalization in its inference form (scale, B, mean, var initializers; Keras'
  epsilon 1e-3), as tf2onnx exports a Keras BatchNormalization layer;
* DepthwiseConv2D as Conv with group = channels, kernel [C*multiplier, 1, kh, kw];
* GlobalAveragePooling2D as ReduceMean over the spatial axes (keepdims 0), or as
  GlobalAveragePool + Squeeze;
* Dense as MatMul by a Keras [in, out] kernel followed by Add of the bias;
* Flatten as Reshape whose shape comes from a Constant node.

Weights are drawn with a fixed numpy seed, so reruns write byte-identical files.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 13
BATCH = "unk__N"  # tf2onnx's name for the unknown batch dimension


def glorot(rng, shape, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def batch_norm(rng, prefix, channels, inits):
    """Keras BatchNormalization as tf2onnx exports it: inference form, non-trivial statistics so verify compares something."""
    names = [f"{prefix}/gamma", f"{prefix}/beta", f"{prefix}/moving_mean", f"{prefix}/moving_variance"]
    inits += [
        init(names[0], rng.uniform(0.5, 1.5, channels).astype(np.float32)),
        init(names[1], rng.uniform(-0.2, 0.2, channels).astype(np.float32)),
        init(names[2], rng.uniform(-0.1, 0.1, channels).astype(np.float32)),
        init(names[3], rng.uniform(0.5, 1.5, channels).astype(np.float32)),
    ]
    return names


def dense(rng, prefix, x, n_in, n_out, inits, nodes, out):
    """Keras Dense: tf2onnx writes MatMul by the [in, out] kernel, then Add of the bias."""
    inits += [init(f"{prefix}/kernel", glorot(rng, (n_in, n_out), n_in, n_out)),
              init(f"{prefix}/bias", rng.uniform(-0.1, 0.1, n_out).astype(np.float32))]
    nodes += [helper.make_node("MatMul", [x, f"{prefix}/kernel"], [f"{prefix}/MatMul:0"], name=f"{prefix}/MatMul"),
              helper.make_node("Add", [f"{prefix}/MatMul:0", f"{prefix}/bias"], [out], name=f"{prefix}/BiasAdd")]


def model(graph):
    m = helper.make_model(graph, producer_name="tf2onnx", producer_version="1.9.3",
                          opset_imports=[helper.make_opsetid("", OPSET)])
    m.ir_version = 7
    onnx.checker.check_model(m)
    return m


def nhwc_input(name="input_1"):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, [BATCH, 28, 28, 1])


def logits_output():
    return helper.make_tensor_value_info("dense", TensorProto.FLOAT, [BATCH, 10])


def keras_cnn(rng):
    """Transposes pushed to the input: NHWC input -> one Transpose -> NCHW Conv stack -> GlobalAveragePool+Squeeze -> Dense."""
    c = 8
    inits, nodes = [], []
    # Conv2D(8, 3, strides=2, padding="same"): auto_pad SAME_UPPER (28 -> 14, total pad 1: asymmetric).
    inits += [init("conv2d/kernel", glorot(rng, (c, 1, 3, 3), 9, 9 * c)),
              init("conv2d/bias", rng.uniform(-0.1, 0.1, c).astype(np.float32))]
    nodes += [
        helper.make_node("Transpose", ["input_1"], ["input_1_nchw"], name="Transpose__6", perm=[0, 3, 1, 2]),
        helper.make_node("Conv", ["input_1_nchw", "conv2d/kernel", "conv2d/bias"], ["conv2d"], name="conv2d/Conv2D",
                         auto_pad="SAME_UPPER", strides=[2, 2], kernel_shape=[3, 3], dilations=[1, 1]),
        helper.make_node("BatchNormalization", ["conv2d"] + batch_norm(rng, "batch_normalization", c, inits), ["bn"],
                         name="batch_normalization/FusedBatchNormV3", epsilon=1e-3),
        helper.make_node("Relu", ["bn"], ["relu"], name="re_lu/Relu"),
    ]
    # DepthwiseConv2D(3, strides=2, padding="same"), multiplier 1: group = channels, explicit asymmetric SAME pads
    # (14 -> 7, total pad 1, at the end as TF puts it).
    inits.append(init("depthwise_conv2d/depthwise_kernel", glorot(rng, (c, 1, 3, 3), 9 * c, 9)))
    nodes += [
        helper.make_node("Conv", ["relu", "depthwise_conv2d/depthwise_kernel"], ["dw"], name="depthwise_conv2d/depthwise",
                         group=c, pads=[0, 0, 1, 1], strides=[2, 2], kernel_shape=[3, 3], dilations=[1, 1]),
        helper.make_node("Relu", ["dw"], ["relu_1"], name="re_lu_1/Relu"),
        # GlobalAveragePooling2D once the transposes are gone: GlobalAveragePool + Squeeze (opset 13: axes as an input).
        helper.make_node("GlobalAveragePool", ["relu_1"], ["gap"], name="global_average_pooling2d/Mean"),
        helper.make_node("Constant", [], ["squeeze_axes"], name="Const__12",
                         value=numpy_helper.from_array(np.array([2, 3], np.int64))),
        helper.make_node("Squeeze", ["gap", "squeeze_axes"], ["pooled"], name="global_average_pooling2d/Squeeze"),
    ]
    dense(rng, "dense", "pooled", c, 10, inits, nodes, "dense")
    return model(helper.make_graph(nodes, "keras_cnn", [nhwc_input()], [logits_output()], inits))


def keras_cnn_nhwc_conv(rng):
    """The NHWC Conv pattern: every Conv wrapped in Transpose in / Transpose out, activations and pooling in NHWC."""
    c, mult = 8, 2
    inits, nodes = [], []

    def nhwc_conv(name, x, w, b, out, **attrs):
        conv_in = [f"{name}__in", w] + ([b] if b else [])
        nodes.extend([
            helper.make_node("Transpose", [x], [f"{name}__in"], name=f"{name}__Transpose_in", perm=[0, 3, 1, 2]),
            helper.make_node("Conv", conv_in, [f"{name}__out"], name=name, **attrs),
            helper.make_node("Transpose", [f"{name}__out"], [out], name=f"{name}__Transpose_out", perm=[0, 2, 3, 1]),
        ])

    # Conv2D(8, 3, strides=2, padding="same") with explicit asymmetric SAME pads.
    inits += [init("conv2d/kernel", glorot(rng, (c, 1, 3, 3), 9, 9 * c)),
              init("conv2d/bias", rng.uniform(-0.1, 0.1, c).astype(np.float32))]
    nhwc_conv("conv2d/Conv2D", "input_1", "conv2d/kernel", "conv2d/bias", "conv2d",
              pads=[0, 0, 1, 1], strides=[2, 2], kernel_shape=[3, 3], dilations=[1, 1])
    nodes.append(helper.make_node("Relu", ["conv2d"], ["relu"], name="conv2d/Relu"))
    # DepthwiseConv2D(3, depth_multiplier=2, padding="same"), stride 1, auto_pad SAME_UPPER: kernel [C*2, 1, 3, 3].
    inits += [init("depthwise_conv2d/depthwise_kernel", glorot(rng, (c * mult, 1, 3, 3), 9 * c, 9 * mult)),
              init("depthwise_conv2d/bias", rng.uniform(-0.1, 0.1, c * mult).astype(np.float32))]
    nhwc_conv("depthwise_conv2d/depthwise", "relu", "depthwise_conv2d/depthwise_kernel", "depthwise_conv2d/bias", "dw",
              group=c, auto_pad="SAME_UPPER", strides=[1, 1], kernel_shape=[3, 3], dilations=[1, 1])
    nodes += [
        helper.make_node("Relu", ["dw"], ["relu_1"], name="depthwise_conv2d/Relu"),
        # GlobalAveragePooling2D on NHWC: ReduceMean over H, W with the axes attribute (opset 13), keepdims 0.
        helper.make_node("ReduceMean", ["relu_1"], ["pooled"], name="global_average_pooling2d/Mean", axes=[1, 2], keepdims=0),
    ]
    dense(rng, "dense", "pooled", c * mult, 10, inits, nodes, "dense")
    return model(helper.make_graph(nodes, "keras_cnn_nhwc_conv", [nhwc_input()], [logits_output()], inits))


def keras_mlp(rng):
    """Flatten -> Dense(32, relu) -> Dense(10): Reshape by a Constant shape, MatMul + Add twice."""
    inits, nodes = [], []
    nodes.append(helper.make_node("Constant", [], ["flatten/Const:0"], name="flatten/Const",
                                  value=numpy_helper.from_array(np.array([-1, 784], np.int64))))
    nodes.append(helper.make_node("Reshape", ["input_1", "flatten/Const:0"], ["flatten"], name="flatten/Reshape"))
    dense(rng, "dense", "flatten", 784, 32, inits, nodes, "dense/BiasAdd:0")
    nodes.append(helper.make_node("Relu", ["dense/BiasAdd:0"], ["dense/Relu:0"], name="dense/Relu"))
    dense(rng, "dense_1", "dense/Relu:0", 32, 10, inits, nodes, "dense")
    return model(helper.make_graph(nodes, "keras_mlp", [nhwc_input()], [logits_output()], inits))


GRAPHS = [("keras_cnn.onnx", keras_cnn), ("keras_cnn_nhwc_conv.onnx", keras_cnn_nhwc_conv), ("keras_mlp.onnx", keras_mlp)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for i, (file, build) in enumerate(GRAPHS):
        (args.out / file).write_bytes(build(np.random.default_rng(1000 + i)).SerializeToString())
        print(args.out / file)


if __name__ == "__main__":
    main()
