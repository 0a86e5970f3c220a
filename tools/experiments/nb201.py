"""GradSign and its peers on the real NAS-Bench-201 (CIFAR-10), scored by the CLI, against the real 200-epoch accuracies.

Usage:
  /usr/bin/python3 tools/experiments/nb201.py score [--cells 1000] [--seeds 0,1,2] [--chunk 8] [--threads 1]
  /usr/bin/python3 tools/experiments/nb201.py evaluate

`score` samples `--cells` cells uniformly (numpy default_rng(SAMPLE_SEED), without replacement) from the even-index half in
../shared/nb201/nb201_acc_even.csv, builds each as the benchmark's full network (candidates.NB201Net: C=16, 5 cells per
stage, 3x32x32 input), seeds PyTorch's default initialization with `init_seed(seed, index)`, exports it in training mode
(BatchNorm kept, export_models.export), and scores a chunk of such files with one `onnx-gradsign score --init keep` call on
the paper's batch: 128 CIFAR-10 training images drawn with seed 42 from the 4,000 shared ones, normalized with CIFAR-10's
mean and std. The ONNX files are deleted after each chunk. Every record is appended to RESULTS (one line per cell and
seed, flushed), so a killed run loses at most the chunk in flight and a rerun continues where it stopped. Seed 0 is scored
for every cell before seed 1 starts, so a partial run is already a complete single-seed sample.

`evaluate` writes Spearman rho and Kendall tau (bootstrap 95% intervals over cells, 2,000 resamples) of every proxy against
cifar10valid_test per seed, to EVALUATION (Markdown).
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnx
import torch
from scipy import stats

TOOLS = Path(__file__).resolve().parents[1]
ROOT = TOOLS.parent
sys.path.insert(0, str(TOOLS))
sys.path.insert(0, str(TOOLS / "python"))
import candidates  # noqa: E402
from export_models import TRAINING, export  # noqa: E402
from onnx_gradsign.nas.spaces.nb201 import NODES, parse_genotype  # noqa: E402

SHARED = Path(os.environ.get("ONNXGRADSIGN_SHARED", ROOT.parent / "shared")) / "nb201"
RESULTS_DIR = Path(__file__).resolve().parent / "results"
RESULTS = RESULTS_DIR / "nb201_scores.csv"
EVALUATION = RESULTS_DIR / "nb201_evaluation.md"
# A copy of the built CLI may be named, so rebuilding the tree does not change the binary under a long run.
CLI = Path(os.environ.get("ONNXGRADSIGN_CLI", ROOT / "src/OnnxGradSign.Cli/bin/Release/net10.0/onnx-gradsign"))

SAMPLE_SEED = 0
BATCH_SEED = 42  # the paper's
BATCH = 128
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR10_STD = (0.2470, 0.2435, 0.2616)
PROXIES = "gradsign,synflow,naswot,snip,grad_norm,zico,flops,params"
TRUTH = "cifar10valid_test"  # what GradSign's own evaluation code correlates with
FULL_TRAINING = "cifar10_test"
FIELDS = ["index", "seed", "arch_str", "scored_weights", "gradsign_mean", *PROXIES.split(","), "seconds"]


def init_seed(seed, index):
    return 1_000_003 * seed + index


def read_truth():
    with open(SHARED / "nb201_acc_even.csv", newline="") as f:
        return {int(r["index"]): r for r in csv.DictReader(f)}


def sample_cells(truth, count):
    indices = np.array(sorted(truth))
    rng = np.random.default_rng(SAMPLE_SEED)
    return [int(i) for i in rng.choice(indices, size=min(count, len(indices)), replace=False)]


def batch_file(path):
    """The paper's batch, as an .npz in the model's NCHW layout, already normalized."""
    data = np.load(SHARED / "cifar10_train_sample.npz")
    picked = np.random.default_rng(BATCH_SEED).choice(len(data["y"]), size=BATCH, replace=False)
    x = data["x"][picked].astype(np.float32) / 255.0
    x = (x - np.float32(CIFAR10_MEAN)) / np.float32(CIFAR10_STD)
    np.savez(path, x=x.transpose(0, 3, 1, 2).astype(np.float32), y=data["y"][picked].astype(np.int64))


def build(arch_str, seed, index):
    ops = parse_genotype(arch_str)
    genotype = [tuple(ops[e] for e in node) for node in NODES]
    torch.manual_seed(init_seed(seed, index))
    module = candidates.NB201Net(genotype, widths=(16, 32, 64), cells=5, in_channels=3)
    module.train()
    return module


def scored_weights(module):
    """The weights GradSign sums over (every Conv and Linear weight): the mean variant divides by their count."""
    return sum(m.weight.numel() for m in module.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)))


def drop_partial_last_line(path):
    """A run killed while writing leaves at most one line without its newline: it is dropped, and that cell scored again."""
    if path.exists():
        text = path.read_text()
        if text and not text.endswith("\n"):
            path.write_text(text[:text.rfind("\n") + 1])


def done_keys():
    if not RESULTS.exists():
        return set()
    drop_partial_last_line(RESULTS)
    with open(RESULTS, newline="") as f:
        return {(int(r["index"]), int(r["seed"])) for r in csv.DictReader(f)}


def score(args):
    truth = read_truth()
    cells = sample_cells(truth, args.cells)
    seeds = [int(s) for s in args.seeds.split(",")]
    done = done_keys()
    todo = [(seed, index) for seed in seeds for index in cells if (index, seed) not in done]
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    drop_partial_last_line(RESULTS)
    new_file = not RESULTS.exists()
    print(f"nb201: {len(todo)} of {len(cells) * len(seeds)} (cell, seed) pairs to score", file=sys.stderr)
    with tempfile.TemporaryDirectory() as work, open(RESULTS, "a", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        data = Path(work) / "batch.npz"
        batch_file(data)
        for start in range(0, len(todo), args.chunk):
            chunk = todo[start:start + args.chunk]
            models = Path(work) / "models"
            models.mkdir()
            weights = {}
            for seed, index in chunk:
                module = build(truth[index]["arch_str"], seed, index)
                weights[(seed, index)] = scored_weights(module)
                onnx.save(export(module, TRAINING, 17, sample_shape=(3, 32, 32)), models / f"cell{index:05d}_seed{seed}.onnx")
            began = time.time()
            run = subprocess.run(
                [str(CLI), "score", str(models), "--init", "keep", "--data", str(data), "--batch-size", str(BATCH),
                 "--proxy", PROXIES, "--threads", str(args.threads), "--format", "jsonl"],
                capture_output=True, text=True)
            records = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
            for record in records:
                name = Path(record["model"]).stem
                index, seed = int(name[4:9]), int(name.split("_seed")[1])
                if record["status"] != "ok":
                    print(f"nb201: cell {index} seed {seed}: {record['error']}", file=sys.stderr)
                    continue
                row = {p: record[p] for p in PROXIES.split(",")}
                row.update(index=index, seed=seed, arch_str=truth[index]["arch_str"], seconds=round(record["seconds"], 3),
                           scored_weights=weights[(seed, index)],
                           gradsign_mean=record["gradsign"] / weights[(seed, index)])
                writer.writerow(row)
                out.flush()
            for path in models.iterdir():
                path.unlink()
            models.rmdir()
            print(f"nb201: {start + len(chunk)}/{len(todo)} ({time.time() - began:.0f} s for {len(chunk)})", file=sys.stderr)


def bootstrap(x, y, statistic, rng, resamples=2000):
    n = len(x)
    values = []
    for _ in range(resamples):
        pick = rng.integers(0, n, n)
        values.append(statistic(x[pick], y[pick]))
    return np.percentile(values, [2.5, 97.5])


def spearman(x, y):
    return stats.spearmanr(x, y).correlation


def kendall(x, y):
    return stats.kendalltau(x, y).correlation


def evaluate(_args):
    truth = read_truth()
    with open(RESULTS, newline="") as f:
        rows = list(csv.DictReader(f))
    proxies = ["gradsign", "gradsign_mean", *[p for p in PROXIES.split(",") if p != "gradsign"]]
    lines = [f"# NAS-Bench-201 CIFAR-10: proxies against `{TRUTH}` (and `{FULL_TRAINING}`)", "",
             f"Produced by `/usr/bin/python3 tools/experiments/nb201.py evaluate` from `{RESULTS.name}`; "
             "95% intervals by bootstrap over cells (2,000 resamples, seed 0). "
             f"`{TRUTH}` is what GradSign's own code correlates with; `{FULL_TRAINING}` (trained on all 50,000 images) is shown "
             "because later papers' tables (AZ-NAS, VKDNW) match it better.", "",
             "| truth | seed | cells | proxy | Spearman ρ [95% CI] | Kendall τ [95% CI] |", "| --- | --- | --- | --- | --- | --- |"]
    for column in (TRUTH, FULL_TRAINING):
        for seed in sorted({int(r["seed"]) for r in rows}):
            mine = [r for r in rows if int(r["seed"]) == seed]
            accuracy = np.array([float(truth[int(r["index"])][column]) for r in mine])
            for proxy in proxies:
                # A model with no Relu input variation has naswot -inf: a rank below every finite score, as in a ranking.
                score = np.array([float(r[proxy]) if r[proxy] not in ("", "None") else -np.inf for r in mine])
                rng = np.random.default_rng(0)
                rho, tau = spearman(score, accuracy), kendall(score, accuracy)
                rho_ci, tau_ci = bootstrap(score, accuracy, spearman, rng), bootstrap(score, accuracy, kendall, rng)
                lines.append(f"| {column} | {seed} | {len(mine)} | {proxy} | {rho:.3f} [{rho_ci[0]:.3f}, {rho_ci[1]:.3f}] "
                             f"| {tau:.3f} [{tau_ci[0]:.3f}, {tau_ci[1]:.3f}] |")
    EVALUATION.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("score")
    run.add_argument("--cells", type=int, default=1000)
    run.add_argument("--seeds", default="0,1,2")
    run.add_argument("--chunk", type=int, default=8)
    run.add_argument("--threads", type=int, default=1)
    run.set_defaults(handler=score)
    commands.add_parser("evaluate").set_defaults(handler=evaluate)
    args = parser.parse_args()
    args.handler(args)


if __name__ == "__main__":
    main()
