"""Reference zero-cost proxy scores for the networks in models/, computed in PyTorch.

Usage:
  /usr/bin/python3 tools/reference/proxies.py --models models \
      --data models/fashion-mnist-sample.npz --out tools/reference/expected_proxies.json

Our own implementations, following the published reference code: zero-cost-nas
(Abdelfattah et al., 2021) for grad_norm, snip, grasp, fisher, synflow and jacob_cov;
NASWOT (Mellor et al., 2021); ZiCo (Li et al., 2023); MeCo (Jiang et al., 2023). The C#
tool implements the same definitions on the imported ONNX graph.

Common setting: each models/*.onnx with export_mode "training" is rebuilt with
candidates.build (same weights as the ONNX file); a fresh float64 copy of it (model.double())
is used per proxy, in train() mode (BatchNorm on batch statistics), on the first N samples
of the data (float64); loss = mean cross-entropy. "Weights" = candidates.gradsign_weights:
the weights (not biases) of Conv/ConvTranspose/Linear layers and of MatMul parameters. A
weight without gradient counts as a zero gradient.

  grad_norm  sum over weights of ||dL/dW||_2.
  snip       sum over weights of sum |W * dL/dW|.
  grasp      g = dL/dW (detached), Hg = d(sum_W <dL/dW, g>)/dW; sum over weights of sum(-W * Hg).
             (F.hardsigmoid is computed as clamp(x + 3, 0, 6) / 6, the same function, because
             torch 1.13 cannot differentiate hardsigmoid twice.)
  fisher     per weight layer: a = the layer's output, gamma = dL/da;
             s_nk = sum over positions (spatial, or tokens for 3-D inputs) of a*gamma per
             sample n and output channel k; sum over layers and channels of 0.5*mean_n s_nk^2.
             a is the output of the ONNX node holding the weight: Conv and 2-D Linear (Gemm)
             include the bias; MatMulLinear and Linear on 3-D input (exported as MatMul + Add)
             exclude it. (zero-cost-nas takes the Linear output with bias and, for 3-D inputs,
             sums over the channel axis instead of the tokens; we follow the rule above.)
  synflow    deep copy with every BatchNorm replaced by Identity, every parameter and buffer
             replaced by its absolute value; R = sum of outputs on an all-ones input [1, *shape];
             sum over weights of sum |W * dR/dW|. Also written as synflow_log10.
  jacob_cov  J = d(sum of outputs)/dx per sample, [N, -1]; C = corrcoef(J); l = eigvalsh(C);
             -sum(log(l + 1e-5) + 1/(l + 1e-5)). (zero-cost-nas uses np.linalg.eig.)
  naswot     forward only; for every distinct ReLU input (nn.ReLU modules and F.relu calls,
             captured by patching F.relu, which nn.ReLU.forward calls): c = (input > 0) per
             sample, [N, D]; K = sum of c c^T + (1-c)(1-c)^T; slogdet(K)[1]. GELU and
             Hardswish are not ReLUs: a network without ReLU has K = 0 and no score.
             Deliberate difference from NASWOT's code: a ReLU applied again to the same tensor
             (NB201 edges leaving one node) counts once, because the ONNX exporter merges such
             ReLUs into one node and an ONNX graph cannot tell them apart.
  zico       the batch split into halves [0, N/2) and [N/2, N), one gradient per half;
             per weight: m = mean of |g| over the halves, s = population std over the halves;
             t = sum over s != 0 of m/s; sum of log(t) over the weights with t != 0.
  meco       one input torch.randn([1, *shape], float64, generator seeded 0), train mode
             (BatchNorm without spatial extent on running statistics, as in gradsign.py);
             for each Conv output with C >= 2 channels: R = corrcoef(f[0].reshape(C, -1)),
             NaN/inf -> 0; sum of the smallest eigenvalue (eigvalsh) of R. (The MeCo code
             hooks every module; we take the Conv layers only.) Where C > H*W - 1, R is
             singular and its smallest eigenvalue is 0 up to rounding (~1e-16). No Conv: 0.
  params     number of parameter elements.
  flops      multiply-accumulates of one sample through the weight layers (bias adds and
             the weightless attention matmuls not counted): Conv out_elems * in_ch/groups *
             prod(kernel); ConvTranspose in_elems * out_ch/groups * prod(kernel);
             Linear / MatMul out_elems * in_features.

A score that comes out NaN or +-inf is written as null with the reason under "notes".
Architectures that appear in several files are computed once.
"""

import contextlib
import copy
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import candidates  # noqa: E402  (tools/candidates.py)
from gradsign import batchnorms_without_spatial_extent, reference_arguments  # noqa: E402

WEIGHT_LAYERS = candidates.GRADSIGN_LAYERS
CONVS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d)


# --- helpers --------------------------------------------------------------------------

def weights(model):
    return [w for _, w in candidates.gradsign_weights(model)]


def grads(output, inputs, create_graph=False):
    """d(output)/d(inputs), a zero tensor where an input does not reach the output."""
    gs = torch.autograd.grad(output, inputs, allow_unused=True, create_graph=create_graph)
    return [torch.zeros_like(t) if g is None else g for t, g in zip(inputs, gs)]


def loss(model, x, y):
    return F.cross_entropy(model(x), y)


@contextlib.contextmanager
def layer_hooks(model, hook, types=WEIGHT_LAYERS):
    """Forward hook on every module of `types` while the block runs."""
    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, types)]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def patched(name, replacement):
    """torch.nn.functional.<name> = replacement(original) while the block runs."""
    original = getattr(F, name)
    setattr(F, name, replacement(original))
    try:
        yield
    finally:
        setattr(F, name, original)


def relu_inputs(found):
    """Record the input of every F.relu call (nn.ReLU.forward calls F.relu as well), each distinct input tensor once."""
    seen = {}  # id -> tensor: holding the tensor keeps its id from being reused by a later one

    def replacement(relu):
        def recording_relu(input, inplace=False):
            if id(input) not in seen:
                seen[id(input)] = input
                found.append(input.detach())
            return relu(input, inplace=inplace)
        return recording_relu
    return patched("relu", replacement)


def twice_differentiable_hardsigmoid():
    """torch 1.13 has no double backward for hardsigmoid; clamp(x + 3, 0, 6) / 6 is the same
    function (bit for bit in the forward) and has one."""
    return patched("hardsigmoid", lambda _: lambda input, inplace=False: (input + 3).clamp(0, 6) / 6)


def matmul_output(module, inp, out):
    """The output of the ONNX node holding the weight: without bias for MatMul nodes."""
    if isinstance(module, candidates.MatMulLinear):
        return inp @ module.weight
    if isinstance(module, nn.Linear) and inp.dim() > 2:
        return F.linear(inp, module.weight)
    return out


def per_channel(t, module):
    """[N, positions, C]: the channel axis last (axis 1 for convolutions)."""
    if isinstance(module, CONVS):
        t = t.movedim(1, -1)
    return t.reshape(len(t), -1, t.shape[-1])


def corrcoef(rows):
    """np.corrcoef, quiet about constant rows and single columns (they give NaN)."""
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.corrcoef(rows)


# --- proxies (each gets a fresh float64 train-mode model) ------------------------------

def grad_norm(model, x, y):
    return sum(g.norm().item() for g in grads(loss(model, x, y), weights(model)))


def snip(model, x, y):
    ws = weights(model)
    return sum((w * g).abs().sum().item() for w, g in zip(ws, grads(loss(model, x, y), ws)))


def grasp(model, x, y):
    ws = weights(model)
    with twice_differentiable_hardsigmoid():
        gs = grads(loss(model, x, y), ws, create_graph=True)
    z = sum((g * g.detach()).sum() for g in gs)
    return sum((-w * hg).sum().item() for w, hg in zip(ws, grads(z, ws)))


def fisher(model, x, y):
    layers = []  # (module, a, output)

    def hook(module, inputs, output):
        layers.append((module, matmul_output(module, inputs[0], output).detach(), output))

    with layer_hooks(model, hook):
        value = loss(model, x, y)
    gammas = grads(value, [out for _, _, out in layers])
    total = 0.0
    for (module, a, _), gamma in zip(layers, gammas):
        s = (per_channel(a, module) * per_channel(gamma, module)).sum(1)  # [N, C]
        total += (0.5 * s.pow(2).mean(0)).sum().item()
    return total


def synflow(model, x, y):
    model = copy.deepcopy(model)
    for name, module in list(model.named_modules()):
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, nn.Identity())
    with torch.no_grad():
        for t in list(model.parameters()) + list(model.buffers()):
            t.abs_()
    ws = weights(model)
    r = model(torch.ones((1,) + tuple(x.shape[1:]), dtype=torch.float64)).sum()
    return sum((w * g).abs().sum().item() for w, g in zip(ws, grads(r, ws)))


def jacob_cov(model, x, y):
    x = x.clone().requires_grad_(True)
    out = model(x)
    (jacobian,) = torch.autograd.grad(out, x, torch.ones_like(out))
    eig = np.linalg.eigvalsh(corrcoef(jacobian.reshape(len(x), -1).numpy()))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(-np.sum(np.log(eig + 1e-5) + 1.0 / (eig + 1e-5)))


def naswot(model, x, y):
    found = []
    with torch.no_grad(), relu_inputs(found):
        model(x)
    k = np.zeros((len(x), len(x)))
    for inp in found:
        c = (inp.reshape(len(x), -1) > 0).double().numpy()
        k += c @ c.T + (1 - c) @ (1 - c).T
    return float(np.linalg.slogdet(k)[1])


def zico(model, x, y):
    ws = weights(model)
    half = len(x) // 2
    per_half = [grads(loss(model, x[s], y[s]), ws) for s in (slice(0, half), slice(half, 2 * half))]
    total = 0.0
    for gs in zip(*per_half):
        g = torch.stack(gs).reshape(2, -1).numpy()
        std, mean_abs = g.std(0), np.abs(g).mean(0)
        nz = std != 0
        t = np.sum(mean_abs[nz] / std[nz])
        if t != 0:
            total += math.log(t)
    return total


def meco(model, x, y):
    inp = torch.randn((1,) + tuple(x.shape[1:]), generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    without_spatial_extent = batchnorms_without_spatial_extent(model, inp)
    model.train()
    for bn in without_spatial_extent:
        bn.eval()
    total = [0.0]

    def hook(module, inputs, output):
        f = output[0].detach()
        if f.shape[0] >= 2:
            r = np.nan_to_num(corrcoef(f.reshape(f.shape[0], -1).numpy()), nan=0.0, posinf=0.0, neginf=0.0)
            total[0] += float(np.linalg.eigvalsh(r)[0])

    with torch.no_grad(), layer_hooks(model, hook, CONVS):
        model(inp)
    return total[0]


def params(model, x, y):
    return sum(p.numel() for p in model.parameters())


def flops(model, x, y):
    total = [0]

    def hook(module, inputs, output):
        w = module.weight
        if isinstance(module, nn.ConvTranspose2d):
            total[0] += inputs[0].numel() * w[0].numel()
        elif isinstance(module, CONVS):
            total[0] += output.numel() * w[0].numel()
        elif isinstance(module, candidates.MatMulLinear):
            total[0] += output.numel() * w.shape[0]
        else:  # nn.Linear
            total[0] += output.numel() * w.shape[1]

    model.eval()  # shapes only; a batch of 1 has no train-mode BatchNorm1d statistics
    with torch.no_grad(), layer_hooks(model, hook):
        model(x[:1])
    return total[0]


PROXIES = {f.__name__: f for f in (grad_norm, snip, grasp, fisher, synflow, jacob_cov, naswot, zico, meco,
                                   params, flops)}


def scores(model, x, y):
    """{proxy: value} plus "notes" for the values that are not finite (written as null)."""
    model = model.double()
    result, notes = {}, {}
    for name, proxy in PROXIES.items():
        fresh = copy.deepcopy(model).train()
        fresh.zero_grad(set_to_none=True)
        result[name] = proxy(fresh, x, y)
        if name == "synflow":
            result["synflow_log10"] = math.log10(result[name]) if result[name] > 0 else -math.inf
    for name, value in result.items():
        if isinstance(value, float) and not math.isfinite(value):
            notes[name] = f"not finite ({value})" + (
                ": no ReLU in the network, K = 0" if name == "naswot" and value == -math.inf else "")
            result[name] = None
    if notes:
        result["notes"] = notes
    return result


def main():
    args = reference_arguments(__doc__).parse_args()

    torch.set_num_threads(1)  # deterministic reductions, and light on a shared machine
    data = np.load(args.data)
    x = torch.from_numpy(data["x"][:args.batch_size]).double()
    y = torch.from_numpy(data["y"][:args.batch_size])
    assert len(x) == args.batch_size, "not enough samples"
    manifest = {entry["file"]: entry for entry in json.loads((args.models / "manifest.json").read_text())}

    by_architecture, results = {}, {}
    for path in sorted(args.models.glob("*.onnx")):
        entry = manifest[path.name]
        if entry["export_mode"] != "training":
            continue
        arch = entry["architecture"]
        if arch not in by_architecture:
            start = time.perf_counter()
            by_architecture[arch] = scores(candidates.build(arch)[0], x, y)
            print(f"{arch}: {time.perf_counter() - start:.2f} s")
        results[path.name] = {"architecture": arch, "opset": entry["opset"], "batch_size": args.batch_size,
                              **by_architecture[arch]}

    args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
