"""onnx_gradsign.nas: every algorithm, vanilla and GradSign-assisted, on a toy space with a known optimum (bit strings of
length 8, accuracy = fraction of ones, score = accuracy + fixed noise); tabular mode; determinism. No CLI, no torch.

Run: /usr/bin/python3 -m pytest tools/python/tests/test_nas.py
"""
import math
import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from onnx_gradsign import nas  # noqa: E402
from onnx_gradsign.nas.spaces import nb201  # noqa: E402

TRUTH = Path(__file__).resolve().parents[3] / "models" / "nb201" / "truth.csv"
N = 8


def sample(rng):
    return tuple(rng.randrange(2) for _ in range(N))


def mutate(arch, rng):
    i = rng.randrange(N)
    return arch[:i] + (1 - arch[i],) + arch[i + 1:]


SPACE = nas.SearchSpace(sample, mutate, decisions=((0, 1),) * N)


def accuracy(arch):
    return sum(arch) / N


def objective(arch):
    return accuracy(arch), 1.0 + sum(arch)  # cost grows with the number of ones


def score(archs):
    return [accuracy(a) + random.Random(str(a)).gauss(0, 0.1) for a in archs]


def calls_to_optimum(history):
    return next((i + 1 for i, t in enumerate(history) if t.accuracy == 1.0), None)


try:
    import optuna  # noqa: F401
    HAVE_OPTUNA = True
except ImportError:
    HAVE_OPTUNA = False

# (algorithm, budget): seed 3 throughout (the toy's mean over seeds 0..9 favours the assisted variants as well)
CASES = [("random", 256), ("rea", 80), ("reinforce", 80), ("bohb", 40)]


@pytest.mark.parametrize("name,budget", CASES)
def test_vanilla_and_assisted_find_the_optimum_assisted_with_fewer_train_calls(name, budget):
    if name == "bohb" and not HAVE_OPTUNA:
        pytest.skip("bohb needs optuna (apt-get install python3-optuna)")
    algorithm = nas.ALGORITHMS[name]
    vanilla = algorithm(SPACE, objective, budget, seed=3)
    assisted = algorithm(SPACE, objective, budget, seed=3, score=score)
    for result in (vanilla, assisted):
        assert result.best.arch == (1,) * N and result.best.accuracy == 1.0
        assert result.train_calls == len(result.history) <= budget
        assert len({t.arch for t in result.history}) == len(result.history)  # no arch trained twice
        assert result.total_cost == pytest.approx(sum(t.cost for t in result.history))
    assert vanilla.score_calls == 0 and assisted.score_calls > 0
    assert calls_to_optimum(assisted.history) <= calls_to_optimum(vanilla.history)


@pytest.mark.parametrize("name", list(nas.ALGORITHMS))
@pytest.mark.parametrize("assisted", [False, True])
def test_same_seed_same_history(name, assisted):
    if name == "bohb" and not HAVE_OPTUNA:
        pytest.skip("bohb needs optuna")
    algorithm = nas.ALGORITHMS[name]
    kwargs = {"score": score} if assisted else {}
    first = algorithm(SPACE, objective, 15, seed=7, **kwargs).history
    assert first == algorithm(SPACE, objective, 15, seed=7, **kwargs).history
    assert first != algorithm(SPACE, objective, 15, seed=8, **kwargs).history


@pytest.mark.parametrize("name", list(nas.ALGORITHMS))
def test_budgets(name):
    if name == "bohb" and not HAVE_OPTUNA:
        pytest.skip("bohb needs optuna")
    algorithm = nas.ALGORITHMS[name]
    assert algorithm(SPACE, objective, 7, seed=0, score=score).train_calls == 7
    result = algorithm(SPACE, objective, 100, seed=0, cost_budget=20.0)
    assert result.total_cost >= 20.0 and result.total_cost - result.history[-1].cost < 20.0


@pytest.mark.skipif(not HAVE_OPTUNA, reason="bohb needs optuna")
def test_bohb_multi_fidelity_prunes_with_hyperband():
    steps = 9

    def train_and_eval(arch, report):
        for step in range(1, steps + 1):
            value = accuracy(arch) * step / steps
            if report(step, value):
                return value, float(step)
        return accuracy(arch), float(steps)

    result = nas.bohb(SPACE, train_and_eval, 40, seed=0, multi_fidelity=True, max_resource=steps, n_startup_trials=5)
    states = [t.state.name for t in result.extra["study"].trials]
    assert result.train_calls == 40 and "PRUNED" in states
    assert any(t.cost < steps for t in result.history)


def test_gradsign_scorer_maps_records():
    class FakeScorer:
        def score(self, modules, proxies, sample_shape, names, **options):
            assert proxies == ("gradsign",) and sample_shape == (1, 4, 4) and options == {"batch_size": 8}
            return [{"status": "ok", "gradsign": m} if m >= 0 else {"status": "error", "error": "x"} for m in modules]

    fn = nas.gradsign_scorer(lambda arch: sum(arch) - 1, (1, 4, 4), FakeScorer(), batch_size=8)
    assert fn([(1, 1), (0, 0), (1, 0)]) == [1.0, -math.inf, 0.0]


def tiny_table(tmp_path):
    archs = [("nor_conv_3x3",) * 6, ("skip_connect",) * 6, ("nor_conv_1x1",) * 3 + ("none",) * 3,
             ("avg_pool_3x3",) * 6, ("nor_conv_3x3",) * 5 + ("none",)]
    truth = tmp_path / "truth.csv"
    truth.write_text("model,accuracy,genotype,params,train_seconds\n" + "".join(
        f"arch_{i:03d},{acc},{nb201.genotype_string(a)},1,{10 + i}\n"
        for i, (a, acc) in enumerate(zip(archs, (0.9, 0.5, 0.7, 0.6, 0.8)))))
    cli = tmp_path / "scores.csv"  # as `onnx-gradsign score --format csv`: keyed by model path; arch_004 failed
    cli.write_text("model,sha256,status,error,gradsign\n" + "".join(
        f"models/x/arch_{i:03d}.onnx,0,{'error' if i == 4 else 'ok'},,{'' if i == 4 else s}\n"
        for i, s in enumerate((300, 100, 200, 150, 0))))
    return archs, truth, cli


def test_tabular_objective_and_scores(tmp_path):
    archs, truth, cli = tiny_table(tmp_path)
    objective_ = nas.TabularObjective.from_csv(truth)
    assert objective_(archs[2]) == (0.7, 12.0) and objective_.optimum == 0.9
    with pytest.raises(KeyError):
        objective_(("none",) * 6)
    joined = nas.join_cli_scores(cli, truth, out=tmp_path / "joined.csv")
    assert len(joined) == 4
    scores = nas.TabularScores.from_csv(tmp_path / "joined.csv")
    assert scores([archs[0], archs[4], ("none",) * 6]) == [300.0, -math.inf, -math.inf]
    space = objective_.space
    rng = random.Random(0)
    for _ in range(50):
        assert space.sample(rng) in objective_.table
        child = space.mutate(archs[0], rng)
        assert child in objective_.table and child != archs[0]
    nearest = nas.TableSpace(objective_.table, neighbours=1)
    assert nearest.mutate(archs[0], rng) == archs[4]  # the only member one edge away
    assert space.project(("nor_conv_3x3",) * 4 + ("none",) * 2, rng) == archs[4]
    for name, algorithm in nas.ALGORITHMS.items():  # every query stays inside the table (else KeyError)
        if name == "bohb" and not HAVE_OPTUNA:
            continue
        for kwargs in ({}, {"score": scores}):
            result = algorithm(space, objective_, 5, seed=1, **kwargs)
            assert result.best.accuracy == 0.9, (name, kwargs)
            # a converged REINFORCE policy keeps proposing trained archs: the run ends after `patience` repeats
            assert result.train_calls == 5 or (name == "reinforce" and 1 <= result.train_calls < 5)


def test_nb201_space_and_truth_csv_genotypes():
    rng = random.Random(0)
    arch = nb201.sample(rng)
    assert len(arch) == 6 and all(op in nb201.OPS for op in arch)
    child = nb201.mutate(arch, rng)
    assert sum(a != b for a, b in zip(arch, child)) == 1
    assert nb201.parse_genotype(nb201.genotype_string(arch)) == arch
    assert nb201.genotype_string(("nor_conv_3x3", "none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "none")) == \
        "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    if TRUTH.exists():
        table = nas.TabularObjective.from_csv(TRUTH).table
        assert len(table) == 30 and all(len(a) == 6 for a in table)
