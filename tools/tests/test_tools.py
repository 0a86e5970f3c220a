"""The Python side regenerates what the repository commits: the example models, the sample data and the reference scores.

Run with Debian's interpreter: /usr/bin/python3 -m pytest tools/tests
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent
REPO = TOOLS.parent
MODELS = REPO / "models"


def run(script, *args):
    subprocess.run([sys.executable, str(TOOLS / script), *map(str, args)], check=True, capture_output=True)


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    out = tmp_path_factory.mktemp("models")
    run("export_models.py", "--out", out)
    return out


@pytest.mark.parametrize("name", sorted(p.name for p in MODELS.glob("*.onnx")) + ["manifest.json"]
                         + ["text/text_classifier.onnx", "text/text_lstm.onnx", "text/manifest.json"])
def test_export_regenerates_the_committed_models_byte_for_byte(exported, name):
    assert (exported / name).read_bytes() == (MODELS / name).read_bytes()


def test_sample_data_is_regenerated_byte_for_byte(tmp_path):
    run("make_sample_data.py", "--out", tmp_path / "sample.npz")
    assert (tmp_path / "sample.npz").read_bytes() == (MODELS / "fashion-mnist-sample.npz").read_bytes()


def test_text_sample_is_regenerated_byte_for_byte(tmp_path):
    run("make_text_sample.py", "--out", tmp_path / "sample.npz")
    assert (tmp_path / "sample.npz").read_bytes() == (MODELS / "text" / "sample.npz").read_bytes()


@pytest.mark.parametrize("models,data,expected", [
    (MODELS, MODELS / "fashion-mnist-sample.npz", "expected_gradsign.json"),
    (MODELS / "text", MODELS / "text" / "sample.npz", "expected_gradsign_text.json"),
])
def test_reference_reproduces_the_committed_expected_scores(tmp_path, models, data, expected):
    out = tmp_path / "expected.json"
    run("reference/gradsign.py", "--models", models, "--data", data, "--out", out)
    fresh = json.loads(out.read_text())
    committed = json.loads((TOOLS / "reference" / expected).read_text())
    assert fresh.keys() == committed.keys()
    for model in committed:
        assert fresh[model]["sum_float64"] == committed[model]["sum_float64"], model
        assert fresh[model]["sum"] == pytest.approx(committed[model]["sum"], rel=1e-4), model


def test_proxy_reference_reproduces_the_committed_expected_values(tmp_path):
    out = tmp_path / "expected.json"
    run("reference/proxies.py", "--models", MODELS, "--data", MODELS / "fashion-mnist-sample.npz", "--out", out)
    assert json.loads(out.read_text()) == json.loads((TOOLS / "reference" / "expected_proxies.json").read_text())


def test_benchmark_regenerates_its_first_architecture_and_accuracy(tmp_path):
    run("nb201_benchmark.py", "--count", 1, "--out", tmp_path)
    assert (tmp_path / "arch_000.onnx").read_bytes() == (MODELS / "nb201" / "arch_000.onnx").read_bytes()
    fresh = (tmp_path / "truth.csv").read_text().splitlines()[1].split(",")
    committed = (MODELS / "nb201" / "truth.csv").read_text().splitlines()[1].split(",")
    # The genotype and the exported initial weights are exact. The trained accuracy repeats exactly on one machine, but float32
    # training diverges between CPUs (their vector units round differently), so across machines it is held to 1 point, 20 of
    # the 2,000 test images: enough to catch a changed recipe, not a different CPU (0.15 points seen between two machines).
    assert fresh[0] == committed[0] and fresh[2] == committed[2]
    assert abs(float(fresh[1]) - float(committed[1])) <= 0.01


@pytest.mark.parametrize("name", ["paddle/paddle_cnn.onnx", "paddle/manifest.json",
                                  "light/resnet_tiny_light.onnx", "light/manifest.json"])
def test_constant_weight_models_are_regenerated_byte_for_byte(tmp_path, name):
    run("export_constant_weight_models.py", "--out", tmp_path)
    assert (tmp_path / name).read_bytes() == (MODELS / name).read_bytes()


def test_assisted_nas_experiment_writes_its_tables_and_an_oracle_score_helps(tmp_path):
    """The experiment on the 30-cell table with an oracle 'score' (the accuracy itself): its outputs are complete, and
    assistance by a perfect proxy must beat vanilla after one trained architecture."""
    truth = MODELS / "nb201" / "truth.csv"
    lines = truth.read_text().splitlines()
    header = lines[0].split(",")
    oracle = tmp_path / "oracle.csv"
    oracle.write_text("genotype,oracle\n" + "".join(
        f"{row[header.index('genotype')]},{row[header.index('accuracy')]}\n" for row in (l.split(",") for l in lines[1:])))
    out = tmp_path / "out"
    run("experiments/assisted_nas.py", "--truth", truth, "--scores", oracle, "--assist", "oracle", "--seeds", 4,
        "--budget", 5, "--report", "1,5", "--algorithms", "random,rea", "--out", out)
    rows = list(csv.DictReader((out / "assisted_nas.csv").open()))
    assert len(rows) == 2 * 2 * 5  # algorithms x variants x budgets
    first = {(r["algorithm"], r["variant"]): float(r["mean"]) for r in rows if r["budget"] == "1"}
    for algorithm in ("random", "rea"):
        assert first[(algorithm, "assisted:oracle")] > first[(algorithm, "vanilla")]
    table = [line for line in (out / "assisted_nas.md").read_text().splitlines() if line.startswith("|")]
    assert table[0].startswith("| algorithm | budget | vanilla | assisted:oracle | Δ vs vanilla |")
    assert len(table) == 2 + 2 * 2


def test_the_500_cell_table_extends_the_30_cell_one_and_every_cell_is_scored():
    big = list(csv.DictReader((MODELS / "nb201-500" / "truth.csv").open()))
    small = list(csv.DictReader((MODELS / "nb201" / "truth.csv").open()))
    assert len(big) == 500 and len({r["genotype"] for r in big}) == 500
    assert [(r["model"], r["accuracy"], r["genotype"]) for r in big[:30]] == \
        [(r["model"], r["accuracy"], r["genotype"]) for r in small]
    scores = {Path(r["model"]).stem: r for r in csv.DictReader((MODELS / "nb201-500" / "scores.csv").open())}
    assert all(scores[r["model"]]["status"] == "ok" and float(scores[r["model"]]["gradsign"]) > 0 for r in big)
