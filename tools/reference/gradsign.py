"""Reference GradSign scores (Zhang & Jia, "GradSign: Model Performance Inference with
Theoretical Insights", ICLR 2022) for the networks in models/, computed in PyTorch.

Usage:
  /usr/bin/python3 tools/reference/gradsign.py --models models \
      --data models/fashion-mnist-sample.npz --out tools/reference/expected_gradsign.json

Follows the official implementation (get_grad_conflict in cmu-catalyst/GradSign): the
model stays in train() mode; for each sample i alone (a batch of 1) the gradient of the
cross-entropy loss is taken and the sign of every weight gradient recorded; the score is
nansum over weight elements of |sum_i sign(g_i)|. A missing gradient counts as zero.
"Weights" are the weights (not biases) of Conv/ConvTranspose/Linear layers and of
parameters used in MatMul (candidates.gradsign_weights); the official code uses Conv2d and
Linear only, which is the same set for its networks.

Reductions: `sum` is the total above; `mean` divides it by the number of weight elements.

Each models/*.onnx is rebuilt from its manifest entry with candidates.build, i.e. as the
PyTorch module it was exported from. For export_mode "eval" (BatchNorm folded into the
convolutions in the ONNX file) the score is still that of the unfolded train-mode module.

The JSON maps each ONNX file name to: architecture, export_mode, opset, batch_size,
num_weights, sum, mean (float32, as the official code computes) and sum_float64 (the same
computation with model.double() and float64 inputs, less exposed to rounding that can flip
the sign of a near-zero gradient; meant for tight comparisons).
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import candidates  # noqa: E402  (tools/candidates.py)


def batchnorms_without_spatial_extent(model, x):
    """BatchNorm modules that see a single value per channel for each sample (e.g. a
    BatchNorm1d after a Linear). With a batch of 1 their train-mode batch statistics are
    undefined (PyTorch raises "Expected more than 1 value per channel")."""
    found = []

    def hook(module, inputs):
        if inputs[0][0, 0].numel() == 1:
            found.append(module)

    batchnorms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    handles = [bn.register_forward_pre_hook(hook) for bn in batchnorms]
    model.eval()  # shapes only; eval() so the probe leaves the running statistics alone
    with torch.no_grad():
        model(x[:1])
    for handle in handles:
        handle.remove()
    return found


def gradsign(model, x, y):
    """GradSign `sum` score of `model` at its current weights on samples x [N,...], labels y [N]."""
    # The shape probe runs in eval(), so find those BatchNorms before switching to train().
    # Our C# tool runs them on their running statistics (eval behaviour, here the initial
    # mean 0 / var 1 buffers); do the same so the per-sample forward is defined.
    without_spatial_extent = batchnorms_without_spatial_extent(model, x)
    model.train()
    for bn in without_spatial_extent:
        bn.eval()
    weights = [w for _, w in candidates.gradsign_weights(model)]
    # Sums of signs are small integers, exact in float64; NaN gradients stay NaN, as in
    # the official numpy code, and are then dropped by the nansum.
    sign_sum = torch.zeros(sum(w.numel() for w in weights), dtype=torch.float64)
    for i in range(len(x)):
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x[i:i + 1]), y[i:i + 1]).backward()
        grads = [torch.zeros_like(w) if w.grad is None else w.grad for w in weights]
        sign_sum += torch.cat([g.flatten() for g in grads]).sign().double()
    return float(np.nansum(sign_sum.abs().numpy()))


def reference_arguments(description):
    """The command line every reference script shares: the models, the data, where to write, the batch size."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", type=Path, required=True, help="folder with *.onnx and manifest.json")
    parser.add_argument("--data", type=Path, required=True, help="npz with x [N,1,28,28] float32 (or [N,32] int64 token ids), y [N] int64")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--batch-size", type=int, default=64, help="use the first N samples")
    return parser


def main():
    parser = reference_arguments(__doc__)
    parser.add_argument("--reduce", choices=("sum", "mean"), default="sum", help="score printed per model")
    args = parser.parse_args()

    data = np.load(args.data)
    x = torch.from_numpy(data["x"][:args.batch_size])
    y = torch.from_numpy(data["y"][:args.batch_size])
    assert len(x) == args.batch_size, "not enough samples"
    manifest = {entry["file"]: entry for entry in json.loads((args.models / "manifest.json").read_text())}

    results = {}
    for path in sorted(args.models.glob("*.onnx")):
        entry = manifest[path.name]
        model, _ = candidates.build(entry["architecture"])
        score = gradsign(model, x, y)
        model64, _ = candidates.build(entry["architecture"])
        score64 = gradsign(model64.double(), x.double() if x.is_floating_point() else x, y)  # token ids stay integers
        num_weights = sum(w.numel() for _, w in candidates.gradsign_weights(model))
        results[path.name] = {
            "architecture": entry["architecture"],
            "export_mode": entry["export_mode"],
            "opset": entry["opset"],
            "batch_size": args.batch_size,
            "num_weights": num_weights,
            "sum": score,
            "mean": score / num_weights,
            "sum_float64": score64,
        }
        shown = results[path.name][args.reduce]
        print(f"{path.name}: {args.reduce} {shown:.6g} (float64 sum {score64:.6g}, {num_weights} weights)")

    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
