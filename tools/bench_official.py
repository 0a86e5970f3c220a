"""Time the official GradSign algorithm against one batched forward+backward, in PyTorch.

Usage:
  /usr/bin/python3 tools/bench_official.py --model nb201_full --data bench/cifar_like.npz \
      --batch-size 64 --threads 2 --repeats 3 [--json FILE]

On the network candidates.build(model) and the first batch-size samples of the npz:
  gradsign  the official per-sample loop (reference/gradsign.py: zero_grad, forward and
            backward of each sample alone, sign sums of the Conv/Linear weight gradients);
  floor     one forward+backward of the whole batch in train mode (cross-entropy loss).
Each is run once as a warm-up, then timed `repeats` times; the medians are reported. The
warm-up GradSign run is on the freshly built weights, so its score is the one the C# tool
should give with `score --init keep` on the exported ONNX file (float32, same batch).
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import candidates
from reference.gradsign import gradsign


def batched_step(model, x, y):
    model.train()
    model.zero_grad(set_to_none=True)
    F.cross_entropy(model(x), y).backward()


def seconds(fn, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def fmt(times):
    return " ".join(f"{t:.3f}" for t in times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nb201_full", choices=sorted(candidates.ARCHITECTURES))
    parser.add_argument("--data", type=Path, required=True, help="npz with x [N,...] float32, y [N] int64")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    data = np.load(args.data)
    x = torch.from_numpy(data["x"][:args.batch_size])
    y = torch.from_numpy(data["y"][:args.batch_size])
    assert len(x) == args.batch_size, "not enough samples"
    model, _ = candidates.build(args.model)

    # Warm-ups. Neither call changes the weights (no optimizer step); train-mode forwards
    # only update the BatchNorm running statistics, which train-mode outputs do not use.
    start = time.perf_counter()
    score = gradsign(model, x, y)
    warmup_s = time.perf_counter() - start
    batched_step(model, x, y)
    gradsign_runs = seconds(lambda: gradsign(model, x, y), args.repeats)
    floor_runs = seconds(lambda: batched_step(model, x, y), args.repeats)
    gradsign_s, floor_s = statistics.median(gradsign_runs), statistics.median(floor_runs)

    results = {
        "model": args.model,
        "parameters": sum(p.numel() for p in model.parameters()),
        "gradsign_weights": sum(w.numel() for _, w in candidates.gradsign_weights(model)),
        "batch_size": args.batch_size,
        "threads": args.threads,
        "repeats": args.repeats,
        "gradsign_s": gradsign_s,
        "floor_s": floor_s,
        "ratio": gradsign_s / floor_s,
        "gradsign_runs_s": gradsign_runs,
        "gradsign_warmup_s": warmup_s,
        "floor_runs_s": floor_runs,
        "score": score,
        "torch": torch.__version__,
    }
    print(f"{args.model}: {results['parameters']} parameters, batch {args.batch_size}, "
          f"{args.threads} threads, median of {args.repeats}")
    print(f"  {'official GradSign (per-sample)':32} {gradsign_s:9.3f} s  (runs {fmt(gradsign_runs)})")
    print(f"  {'batched forward+backward':32} {floor_s:9.3f} s  (runs {fmt(floor_runs)})")
    print(f"  {'ratio':32} {results['ratio']:9.1f} x")
    print(f"  GradSign sum score: {score:.6g} ({results['gradsign_weights']} weights)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
