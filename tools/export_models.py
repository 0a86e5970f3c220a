"""Export the example candidate networks of candidates.py to ONNX, plus a manifest.json per folder.

Usage: /usr/bin/python3 tools/export_models.py [--out DIR]

Every image model takes `input` [batch,1,28,28] float32 and returns `logits` [batch,10];
text/text_classifier.onnx and text/text_lstm.onnx take `input` [batch,32] int64 token ids (0 = padding) and
return `logits` [batch,4]. The output is byte-identical across reruns. Each file is checked with onnx.checker and with a
small protobuf reader that does not use the onnx package.
"""

import argparse
import collections
import io
import json
import warnings
from pathlib import Path

import onnx
import torch
from onnx import numpy_helper

import candidates
from protobuf_wire import fields

TRAINING = torch.onnx.TrainingMode.TRAINING
EVAL = torch.onnx.TrainingMode.EVAL

# (file, architecture, export mode, opset). torch 1.13 accepts training-mode export at
# opset 9 (with a warning), so no eval-mode fallback is needed for resnet_tiny_opset9.
EXPORTS = [
    ("nb201_a.onnx", "nb201_a", TRAINING, 17),
    ("nb201_b.onnx", "nb201_b", TRAINING, 17),
    ("nb201_c.onnx", "nb201_c", TRAINING, 17),
    ("resnet_tiny.onnx", "resnet_tiny", TRAINING, 17),
    ("mobilenet_tiny.onnx", "mobilenet_tiny", TRAINING, 17),
    ("mlp_matmul.onnx", "mlp_matmul", TRAINING, 17),
    ("vit_tiny.onnx", "vit_tiny", TRAINING, 17),
    ("resnet_tiny_eval.onnx", "resnet_tiny", EVAL, 17),
    ("nb201_a_opset11.onnx", "nb201_a", TRAINING, 11),
    ("resnet_tiny_opset9.onnx", "resnet_tiny", TRAINING, 9),
    # opset 12: LayerNorm decomposed with the pre-13 attribute forms (ReduceMean axes, Unsqueeze), GELU as Erf
    ("mixer_tiny.onnx", "mixer_tiny", TRAINING, 12),
    # opset 14: LayerNorm exported as its decomposition (ReduceMean/Sub/Pow/Sqrt/Div), GELU as Erf
    ("text/text_classifier.onnx", "text_classifier", TRAINING, 14),
    # opset 14: a bidirectional LSTM whose W, R and B the exporter slices and concatenates from the module's parameters
    ("text/text_lstm.onnx", "text_lstm", TRAINING, 14),
]


def export(module, mode, opset, sample_shape=(1, 28, 28), dtype=torch.float32):
    """Export `module` (input [batch, *sample_shape] of dtype; int64 means token ids) and return
    the ModelProto, holding exactly the module's current weights."""
    state = {name: t.detach().clone() for name, t in module.state_dict().items()}
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        # Expected noise: "removing mutation of num_batches_tracked", "training mode at opset < 12".
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(
            module,
            # batch of 2: BatchNorm1d cannot trace a batch of 1 in train mode; token id 1, not padding
            torch.zeros(2, *sample_shape) if dtype.is_floating_point else torch.ones(2, *sample_shape, dtype=dtype),
            buffer,
            input_names=["input"],
            output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
            opset_version=opset,
            training=mode,
            # Training mode keeps every weight as is; eval mode uses the defaults (BN folded).
            do_constant_folding=mode != TRAINING,
        )
    model = onnx.load_from_string(buffer.getvalue())
    # Tracing in train mode runs a forward pass that updates the BatchNorm running
    # statistics, and the exporter writes those updated values. Put back the values the
    # module had before export, so the file matches candidates.build().
    for init in model.graph.initializer:
        if init.name in state:
            init.CopyFrom(numpy_helper.from_array(state[init.name].numpy(), init.name))
    return model


def raw_op_histogram(data):
    """Node op_type counts of a serialized ModelProto, read without the onnx package
    (ModelProto.graph = 7, GraphProto.node = 1, NodeProto.op_type = 4)."""
    counts = collections.Counter()
    for field, graph, _, _ in fields(data):
        if field == 7:
            for field, node, _, _ in fields(graph):
                if field == 1:
                    counts.update(value.decode() for field, value, _, _ in fields(node) if field == 4)
    return counts


def check(path, module, mode):
    """Validate an exported file; return its op histogram. Training-mode exports must keep one
    BatchNormalization node per BatchNorm module, eval-mode exports must have folded them all."""
    data = path.read_bytes()
    model = onnx.load_from_string(data)
    onnx.checker.check_model(model, full_check=True)
    histogram = raw_op_histogram(data)
    assert histogram == collections.Counter(n.op_type for n in model.graph.node), path
    batchnorms = sum(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in module.modules())
    expected = batchnorms if mode == TRAINING else 0
    assert histogram["BatchNormalization"] == expected, (path, histogram["BatchNormalization"], expected)
    return histogram


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "models")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    manifests = collections.defaultdict(list)  # one manifest.json per folder, naming its own files
    for file, architecture, mode, opset in EXPORTS:
        module, seed = candidates.build(architecture)  # fresh module: same weights for every variant
        path = args.out / file
        path.parent.mkdir(exist_ok=True)
        dtype = candidates.INPUT_DTYPES.get(architecture, torch.float32)
        onnx.save(export(module, mode, opset, candidates.INPUT_SHAPES[architecture], dtype), str(path))
        histogram = check(path, module, mode)
        manifests[path.parent].append({
            "file": path.name,
            "architecture": architecture,
            "export_mode": "training" if mode == TRAINING else "eval",
            "opset": opset,
            "torch_params": sum(p.numel() for p in module.parameters()),
            "seed": seed,
        })
        print(f"{file}: {path.stat().st_size} bytes, BatchNormalization x{histogram['BatchNormalization']}")
        print("  " + ", ".join(f"{op} {n}" for op, n in sorted(histogram.items())))

    for folder, manifest in manifests.items():
        (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


if __name__ == "__main__":
    main()
