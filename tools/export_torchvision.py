"""Export torchvision classification networks, randomly initialized, to ONNX for `onnx-gradsign verify`/`inspect`.

Usage: /usr/bin/python3 tools/export_torchvision.py --out DIR [--names a,b] [--mode training|eval|both]

Each model is built with weights=None after torch.manual_seed(0) (no downloads), its BatchNorm running
statistics calibrated on random batches (see calibrate_batchnorm), and written as DIR/<name>_<mode>.onnx:
opset 17, input `input` [batch,3,H,W], output `logits` [batch,classes], batch axis dynamic. `training`
exports with training=TrainingMode.TRAINING and do_constant_folding=False (BatchNorm and Dropout kept in
training form; StochasticDepth switched off, see export()); `eval` is PyTorch's default export (eval mode,
constant folding on: BatchNorm folded into the convolutions). Inputs are as small as each architecture
allows (see MODELS). A model whose export fails is reported and the run goes on; the exit status is 1 if
any export failed.
"""

import argparse
import sys
import time
from pathlib import Path

import onnx
import torch
import torchvision
from torchvision import models as tvm

import export_models  # the one export: dynamic batch, no constant folding in training mode, running statistics kept

TRAINING = export_models.TRAINING
EVAL = torch.onnx.TrainingMode.EVAL
MODES = {"training": TRAINING, "eval": EVAL}
OPSET = 17
SEED = 0
MAX_PARAMETER_BYTES = 600 * 2**20  # larger models are skipped (memory, file size)


def _tv(name, **kwargs):
    return lambda: getattr(tvm, name)(weights=None, **kwargs)


def _vit_tiny():
    # A full vit_b_16 (86M parameters at 224x224) is needlessly large; the same module class, small.
    vit = tvm.VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64)
    # torchvision zero-initializes the classifier head: the logits would be constant and `verify` would compare nothing.
    vit.heads.head.reset_parameters()
    return vit


# name -> (builder, input side). 64x64 unless the architecture needs more. AlexNet and VGG end in an
# AdaptiveAvgPool2d to 6x6 / 7x7, which torch 1.13 exports only when that divides the feature map:
# 224x224 is the smallest input that gives it (64x64 fails with "output size that are not factor of input size").
MODELS = {
    "alexnet": (_tv("alexnet"), 224),
    "vgg11": (_tv("vgg11"), 224),
    "vgg11_bn": (_tv("vgg11_bn"), 224),
    "resnet18": (_tv("resnet18"), 64),
    "resnet50": (_tv("resnet50"), 64),
    "resnext50_32x4d": (_tv("resnext50_32x4d"), 64),
    "wide_resnet50_2": (_tv("wide_resnet50_2"), 64),
    "mobilenet_v2": (_tv("mobilenet_v2"), 64),
    "mobilenet_v3_small": (_tv("mobilenet_v3_small"), 64),
    "mobilenet_v3_large": (_tv("mobilenet_v3_large"), 64),
    "squeezenet1_0": (_tv("squeezenet1_0"), 64),
    "squeezenet1_1": (_tv("squeezenet1_1"), 64),
    "shufflenet_v2_x0_5": (_tv("shufflenet_v2_x0_5"), 64),
    "densenet121": (_tv("densenet121"), 64),
    "googlenet": (_tv("googlenet", aux_logits=False, init_weights=True), 64),
    # 75x75 at least; at 96x96 the last blocks are 1x1, where training-mode BatchNorm normalizes the 2 values of a batch of 2
    # per channel (every output ±1, or 0/0 when they nearly agree). 160x160 leaves 3x3.
    "inception_v3": (_tv("inception_v3", aux_logits=False, init_weights=True), 160),
    "mnasnet0_5": (_tv("mnasnet0_5"), 64),
    "efficientnet_b0": (_tv("efficientnet_b0"), 64),
    "efficientnet_v2_s": (_tv("efficientnet_v2_s"), 64),
    "regnet_y_400mf": (_tv("regnet_y_400mf"), 64),
    "regnet_x_400mf": (_tv("regnet_x_400mf"), 64),
    "convnext_tiny": (_tv("convnext_tiny"), 64),
    "vit_tiny": (_vit_tiny, 32),
    "swin_t": (_tv("swin_t"), 64),
}


def build(name):
    """The module, seeded so that every run (and every subset of names) gets the same weights, and its input side."""
    builder, side = MODELS[name]
    torch.manual_seed(SEED)
    module = builder()
    calibrate_batchnorm(module, side)
    return module, side


def calibrate_batchnorm(module, side, batches=2, batch_size=8):
    """Give BatchNorm the running statistics of its own activations on random inputs, as training would.

    At initialization they are mean 0, variance 1 whatever the activations are, and in eval mode many networks then shrink
    or blow up their signal layer after layer (efficientnet_b0's logits are ~1e-14, inception_v3's ~1e11): `verify`'s
    absolute tolerance would then compare nothing. Dropout and StochasticDepth are off while calibrating.
    """
    norms = [m for m in module.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    module.train()
    random_layers = [m for m in module.modules() if isinstance(m, (torch.nn.Dropout, torchvision.ops.StochasticDepth))]
    for m in random_layers:
        m.eval()
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a plain average over the calibration batches
    generator = torch.Generator().manual_seed(SEED)
    with torch.no_grad():
        for _ in range(batches):
            module(torch.randn(batch_size, 3, side, side, generator=generator))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def export(module, side, mode, path, opset=OPSET):
    """Write `module` (input [batch, 3, side, side]) to `path` in the given TrainingMode and opset."""
    training = mode == TRAINING
    module.train(training)
    if training:
        # StochasticDepth (EfficientNet, ConvNeXt, Swin) drops residual branches at random in training, with an in-place
        # bernoulli_ that torch 1.13 cannot export ("out parameter is not supported for bernoulli"). With p = 0 it is the
        # identity, which is what onnx-gradsign makes of Dropout anyway (verify and score are deterministic).
        for m in module.modules():
            if isinstance(m, torchvision.ops.StochasticDepth):
                m.p = 0.0
    model = export_models.export(module, mode, opset, sample_shape=(3, side, side))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return model


def export_named(name, mode_name, out, opset=OPSET):
    """Export one model in one mode to out/<name>_<mode>.onnx (…_opsetN.onnx at another opset); returns the path."""
    module, side = build(name)
    parameter_bytes = sum(p.numel() * p.element_size() for p in module.parameters())
    if parameter_bytes > MAX_PARAMETER_BYTES:
        raise RuntimeError(f"skipped: {parameter_bytes / 2**20:.0f} MiB of parameters (limit {MAX_PARAMETER_BYTES / 2**20:.0f})")
    path = Path(out) / (f"{name}_{mode_name}.onnx" if opset == OPSET else f"{name}_{mode_name}_opset{opset}.onnx")
    export(module, side, MODES[mode_name], path, opset)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--names", help=f"comma-separated subset of: {','.join(MODELS)}")
    parser.add_argument("--mode", choices=["training", "eval", "both"], default="both")
    parser.add_argument("--opset", type=int, default=OPSET, help="e.g. 9 or 11 for the legacy forms of the model zoo's CNNs")
    args = parser.parse_args()
    names = args.names.split(",") if args.names else list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s): {', '.join(unknown)}")
    modes = ["training", "eval"] if args.mode == "both" else [args.mode]
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"torch {torch.__version__}, torchvision {torchvision.__version__}, onnx {onnx.__version__}, opset {args.opset}")

    failed = []
    for name in names:
        for mode_name in modes:
            start = time.monotonic()
            try:
                path = export_named(name, mode_name, args.out, args.opset)
            except Exception as e:  # report and go on with the next model
                message = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
                print(f"FAILED {name} {mode_name}: {type(e).__name__}: {message}", flush=True)
                failed.append((name, mode_name))
                continue
            size = path.stat().st_size / 2**20
            print(f"ok     {path.name}: {size:.1f} MiB, {time.monotonic() - start:.1f} s", flush=True)
    if failed:
        print(f"{len(failed)} export(s) failed: " + ", ".join(f"{n} ({m})" for n, m in failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
