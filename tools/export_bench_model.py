"""Export the benchmark network nb201_full (candidates.py) and a CIFAR-shaped batch.

Usage: /usr/bin/python3 tools/export_bench_model.py [--out DIR]   (default: <repo>/bench)

Writes DIR/nb201_full.onnx (input [batch,3,32,32] -> logits [batch,10]; training-mode
export at opset 17, exactly as export_models.py exports the other candidates) and
DIR/cifar_like.npz with x float32 [64,3,32,32] (seeded standard normal) and y int64 [64]
in [0,10). Both files are byte-identical across reruns.
"""

import argparse
from pathlib import Path

import numpy as np
import onnx

import candidates
from export_models import TRAINING, check, export
from make_sample_data import save_npz

ARCHITECTURE = "nb201_full"
DATA_SEED = 2022
BATCH = 64


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent.parent / "bench")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    module, seed = candidates.build(ARCHITECTURE)
    shape = candidates.INPUT_SHAPES[ARCHITECTURE]
    path = args.out / f"{ARCHITECTURE}.onnx"
    onnx.save(export(module, TRAINING, 17, shape), str(path))
    histogram = check(path, module, TRAINING)
    params = sum(p.numel() for p in module.parameters())
    print(f"{path}: {path.stat().st_size} bytes, {params} parameters, seed {seed}")
    print("  " + ", ".join(f"{op} {n}" for op, n in sorted(histogram.items())))

    rng = np.random.default_rng(DATA_SEED)
    x = rng.standard_normal((BATCH, *shape), dtype=np.float32)
    y = rng.integers(0, candidates.NUM_CLASSES, BATCH, dtype=np.int64)
    data_path = args.out / "cifar_like.npz"
    save_npz(data_path, {"x": x, "y": y})
    print(f"{data_path}: x {list(x.shape)} float32, y {list(y.shape)} int64")


if __name__ == "__main__":
    main()
