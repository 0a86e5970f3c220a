"""Write models/fashion-mnist-sample.npz: a small, class-balanced slice of the Fashion-MNIST test set.

Usage: /usr/bin/python3 tools/make_sample_data.py [--count 256] [--source DIR] [--out FILE]

The images come from Debian's dataset-fashion-mnist package (gzipped IDX files). Selection
needs no RNG: walking the test set in file order, take the first unused image of class 0,
then of class 1, ..., class 9, and repeat. Any prefix of the sample (e.g. the first 64
images used as a GradSign batch) is therefore balanced over the 10 classes too.

The npz holds x: float32 [N,1,28,28] in [0,1] and y: int64 [N]. It is written like
np.savez_compressed but with fixed zip timestamps, so reruns are byte-identical.
"""

import argparse
import gzip
import zipfile
from pathlib import Path

import numpy as np

NUM_CLASSES = 10


def read_idx(path):
    """Read a gzipped IDX file (big-endian header: magic with dtype code and rank, then the dims)."""
    data = gzip.decompress(path.read_bytes())
    assert data[:2] == b"\0\0" and data[2] == 0x08, f"{path}: not an unsigned-byte IDX file"
    rank = data[3]
    dims = np.frombuffer(data, ">u4", count=rank, offset=4)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * rank).reshape(dims)


def balanced_indices(labels, count):
    per_class = [np.flatnonzero(labels == c) for c in range(NUM_CLASSES)]
    rounds = -(-count // NUM_CLASSES)
    assert all(len(idx) >= rounds for idx in per_class), "not enough images per class"
    return np.array([per_class[c][r] for r in range(rounds) for c in range(NUM_CLASSES)][:count])


def save_npz(path, arrays):
    """Same layout as np.savez_compressed, but with a fixed timestamp on every zip entry."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as entry:
                np.lib.format.write_array(entry, array, allow_pickle=False)


def main():
    repo = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=256)
    parser.add_argument("--source", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    parser.add_argument("--out", type=Path, default=repo / "models" / "fashion-mnist-sample.npz")
    args = parser.parse_args()

    images = read_idx(args.source / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(args.source / "t10k-labels-idx1-ubyte.gz")
    assert images.shape == (len(labels), 28, 28)

    idx = balanced_indices(labels, args.count)
    x = (images[idx].astype(np.float32) / 255.0)[:, None]
    y = labels[idx].astype(np.int64)
    save_npz(args.out, {"x": x, "y": y})
    print(f"{args.out}: {len(y)} images, class counts {np.bincount(y, minlength=NUM_CLASSES).tolist()}")


if __name__ == "__main__":
    main()
