"""assisted_nas.py reads the real NAS-Bench-201 table and our scores of it, restricted to the cells scored at one seed."""

import csv
import math
import subprocess
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))
import assisted_nas  # noqa: E402

TRUTH_FIELDS = ["index", "arch_str", "cifar10_test", "cifar10valid_test", "cifar10valid_valid", "cifar100_test",
                "imagenet16_test"]
SCORE_FIELDS = ["index", "seed", "arch_str", "gradsign", "naswot", "params"]


def genotype(ops):
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def cell(index):
    """Six ops spelling `index` in base 5, so every index names a different cell."""
    ops = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    return genotype([ops[(index // 5 ** e) % 5] for e in range(6)])


def write(path, fields, rows):
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


@pytest.fixture
def tables(tmp_path):
    """Ten even cells with truth; cells 0, 2, 4, 6 scored at seed 0 (4 twice: the first row counts), 0 and 8 at seed 1."""
    truth = tmp_path / "truth.csv"
    write(truth, TRUTH_FIELDS, [{"index": i, "arch_str": cell(i), "cifar10_test": 90 + i / 100, "cifar10valid_test": 80 + i,
                                 "cifar10valid_valid": 70 + i, "cifar100_test": 60, "imagenet16_test": 30}
                                for i in range(0, 20, 2)])
    scores = tmp_path / "scores.csv"
    write(scores, SCORE_FIELDS, [
        {"index": 0, "seed": 0, "arch_str": cell(0), "gradsign": 5.0, "naswot": "", "params": 100},
        {"index": 2, "seed": 0, "arch_str": cell(2), "gradsign": 7.0, "naswot": 1.5, "params": 200},
        {"index": 8, "seed": 1, "arch_str": cell(8), "gradsign": 1.0, "naswot": 1.0, "params": 900},
        {"index": 4, "seed": 0, "arch_str": cell(4), "gradsign": 6.0, "naswot": 2.5, "params": 300},
        {"index": 4, "seed": 0, "arch_str": cell(4), "gradsign": 99.0, "naswot": 9.9, "params": 999},
        {"index": 0, "seed": 1, "arch_str": cell(0), "gradsign": 2.0, "naswot": 0.5, "params": 100},
        {"index": 6, "seed": 0, "arch_str": cell(6), "gradsign": 4.0, "naswot": 0.1, "params": 400},
    ])
    return truth, scores


def arch(index):
    return assisted_nas.parse_genotype(cell(index))


def test_the_space_is_the_cells_scored_at_the_seed_with_the_cifar10valid_test_accuracy(tables):
    truth, scores = tables
    objective, assists = assisted_nas.load_nb201(truth, scores, ["gradsign", "naswot"], seed=0)
    assert set(objective.space.members) == {arch(i) for i in (0, 2, 4, 6)}
    assert objective(arch(4)) == (0.84, 1.0) and objective.optimum == 0.86
    assert assists["gradsign"]([arch(0), arch(4), arch(8)]) == [5.0, 6.0, -math.inf]
    assert math.isnan(assists["naswot"].table[arch(0)])  # an empty score stays missing (the search reads it as -inf)

    objective, assists = assisted_nas.load_nb201(truth, scores, ["params"], seed=1)
    assert set(objective.table) == {arch(0), arch(8)} and assists["params"].table[arch(8)] == 900.0


def test_cells_keeps_the_first_scored_cells_in_file_order(tables):
    truth, scores = tables
    objective, _ = assisted_nas.load_nb201(truth, scores, ["gradsign"], seed=0, cells=3)
    assert set(objective.table) == {arch(0), arch(2), arch(4)}
    with pytest.raises(ValueError, match="4 cells scored at seed 0, 5 wanted"):
        assisted_nas.load_nb201(truth, scores, ["gradsign"], seed=0, cells=5)


def test_a_scored_cell_must_be_that_cell_of_the_truth_table(tables, tmp_path):
    truth, _ = tables
    wrong = tmp_path / "wrong.csv"
    write(wrong, SCORE_FIELDS, [{"index": 2, "seed": 0, "arch_str": cell(4), "gradsign": 1, "naswot": 1, "params": 1}])
    with pytest.raises(ValueError, match="is not that cell"):
        assisted_nas.load_nb201(truth, wrong, ["gradsign"])


def test_the_experiment_states_its_restricted_space(tables, tmp_path):
    truth, scores = tables
    out = tmp_path / "out"
    subprocess.run([sys.executable, str(EXPERIMENTS / "assisted_nas.py"), "--truth", str(truth), "--scores", str(scores),
                    "--assist", "gradsign", "--seeds", "3", "--budget", "4", "--report", "1,4", "--algorithms", "random",
                    "--name", "nb201", "--out", str(out)], check=True, capture_output=True)
    text = (out / "nb201.md").read_text()
    assert "the 4 NAS-Bench-201 cells scored at seed 0" in text and "cifar10valid_test" in text
    assert "| random | 4 | 0.8600 ± 0.0000 |" in text  # all four cells trained: the best is always found


def test_the_accuracy_is_the_one_nb201_evaluates_against():
    nb201 = pytest.importorskip("nb201")  # needs torch
    assert assisted_nas.NB201_ACCURACY == nb201.TRUTH


@pytest.mark.skipif(not (Path(assisted_nas.REPO).parent / "shared" / "nb201" / "nb201_acc_even.csv").exists(),
                    reason="../shared/nb201 is absent")
def test_the_committed_scores_join_the_shared_table():
    objective, _ = assisted_nas.load_nb201(Path(assisted_nas.REPO).parent / "shared" / "nb201" / "nb201_acc_even.csv",
                                           EXPERIMENTS / "results" / "nb201_scores.csv", ["gradsign"], cells=800)
    assert len(objective.table) == 800 and 0.85 < objective.optimum < 0.95
