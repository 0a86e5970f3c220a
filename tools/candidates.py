"""Small candidate networks for Fashion-MNIST ([N,1,28,28] -> [N,10] logits), plus one
full-size NAS-Bench-201 network for CIFAR-shaped input ([N,3,32,32]) used for benchmarking.

These are the PyTorch sources of the ONNX files in models/. `build(name)` returns the
module with exactly the weights that export_models.py writes, so other scripts (e.g.
reference/gradsign.py) can rebuild the PyTorch model behind any models/*.onnx file.
"""

import torch
import torch.nn as nn
import torch.nn.functional as F

NUM_CLASSES = 10


# --- NAS-Bench-201 style -------------------------------------------------------------

class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in, c_out, kernel, stride, padding):
        super().__init__(
            nn.ReLU(),
            nn.Conv2d(c_in, c_out, kernel, stride, padding, bias=False),
            nn.BatchNorm2d(c_out),
        )


class Zero(nn.Module):
    def forward(self, x):
        # As in NAS-Bench-201: keeps the graph connected (and the shape), output is all zeros.
        return x.mul(0.0)


def nb201_op(name, c):
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(c, c, 1, 1, 0)
    if name == "nor_conv_3x3":
        return ReLUConvBN(c, c, 3, 1, 1)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NAS-Bench-201 op {name!r}")


class NB201Cell(nn.Module):
    """4-node DAG: node_i = sum_{j<i} op_{j->i}(node_j); the cell output is node 3.

    `genotype` is a list of 3 tuples (for nodes 1..3) of op names, one per input node j.
    """

    def __init__(self, genotype, c):
        super().__init__()
        self.genotype = genotype
        self.edges = nn.ModuleList(nb201_op(op, c) for node_ops in genotype for op in node_ops)

    def forward(self, x):
        nodes = [x]
        edges = iter(self.edges)
        for node_ops in self.genotype:
            inputs = [next(edges)(nodes[j]) for j in range(len(node_ops))]
            nodes.append(sum(inputs[1:], inputs[0]))  # start from inputs[0]: no extra "+ 0" node
        return nodes[-1]


class NB201Reduction(nn.Module):
    """NAS-Bench-201 ResNetBasicblock with stride 2, used between stages."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, bias=False),
        )

    def forward(self, x):
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class NB201Net(nn.Module):
    """NAS-Bench-201 macro skeleton: stem, `cells` cells per stage, a residual reduction block
    between stages. The benchmark itself uses widths (16, 32, 64), cells=5, in_channels=3."""

    def __init__(self, genotype, widths=(8, 16, 32), cells=1, in_channels=1):
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False), nn.BatchNorm2d(widths[0]))
        layers = [NB201Cell(genotype, widths[0]) for _ in range(cells)]
        for c_in, c_out in zip(widths, widths[1:]):
            layers += [NB201Reduction(c_in, c_out)] + [NB201Cell(genotype, c_out) for _ in range(cells)]
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(nn.BatchNorm2d(widths[-1]), nn.ReLU())
        self.classifier = nn.Linear(widths[-1], NUM_CLASSES)

    def forward(self, x):
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# Cell genotypes, edges per node listed by input node 0, 1, 2.
GENOTYPE_A = [  # conv-heavy, close to the best NAS-Bench-201 cells
    ("nor_conv_3x3",),
    ("nor_conv_3x3", "nor_conv_3x3"),
    ("skip_connect", "nor_conv_3x3", "nor_conv_3x3"),
]
GENOTYPE_B = [  # mixed
    ("nor_conv_1x1",),
    ("avg_pool_3x3", "skip_connect"),
    ("none", "nor_conv_3x3", "nor_conv_1x1"),
]
GENOTYPE_C = [  # parameter-free cell: skip / pool / none only
    ("skip_connect",),
    ("none", "avg_pool_3x3"),
    ("skip_connect", "none", "avg_pool_3x3"),
]


# --- ResNet ---------------------------------------------------------------------------

class BasicBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNetTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.layers = nn.Sequential(BasicBlock(8, 8), BasicBlock(8, 16, stride=2), BasicBlock(16, 16))
        self.fc = nn.Linear(16, NUM_CLASSES)

    def forward(self, x):
        x = self.layers(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


# --- MobileNetV3 style ----------------------------------------------------------------

class SqueezeExcitation(nn.Module):
    def __init__(self, c, c_squeeze):
        super().__init__()
        self.fc1 = nn.Conv2d(c, c_squeeze, 1)
        self.fc2 = nn.Conv2d(c_squeeze, c, 1)

    def forward(self, x):
        s = F.adaptive_avg_pool2d(x, 1)
        s = F.hardsigmoid(self.fc2(F.relu(self.fc1(s))))
        return x * s


class InvertedResidual(nn.Module):
    def __init__(self, c_in, c_expand, c_out, kernel, stride, use_se, activation):
        super().__init__()
        layers = [
            nn.Conv2d(c_in, c_expand, 1, bias=False), nn.BatchNorm2d(c_expand), activation(),
            nn.Conv2d(c_expand, c_expand, kernel, stride, kernel // 2, groups=c_expand, bias=False),
            nn.BatchNorm2d(c_expand), activation(),
        ]
        if use_se:
            layers.append(SqueezeExcitation(c_expand, c_expand // 4))
        layers += [nn.Conv2d(c_expand, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
        self.block = nn.Sequential(*layers)
        self.use_residual = stride == 1 and c_in == c_out

    def forward(self, x):
        out = self.block(x)
        return x + out if self.use_residual else out


class MobileNetTiny(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), nn.Hardswish(),  # 14x14
            InvertedResidual(8, 16, 8, 3, 1, use_se=False, activation=nn.ReLU),
            InvertedResidual(8, 32, 16, 3, 2, use_se=True, activation=nn.Hardswish),  # 7x7
            InvertedResidual(16, 48, 16, 5, 1, use_se=False, activation=nn.Hardswish),
            nn.Conv2d(16, 48, 1, bias=False), nn.BatchNorm2d(48), nn.Hardswish(),
        )
        self.classifier = nn.Sequential(nn.Linear(48, 64), nn.Hardswish(), nn.Linear(64, NUM_CLASSES))

    def forward(self, x):
        x = F.adaptive_avg_pool2d(self.features(x), 1)
        return self.classifier(torch.flatten(x, 1))


# --- MLP written with explicit MatMul + Add ---------------------------------------------

class MatMulLinear(nn.Module):
    """`x @ weight + bias` with weight shaped [in, out]; exports as MatMul + Add, not Gemm."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(c_in, c_out))
        self.bias = nn.Parameter(torch.empty(c_out))
        # Same distribution as nn.Linear's default init (fan_in = c_in).
        bound = 1.0 / c_in ** 0.5
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return x @ self.weight + self.bias


class MLPMatMul(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = MatMulLinear(28 * 28, 64)
        self.bn1 = nn.BatchNorm1d(64)
        self.fc2 = MatMulLinear(64, NUM_CLASSES)

    def forward(self, x):
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.bn1(self.fc1(x))))


# --- ViT style ------------------------------------------------------------------------

class Attention(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x, padding=None):
        b, n, c = x.shape  # traced as Shape/Gather, so the batch axis stays dynamic
        qkv = self.qkv(x).reshape(b, n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        scores = (q @ k.transpose(-2, -1)) * self.scale
        if padding is not None:  # [b, n] True at padding: no query attends to it (exports as Where)
            scores = scores.masked_fill(padding[:, None, None, :], -1e9)
        attn = torch.softmax(scores, dim=-1)
        return self.proj((attn @ v).transpose(1, 2).reshape(b, n, c))


def add_transformer_block(module, dim, heads, mlp_ratio):
    """Give `module` the layers of one pre-norm transformer block (as attributes, so parameter names and the order of
    their random draws stay those of the exported files); `transformer_block` runs them."""
    module.norm1 = nn.LayerNorm(dim)
    module.attn = Attention(dim, heads)
    module.norm2 = nn.LayerNorm(dim)
    module.mlp = nn.Sequential(nn.Linear(dim, mlp_ratio * dim), nn.GELU(), nn.Linear(mlp_ratio * dim, dim))


def transformer_block(module, x, padding=None):
    x = x + module.attn(module.norm1(x), padding)
    return x + module.mlp(module.norm2(x))


class ViTTiny(nn.Module):
    def __init__(self, dim=32, heads=4, patch=7, mlp_ratio=2):
        super().__init__()
        tokens = (28 // patch) ** 2
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.pos_embed = nn.Parameter(torch.randn(1, tokens, dim) * 0.02)
        add_transformer_block(self, dim, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, NUM_CLASSES)

    def forward(self, x):
        x = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos_embed  # [N, 16, dim]
        return self.head(self.norm(transformer_block(self, x)).mean(1))  # mean pooling over tokens


# --- MLP-Mixer style ---------------------------------------------------------------------

class MixerBlock(nn.Module):
    """Token mixing (an MLP across the tokens of each channel, on the transposed input) then channel mixing."""

    def __init__(self, tokens, dim, token_hidden, channel_hidden):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, token_hidden), nn.GELU(), nn.Linear(token_hidden, tokens))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, channel_hidden), nn.GELU(), nn.Linear(channel_hidden, dim))

    def forward(self, x):  # [N, tokens, dim]
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class MixerTiny(nn.Module):
    def __init__(self, dim=32, patch=7, blocks=2):
        super().__init__()
        tokens = (28 // patch) ** 2
        self.patch_embed = nn.Conv2d(1, dim, patch, stride=patch)
        self.blocks = nn.Sequential(*[MixerBlock(tokens, dim, 2 * tokens, 2 * dim) for _ in range(blocks)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, NUM_CLASSES)

    def forward(self, x):
        x = self.blocks(self.patch_embed(x).flatten(2).transpose(1, 2))  # [N, 16, dim]
        return self.head(self.norm(x).mean(1))


# --- text classifier ------------------------------------------------------------------

TEXT_VOCAB, TEXT_LENGTH, TEXT_CLASSES = 1000, 32, 4


class TextClassifier(nn.Module):
    """Token ids [N, 32] (0 = padding) -> logits [N, 4]: token embedding (Gather) plus learned positions, one pre-norm
    transformer block whose attention ignores padding (Equal + Where), masked mean pooling, a Linear head."""

    def __init__(self, dim=32, heads=4, mlp_ratio=2):
        super().__init__()
        self.embed = nn.Embedding(TEXT_VOCAB, dim)
        self.pos_embed = nn.Parameter(torch.randn(1, TEXT_LENGTH, dim) * 0.02)
        add_transformer_block(self, dim, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, TEXT_CLASSES)

    def forward(self, ids):
        padding = ids.eq(0)
        x = transformer_block(self, self.embed(ids) + self.pos_embed, padding)
        keep = ids.ne(0).unsqueeze(-1).to(x.dtype)
        return self.head((self.norm(x) * keep).sum(1) / keep.sum(1).clamp(min=1))


class TextLSTM(nn.Module):
    """Token ids [N, 32] -> logits [N, 4]: token embedding, a bidirectional LSTM over every position (exported as one ONNX LSTM
    node, its W, R and B sliced into ONNX's gate order), the two directions' final hidden states, a Linear head."""

    def __init__(self, dim=16, hidden=24):
        super().__init__()
        self.embed = nn.Embedding(TEXT_VOCAB, dim)
        self.rnn = nn.LSTM(dim, hidden, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden, TEXT_CLASSES)

    def forward(self, ids):
        _, (h, _) = self.rnn(self.embed(ids))
        return self.head(torch.cat([h[0], h[1]], 1))


# --- registry -------------------------------------------------------------------------

# architecture name -> (constructor, fixed per-architecture id); the id fixes the seed.
ARCHITECTURES = {
    "nb201_a": (lambda: NB201Net(GENOTYPE_A), 1),
    "nb201_b": (lambda: NB201Net(GENOTYPE_B), 2),
    "nb201_c": (lambda: NB201Net(GENOTYPE_C), 3),
    "resnet_tiny": (ResNetTiny, 4),
    "mobilenet_tiny": (MobileNetTiny, 5),
    "mlp_matmul": (MLPMatMul, 6),
    "vit_tiny": (ViTTiny, 7),
    "text_classifier": (TextClassifier, 9),
    "mixer_tiny": (MixerTiny, 10),
    "text_lstm": (TextLSTM, 11),
    # Full-size NAS-Bench-201 network (C=16, N=5) for [N,3,32,32] input; benchmarking only.
    "nb201_full": (lambda: NB201Net(GENOTYPE_A, widths=(16, 32, 64), cells=5, in_channels=3), 8),
}

# Per-sample input shape of each architecture (without the batch axis).
INPUT_SHAPES = {name: (3, 32, 32) if name == "nb201_full" else (1, 28, 28) for name in ARCHITECTURES}
INPUT_SHAPES["text_classifier"] = INPUT_SHAPES["text_lstm"] = (TEXT_LENGTH,)
INPUT_DTYPES = {"text_classifier": torch.int64, "text_lstm": torch.int64}  # token ids; every other input is float32

SEED_BASE = 2022_0000


def build(name):
    """Return (module, seed): the architecture `name` initialised from torch.manual_seed(seed)."""
    constructor, model_id = ARCHITECTURES[name]
    seed = SEED_BASE + model_id
    torch.manual_seed(seed)
    return constructor(), seed


# Layers whose weight gradients GradSign inspects: the official code uses Conv2d and
# Linear; we extend it to the other convolutions, to parameters used in MatMul, and to the
# input and recurrent matrices of recurrent layers (fully-connected weights applied at every step).
GRADSIGN_LAYERS = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear, MatMulLinear)
RECURRENT_LAYERS = (nn.LSTM, nn.GRU, nn.RNN)


def gradsign_weights(module):
    """List of (name, weight tensor) of the Conv/ConvTranspose/Linear/MatMul layers and the weight_ih/weight_hh matrices of
    LSTM/GRU/RNN layers (no biases)."""
    weights = []
    for name, m in module.named_modules():
        if isinstance(m, GRADSIGN_LAYERS):
            weights.append((f"{name}.weight", m.weight))
        elif isinstance(m, RECURRENT_LAYERS):
            weights += [(f"{name}.{p}", w) for p, w in m.named_parameters() if p.startswith(("weight_ih", "weight_hh"))]
    return weights


if __name__ == "__main__":
    for name in ARCHITECTURES:
        module, _ = build(name)
        print(f"{name}: {sum(p.numel() for p in module.parameters())} parameters")
