"""A small NAS-Bench-201-style benchmark on Fashion-MNIST: sampled cells, their initial weights as
ONNX (what the zero-cost proxies score) and the test accuracy each reaches after brief training.

Usage: /usr/bin/python3 tools/nb201_benchmark.py [--count 30] [--out models/nb201] [--seed 0]
                                                 [--epochs 2] [--train-samples 10000] [--jobs 1] [--resume]

1. Sample `count` distinct NAS-Bench-201 cell genotypes (6 edges, each one of OPS) from
   numpy.random.default_rng(seed), rejecting cells whose output node is not connected to the
   input by a path without 'none'. Sampling is sequential, so a smaller --count gives a prefix
   of the same list. Model i is named arch_{i:03d}.
2. Build each as candidates.NB201Net (input [N,1,28,28], widths 8/16/32, one cell per stage, the
   same skeleton as models/nb201_*.onnx) after torch.manual_seed(init_seed(seed, i)).
3. Export that untrained module to OUT/arch_XXX.onnx exactly like export_models.py does
   (training mode, opset 17, dynamic batch, BatchNorm kept, running statistics restored), checked
   with export_models.check and exported twice from fresh builds to assert byte-identical bytes.
4. Train a fresh build with the same initial weights on 1 CPU thread: SGD (momentum 0.9, weight
   decay 5e-4 on all parameters), lr 0.05 with per-step cosine decay to 0, batch 128, on the
   class-balanced first `train-samples` training images (make_sample_data.balanced_indices),
   shuffled by a torch.Generator seeded with `seed` (the same data order for every model), for
   `epochs` epochs. Pixels are scaled to [0,1] as in models/fashion-mnist-sample.npz.
5. Evaluate in eval mode on 2000 class-balanced test images taken from index 5000 onward (disjoint
   from the sample used for scoring, which comes from the start of the test set).

Writes OUT/truth.csv (model,accuracy,genotype,params,train_seconds) and OUT/README.md, and
removes stale OUT/arch_NNN.onnx files not produced by this run. Everything except the
train_seconds column is deterministic: the ONNX files are byte-identical across reruns and the
accuracies are identical (one thread, seeded init and data order).
"""

import argparse
import math
import multiprocessing
import re
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

import numpy as np
import onnx
import torch
import torch.nn.functional as F

import sys

import candidates
from export_models import TRAINING, check, export

sys.path.insert(0, str(Path(__file__).resolve().parent / "python"))
# The cell space (op names, edge order, arch strings, connectivity) is defined once, in the NAS package.
from onnx_gradsign.nas.spaces.nb201 import EDGES, OPS, connected, genotype_string, parse_genotype  # noqa: E402
from make_sample_data import balanced_indices, read_idx

WIDTHS = (8, 16, 32)  # as models/nb201_*.onnx (candidates.NB201Net defaults)
CELLS = 1
INIT_SEED_BASE = candidates.SEED_BASE + 1000  # 20221000: clear of candidates' own ids 1..8

LR = 0.05
MOMENTUM = 0.9
WEIGHT_DECAY = 5e-4
BATCH = 128
TEST_OFFSET = 5000
TEST_COUNT = 2000
SIZE_LIMIT = 5 * 1024 * 1024
DATASET = Path("/usr/share/datasets/fashion-mnist")


# --- genotypes --------------------------------------------------------------------------

def to_cell(ops):
    """6 op names in edge order -> candidates' genotype format (one tuple per node 1..3)."""
    return [tuple(ops[0:1]), tuple(ops[1:3]), tuple(ops[3:6])]


def sample_genotypes(count, seed):
    """`count` distinct connected genotypes (lists of 6 op names), drawn one after another."""
    rng = np.random.default_rng(seed)
    found, seen = [], set()
    while len(found) < count:
        ops = [OPS[i] for i in rng.integers(0, len(OPS), EDGES)]
        key = tuple(ops)
        if key in seen or not connected(ops):
            continue
        seen.add(key)
        found.append(ops)
    return found


def init_seed(seed, index):
    return INIT_SEED_BASE + 1000 * seed + index


def build(ops, seed):
    """NB201Net with the genotype `ops`, initialised from torch.manual_seed(seed)."""
    torch.manual_seed(seed)
    return candidates.NB201Net(to_cell(ops), widths=WIDTHS, cells=CELLS, in_channels=1)


# --- data, training, evaluation ---------------------------------------------------------

def load(split, indices=None):
    images = read_idx(DATASET / f"{split}-images-idx3-ubyte.gz")
    labels = read_idx(DATASET / f"{split}-labels-idx1-ubyte.gz")
    x = torch.from_numpy((images[indices].astype(np.float32) / 255.0)[:, None])
    y = torch.from_numpy(labels[indices].astype(np.int64))
    return x, y


def train(module, x, y, epochs, seed):
    steps_per_epoch = math.ceil(len(y) / BATCH)
    total = epochs * steps_per_epoch
    optimizer = torch.optim.SGD(module.parameters(), lr=LR, momentum=MOMENTUM, weight_decay=WEIGHT_DECAY)
    generator = torch.Generator().manual_seed(seed)
    module.train()
    step = 0
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator)
        for start in range(0, len(y), BATCH):
            for group in optimizer.param_groups:
                group["lr"] = 0.5 * LR * (1 + math.cos(math.pi * step / total))
            batch = order[start:start + BATCH]
            loss = F.cross_entropy(module(x[batch]), y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
    if not math.isfinite(loss.item()):
        raise FloatingPointError(f"final training loss {loss.item()}")


@torch.no_grad()
def accuracy(module, x, y):
    module.eval()
    correct = sum((module(x[i:i + 500]).argmax(1) == y[i:i + 500]).sum().item() for i in range(0, len(y), 500))
    return correct / len(y)


# --- main ---------------------------------------------------------------------------------

README = """\
# NAS-Bench-201-style benchmark on Fashion-MNIST

{count} NAS-Bench-201 cells (sampled with seed {seed}), each in the narrow skeleton of
`models/nb201_*.onnx` (input `[batch,1,28,28]`, widths {widths}, {cells} cell per stage).
`arch_NNN.onnx` holds the network at initialisation (what the zero-cost proxies score),
exported in training mode at opset 17 like `tools/export_models.py` (a table too large to
commit them, such as models/nb201-500, keeps truth.csv and scores.csv only; the command below
writes the ONNX files again, byte for byte). `truth.csv` gives the
test accuracy the same initial weights reach after brief CPU training: SGD momentum {momentum},
lr {lr} with cosine decay, weight decay {wd}, batch {batch}, {epochs} epochs on {train} class-balanced
Fashion-MNIST training images; accuracy on {test} class-balanced test images from index {offset} on.
The genotype column uses NAS-Bench-201's arch-string format; init seed of arch_i is
{base} + 1000*seed + i (see `tools/nb201_benchmark.py`).

Regenerate (ONNX files and accuracies are reproduced exactly; train_seconds varies):

    /usr/bin/python3 tools/nb201_benchmark.py --count {count} --out {out} --seed {seed} --epochs {epochs} --train-samples {train}

(`--jobs 2` trains two cells at a time with the same results; `--resume` keeps the rows of an
existing truth.csv.) Zero-cost scores of the cells, on the Fashion-MNIST sample of models/:

    onnx-gradsign score {out} --data models/fashion-mnist-sample.npz --proxy {proxies} --format csv -o {out}/scores.csv
"""

PROXIES = "gradsign,synflow,naswot,zico,params"  # the scores the assisted-NAS experiment and the README use

HEADER = "model,accuracy,genotype,params,train_seconds\n"

# What a worker process needs; set before the pool forks so the datasets are shared, not pickled.
_job = {}


def make_one(index, ops):
    """Export, train and evaluate arch_{index}: (name, accuracy, genotype, params, train_seconds)."""
    args, (x_train, y_train), (x_test, y_test) = _job["args"], _job["train"], _job["test"]
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    name, text, seed = f"arch_{index:03d}", genotype_string(ops), init_seed(args.seed, index)
    assert parse_genotype(text) == tuple(ops)
    module = build(ops, seed)
    data = export(module, TRAINING, 17).SerializeToString()
    again = export(build(ops, seed), TRAINING, 17).SerializeToString()
    assert data == again, f"{name}: export is not deterministic"
    path = args.out / f"{name}.onnx"
    path.write_bytes(data)
    check(path, module, TRAINING)
    if index in _job["done"]:
        return _job["done"][index]
    module = build(ops, seed)  # fresh: export's trace moved the BatchNorm running statistics
    params = sum(p.numel() for p in module.parameters())
    t0 = time.perf_counter()
    train(module, x_train, y_train, args.epochs, args.seed)
    return name, accuracy(module, x_test, y_test), text, params, time.perf_counter() - t0


def read_rows(path):
    """Rows of an earlier truth.csv (for --resume): {index: row}."""
    rows = {}
    if path.exists():
        for line in path.read_text().splitlines()[1:]:
            name, acc, text, params, seconds = line.split(",")
            rows[int(name[5:])] = (name, float(acc), text, int(params), float(seconds))
    return rows


def write_rows(path, rows):
    with open(path, "w", newline="\n") as f:
        f.write(HEADER)
        for name, acc, text, params, seconds in (rows[i] for i in sorted(rows)):
            f.write(f"{name},{acc:.4f},{text},{params},{seconds:.1f}\n")


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--out", type=Path, default=repo / "models" / "nb201")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--train-samples", type=int, default=10000)
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, one thread each (results do not change)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the rows of OUT/truth.csv whose genotype matches instead of training them again")
    args = parser.parse_args()
    assert 0 < args.count <= 1000 and args.epochs > 0 and args.train_samples > 0 and args.jobs > 0
    args.out.mkdir(parents=True, exist_ok=True)

    train_labels = read_idx(DATASET / "train-labels-idx1-ubyte.gz")
    test_labels = read_idx(DATASET / "t10k-labels-idx1-ubyte.gz")
    genotypes = sample_genotypes(args.count, args.seed)
    names = [f"arch_{i:03d}" for i in range(args.count)]
    truth = args.out / "truth.csv"
    earlier = read_rows(truth) if args.resume else {}
    _job.update(args=args,
                train=load("train", balanced_indices(train_labels, args.train_samples)),
                test=load("t10k", TEST_OFFSET + balanced_indices(test_labels[TEST_OFFSET:], TEST_COUNT)),
                done={i: row for i, row in earlier.items() if i < args.count and row[2] == genotype_string(genotypes[i])})
    if _job["done"]:
        print(f"resuming: {len(_job['done'])} trained rows kept from {truth}")
    for stale in args.out.glob("arch_*.onnx"):
        if re.fullmatch(r"arch_\d{3}\.onnx", stale.name) and stale.stem not in names:
            stale.unlink()
            print(f"removed stale {stale}")

    rows, failures = {}, []
    started = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pool.submit(make_one, i, ops): i for i, ops in enumerate(genotypes)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                rows[i] = name, acc, text, params, seconds = future.result()
            except Exception as error:  # keep going; report at the end
                failures.append((names[i], genotype_string(genotypes[i]), repr(error)))
                print(f"{names[i]} FAILED: {error!r}", flush=True)
                continue
            write_rows(truth, rows | {j: r for j, r in _job["done"].items() if j not in rows})  # a kill loses no row
            print(f"{name} acc {acc:.4f} params {params:6d} train {seconds:5.1f}s  {text}", flush=True)

    write_rows(truth, rows)
    (args.out / "README.md").write_text(README.format(
        count=args.count, seed=args.seed, widths="/".join(map(str, WIDTHS)), cells=CELLS, momentum=MOMENTUM,
        lr=LR, wd=WEIGHT_DECAY, batch=BATCH, epochs=args.epochs, train=args.train_samples, test=TEST_COUNT,
        offset=TEST_OFFSET, base=INIT_SEED_BASE, proxies=PROXIES, out=args.out.resolve().relative_to(repo)
        if args.out.resolve().is_relative_to(repo) else args.out))

    accs = np.array([r[1] for r in rows.values()])
    times = np.array([r[4] for r in rows.values()])
    onnx_bytes = sum(p.stat().st_size for p in args.out.glob("arch_*.onnx"))
    print(f"total {time.perf_counter() - started:.0f}s; train s/model min {times.min():.1f} "
          f"median {np.median(times):.1f} max {times.max():.1f}")
    print(f"accuracy min {accs.min():.4f} median {np.median(accs):.4f} max {accs.max():.4f} std {accs.std():.4f}")
    print(f"{args.out}: ONNX files {onnx_bytes} bytes" + ("  WARNING: over 5 MiB" if onnx_bytes > SIZE_LIMIT else ""))
    for failure in failures:
        print("FAILED", *failure)
    if failures:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
