"""The Python package against the CLI it drives: export keeps BatchNorm and the module's state, Scorer answers exactly as
`onnx-gradsign score` does and survives bad input and a dead server, score_on_dask equals a single-process run.

Run after building the CLI: /usr/bin/python3 -m pytest tools/python/tests
"""
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
torch = pytest.importorskip("torch", reason="export and module scoring need torch")
pytest.importorskip("onnx", reason="export needs onnx")
from torch import nn  # noqa: E402

from onnx_gradsign import Scorer, ScoringError, check_normalization, export, find_binary, score_on_dask  # noqa: E402

try:
    BINARY = find_binary()
except FileNotFoundError as missing:
    pytest.skip(str(missing), allow_module_level=True)

MODELS = Path(__file__).resolve().parents[3] / "models"
DATA = MODELS / "fashion-mnist-sample.npz"
EXAMPLE = torch.zeros(2, 1, 28, 28)


def cnn():
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, stride=2), nn.BatchNorm2d(8), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))


def mlp():
    torch.manual_seed(1)
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 10))


def cli_score(paths, *options):
    """`onnx-gradsign score PATHS --format json --threads 1 OPTIONS` (one thread as the scorer fixture's: float sums such
    as snip's depend on the thread count), records by model."""
    argv = [BINARY, "score", *map(str, paths), "--format", "json", "--threads", "1", *options]
    done = subprocess.run(argv, capture_output=True, text=True, check=True)
    return {r["model"]: r for r in json.loads(done.stdout)}


def without_time(record):
    return {k: v for k, v in record.items() if k != "seconds"}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    folder = tmp_path_factory.mktemp("exported")
    return [export(cnn(), EXAMPLE, folder / "cnn.onnx"), export(mlp(), EXAMPLE, folder / "mlp.onnx")]


@pytest.fixture(scope="module")
def scorer():
    with Scorer(threads=1) as server:
        yield server


@pytest.mark.parametrize("build, batchnorms", [(cnn, 2), (mlp, 1)])
def test_export_keeps_batchnorm_and_leaves_the_module_as_it_was(tmp_path, build, batchnorms):
    import onnx

    module = build().eval()
    module[-1].train()  # mixed flags: each submodule's own flag must come back, not just the root's
    state = {name: t.clone() for name, t in module.state_dict().items()}
    modes = [m.training for m in module.modules()]
    rng = torch.get_rng_state()

    path = export(module, EXAMPLE, tmp_path / "model.onnx")

    assert sum(n.op_type == "BatchNormalization" for n in onnx.load(str(path)).graph.node) == batchnorms
    after = module.state_dict()
    assert after.keys() == state.keys() and all(torch.equal(after[k], state[k]) for k in state)
    assert [m.training for m in module.modules()] == modes
    assert torch.equal(torch.get_rng_state(), rng)  # training-mode Dropout drew nothing from the caller's stream


def test_an_eval_mode_export_that_folded_batchnorm_is_refused(tmp_path):
    module = cnn().eval()
    torch.onnx.export(module, EXAMPLE, str(tmp_path / "eval.onnx"), opset_version=17)  # the default: BatchNorm folded into Conv
    with pytest.raises(ValueError, match=r"eval\.onnx: 0 BatchNormalization node\(s\) for the module's 2 BatchNorm"):
        check_normalization(module, tmp_path / "eval.onnx")


def test_scorer_answers_exactly_as_the_cli(scorer, exported):
    paths = [*exported, MODELS / "resnet_tiny.onnx"]
    options = dict(proxies=("gradsign", "snip"), seeds=(0, 1), data=DATA, batch_size=8)
    records = scorer.score(paths, **options)
    expected = cli_score(paths, "--proxy", "gradsign,snip", "--seeds", "0,1", "--data", str(DATA), "--batch-size", "8")
    assert [r["model"] for r in records] == [str(p) for p in paths]
    assert all(r["status"] == "ok" for r in records)
    assert [without_time(r) for r in records] == [without_time(expected[str(p)]) for p in paths]


def test_modules_are_exported_and_named(scorer, exported):
    records = scorer.score([(cnn(), EXAMPLE), mlp()], data=DATA, batch_size=8, sample_shape=(1, 28, 28), names=[None, "the mlp"])
    from_files = scorer.score(exported, data=DATA, batch_size=8)
    assert [r["model"] for r in records] == ["Sequential", "the mlp"]
    assert [r["gradsign"] for r in records] == [r["gradsign"] for r in from_files]


def test_records_are_named_after_variables_ranked_and_framed(scorer):
    wide, narrow = mlp(), mlp()
    seen = []
    results = scorer.score([wide, narrow], proxies=("gradsign", "synflow"), data=DATA, batch_size=8, sample_shape=(1, 28, 28),
                           progress=lambda done, total, record: seen.append((done, total, record["model"])))
    assert [r["model"] for r in results] == ["wide", "narrow"]
    assert seen == [(1, 2, "wide"), (2, 2, "narrow")]
    best = results.ranked()
    assert [r["gradsign"] for r in best] == sorted((r["gradsign"] for r in results), reverse=True)
    frame = results.to_frame(ranked=True)
    assert list(frame.index) == [r["model"] for r in best] and list(frame["rank"]) == [1, 2]
    assert list(frame.columns[:6]) == ["rank", "sha256", "status", "error", "gradsign", "synflow"]


def test_a_misspelt_option_names_the_closest(scorer):
    with pytest.raises(TypeError, match="did you mean batch_size"):
        scorer.score([MODELS / "resnet_tiny.onnx"], batch_sise=8)
    assert {"batch_size", "param_scope", "input_shape"} <= {o["name"] for o in scorer.options()}


def test_a_token_id_module_scores_on_its_token_sample(scorer):
    """A text model goes through Scorer like any other: exported from an int64 example, scored on integer token ids."""
    sys.path.insert(0, str(MODELS.parent / "tools"))
    import candidates
    module, _ = candidates.build("text_classifier")
    example = torch.ones(2, candidates.TEXT_LENGTH, dtype=torch.long)
    [record] = scorer.score([(module, example)], data=MODELS / "text" / "sample.npz", batch_size=8, init="keep")
    [from_file] = scorer.score([MODELS / "text" / "text_classifier.onnx"], data=MODELS / "text" / "sample.npz", batch_size=8,
                               init="keep")
    assert record["status"] == "ok" and record["gradsign"] == from_file["gradsign"] > 0


def test_a_refused_request_raises_and_a_bad_model_is_an_error_record(scorer, tmp_path):
    with pytest.raises(ScoringError, match="no such file"):
        scorer.score([tmp_path / "missing.onnx"])
    (tmp_path / "bad.onnx").write_bytes(b"not a protobuf")
    [bad] = scorer.score([tmp_path / "bad.onnx"], batch_size=8)
    assert bad["status"] == "error" and bad["error"]
    [good] = scorer.score([MODELS / "resnet_tiny.onnx"], batch_size=8)
    assert good["status"] == "ok"


def test_concurrent_callers_get_their_own_answers(scorer):
    paths = [MODELS / "resnet_tiny.onnx", MODELS / "mlp_matmul.onnx"] * 2
    with ThreadPoolExecutor(4) as pool:
        records = list(pool.map(lambda p: scorer.score([p], batch_size=8)[0], paths))
    assert [r["model"] for r in records] == [str(p) for p in paths]
    assert records[0]["gradsign"] == records[2]["gradsign"] and records[1]["gradsign"] == records[3]["gradsign"]
    assert scorer.health()["status"] == "ready" and "gradsign" in scorer.version()["proxies"]


def test_a_killed_server_is_restarted(scorer):
    [before] = scorer.score([MODELS / "resnet_tiny.onnx"], batch_size=8)
    killed = scorer._process
    killed.kill()
    [after] = scorer.score([MODELS / "resnet_tiny.onnx"], batch_size=8)
    assert scorer._process is not killed and after["gradsign"] == before["gradsign"]


def test_a_server_that_keeps_dying_raises():
    with Scorer(binary=shutil.which("false")) as dying:
        with pytest.raises(ScoringError, match="died twice"):
            dying.health()


def test_score_on_dask_equals_a_single_process_run():
    distributed = pytest.importorskip("distributed", reason="score_on_dask needs distributed (Debian: python3-distributed)")
    files = [str(p) for p in sorted(MODELS.glob("*.onnx"))]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        records = score_on_dask(client, files, batch_size=8, threads=1)
    expected = cli_score(files, "--batch-size", "8")
    keys = ("model", "sha256", "gradsign")
    assert [tuple(r[k] for k in keys) for r in records] == [tuple(expected[f][k] for k in keys) for f in sorted(files)]
