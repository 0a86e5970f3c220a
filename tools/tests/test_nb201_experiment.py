"""The NAS-Bench-201 experiment builds the benchmark's own network and samples and evaluates cells reproducibly."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "experiments"))
import nb201  # noqa: E402

ALL_CONV3 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def params(module):
    return sum(p.numel() for p in module.parameters())


def test_the_network_has_the_benchmark_parameter_counts():
    # NAS-Bench-201's CIFAR-10 table gives 1.5315 M parameters for the all-3x3 cell and 0.0733 M for the all-none cell.
    assert round(params(nb201.build(ALL_CONV3, 0, 0)) / 1e6, 4) == 1.5315
    assert round(params(nb201.build(ALL_NONE, 0, 0)) / 1e6, 4) == 0.0733


def test_initialization_is_seeded_per_cell_and_seed():
    a, b, c = nb201.build(ALL_CONV3, 0, 7), nb201.build(ALL_CONV3, 0, 7), nb201.build(ALL_CONV3, 1, 7)
    first = lambda m: next(m.parameters()).detach().numpy()
    assert np.array_equal(first(a), first(b)) and not np.array_equal(first(a), first(c))
    assert nb201.scored_weights(a) < params(a)  # the BatchNorm and bias parameters are not scored


@pytest.mark.skipif(not (nb201.SHARED / "nb201_acc_even.csv").exists(), reason="../shared/nb201 is absent")
def test_the_cell_sample_is_uniform_over_the_even_half_and_reproducible(tmp_path):
    truth = nb201.read_truth()
    cells = nb201.sample_cells(truth, 1000)
    assert cells == nb201.sample_cells(truth, 1000) and len(set(cells)) == 1000
    assert all(i % 2 == 0 and i in truth for i in cells)
    nb201.batch_file(tmp_path / "batch.npz")
    batch = np.load(tmp_path / "batch.npz")
    assert batch["x"].shape == (128, 3, 32, 32) and batch["x"].dtype == np.float32
    assert abs(batch["x"].mean()) < 0.3 and 0.7 < batch["x"].std() < 1.3  # normalized with CIFAR-10's statistics
