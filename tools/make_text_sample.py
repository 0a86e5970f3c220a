"""Write models/text/sample.npz: token ids and labels for the example text classifier.

Usage: /usr/bin/python3 tools/make_text_sample.py [--count 256] [--seed 0] [--out FILE]

No text corpus is installable here, so the sample is a synthetic topic-classification task,
documented as such: 4 topics over a vocabulary of ids 1..999 (0 is padding). Each topic
draws tokens from its own Zipf distribution (a topic-specific random order of the ids),
mixed half and half with a shared background Zipf distribution, so topics are learnable
but overlap as real topics do. Sample i has topic i mod 4 (any prefix is balanced) and a
length uniform in 8..32, padded with 0 at the end.

The npz holds x: int64 [N,32] and y: int64 [N], written byte-identically on every rerun.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from candidates import TEXT_CLASSES, TEXT_LENGTH, TEXT_VOCAB  # noqa: E402
from make_sample_data import save_npz  # noqa: E402

MIN_LENGTH = 8


def text_sample(count, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(1, TEXT_VOCAB)
    zipf = 1.0 / np.arange(1, TEXT_VOCAB)
    zipf /= zipf.sum()
    background = zipf[rng.permutation(len(ids))]
    topics = [0.5 * zipf[rng.permutation(len(ids))] + 0.5 * background for _ in range(TEXT_CLASSES)]
    x = np.zeros((count, TEXT_LENGTH), dtype=np.int64)
    y = np.arange(count, dtype=np.int64) % TEXT_CLASSES
    for i in range(count):
        length = rng.integers(MIN_LENGTH, TEXT_LENGTH + 1)
        x[i, :length] = rng.choice(ids, size=length, p=topics[y[i]])
    return x, y


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=repo / "models" / "text" / "sample.npz")
    args = parser.parse_args()
    x, y = text_sample(args.count, args.seed)
    save_npz(args.out, {"x": x, "y": y})
    print(f"{args.out}: {len(y)} sequences, mean length {(x != 0).sum(1).mean():.1f}, "
          f"class counts {np.bincount(y, minlength=TEXT_CLASSES).tolist()}")


if __name__ == "__main__":
    main()
