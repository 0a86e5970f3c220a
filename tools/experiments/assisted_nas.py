#!/usr/bin/env python3
"""Vanilla vs zero-cost-assisted NAS in tabular mode: best-found test accuracy vs budget (number of architectures trained).

For each algorithm of onnx_gradsign.nas (random search, REA, REINFORCE, BOHB-style TPE) and each of N seeds (default 50),
the vanilla variant and one assisted variant per proxy in --assist (default gradsign) run with the same budget of table
queries on a table of trained NAS-Bench-201 cells (--truth: genotype -> accuracy, train_seconds; default
models/nb201-500/truth.csv) and a table of precomputed zero-cost scores (--scores: the CLI's `score --format csv` output,
joined with the truth table on the model name, or a CSV keyed by genotype). Nothing is trained or scored at run time:
a query is a table lookup, as NAS-Bench-201 studies do, and scoring (a fraction of a second per cell, against about 25 s
of training) is not charged to the budget; the mean number of cells each run scored is reported.

Outputs in --out, named after --name (default assisted_nas): NAME.csv (algorithm, variant, budget, mean, ci95 half-width,
n, mean archs scored), NAME.md (the search space, each proxy's Spearman ρ on it, then a Markdown table at the --report
budgets: vanilla, each assisted variant, and its difference from vanilla with a Welch 95% CI) and, when matplotlib is
importable, NAME.png (mean ± 95% CI curves).

The best-so-far after b trained archs is read from one run with the largest budget. A run that stops early (a converged
REINFORCE policy, an exhausted table) keeps its last value. The 95% CI is mean ± t(0.975, N-1)·sd/√N.

NAS-Bench-201 mode (--truth ../shared/nb201/nb201_acc_even.csv, recognised by its arch_str column; --scores
tools/experiments/results/nb201_scores.csv, the scores tools/experiments/nb201.py appends): the accuracy searched for and
reported is cifar10valid_test, the column nb201.py evaluates the proxies against, as a fraction like the toy tables
(REINFORCE's learning rate assumes rewards of that scale; in % its policy collapses after a few cells). The space is restricted to the
cells scored at initialization seed --score-seed (default 0), optionally to the first --cells of them in the file's order
(the file only grows by appending, so a count names the same cells later); the output states the size and the seed. The
table has no training times: a trained cell costs 1.

Settings: each algorithm's defaults (tools/python/onnx_gradsign/nas/algorithms.py) for tables of 100 architectures or
more; smaller tables (models/nb201, 30 cells) get smaller pools and populations, and mean little.

    /usr/bin/python3 tools/experiments/assisted_nas.py --seeds 50 --budget 50 --out tools/experiments/results
    /usr/bin/python3 tools/experiments/assisted_nas.py --truth ../shared/nb201/nb201_acc_even.csv \
        --scores tools/experiments/results/nb201_scores.csv --assist gradsign,params --name nb201_assisted_nas
"""
import argparse
import csv
import math
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "python"))
from onnx_gradsign import nas  # noqa: E402
from onnx_gradsign.nas.spaces.nb201 import parse_genotype  # noqa: E402

NB201_ACCURACY = "cifar10valid_test"  # nb201.py's TRUTH: what GradSign's own code correlates with
SMALL_TABLE = 100
SMALL_TABLE_SETTINGS = {
    "random": {"candidates": 10, "top_k": 2},
    "rea": {"population": 5, "sample_size": 2, "init_factor": 3, "mutants": 3},
    "reinforce": {"lr": 0.5, "warmup_steps": 5, "warmup_batch": 10},
    "bohb": {"n_startup_trials": 5, "proposals": 3},
}


def t975(dof):
    """The 97.5% quantile of Student's t (the normal one without scipy)."""
    try:
        from scipy.stats import t
        return float(t.ppf(0.975, dof))
    except ImportError:
        return 1.96


def ranks(values):
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2
        i = j + 1
    return out


def spearman(x, y):
    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def load_scores(path, truth, proxy):
    """TabularScores of one proxy, from a CLI scores CSV (joined on the model name) or a genotype-keyed CSV."""
    with open(path) as f:
        header = f.readline()
    if header.startswith("genotype"):
        return nas.TabularScores.from_csv(path, score=proxy)
    joined = nas.join_cli_scores(path, truth, proxy=proxy)
    if not joined:
        sys.exit(f"{path}: no '{proxy}' scores for the models of {truth}")
    return nas.TabularScores({parse_genotype(g): v for g, v in joined.items()})


def nb201_number(text):
    return float(text) if text not in ("", None) else math.nan


def load_nb201(truth_csv, scores_csv, proxies, seed=0, cells=None):
    """The real NAS-Bench-201 table restricted to the cells nb201.py scored at initialization `seed` (the first `cells`
    of them in file order, if given): (TabularObjective of cifar10valid_test as a fraction, {proxy: TabularScores})."""
    with open(truth_csv, newline="") as f:
        truth = {int(row["index"]): row for row in csv.DictReader(f)}
    scored = {}
    with open(scores_csv, newline="") as f:
        for row in csv.DictReader(f):
            if int(row["seed"]) != seed or int(row["index"]) in scored:
                continue
            if cells is not None and len(scored) == cells:
                break
            index = int(row["index"])
            if index not in truth or truth[index]["arch_str"] != row["arch_str"]:
                raise ValueError(f"{scores_csv}: cell {index} {row['arch_str']} is not that cell of {truth_csv}")
            scored[index] = row
    if not scored or (cells is not None and len(scored) < cells):
        raise ValueError(f"{scores_csv}: {len(scored)} cells scored at seed {seed}, {cells or 'some'} wanted")
    archs = {index: parse_genotype(row["arch_str"]) for index, row in scored.items()}
    objective = nas.TabularObjective({archs[i]: (float(truth[i][NB201_ACCURACY]) / 100, 1.0) for i in scored})
    scores = {proxy: nas.TabularScores({archs[i]: nb201_number(row[proxy]) for i, row in scored.items()})
              for proxy in proxies}
    return objective, scores


def is_nb201_truth(path):
    with open(path, newline="") as f:
        return "arch_str" in next(csv.reader(f))


def summary(values, tq):
    mean = statistics.mean(values)
    ci = tq * statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else math.nan
    return mean, ci


def welch(a, b):
    """Mean of b − a and its 95% half-width (Welch)."""
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0:
        return statistics.mean(b) - statistics.mean(a), 0.0
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    return statistics.mean(b) - statistics.mean(a), t975(dof) * se


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truth", default=REPO / "models" / "nb201-500" / "truth.csv", type=Path,
                        help="a toy truth.csv (genotype, accuracy, train_seconds) or NAS-Bench-201's nb201_acc_even.csv")
    parser.add_argument("--scores", default=REPO / "models" / "nb201-500" / "scores.csv", type=Path,
                        help="CLI scores CSV (model path -> proxies), a CSV keyed by genotype, or nb201_scores.csv")
    parser.add_argument("--score-seed", type=int, default=0, help="NAS-Bench-201: the initialization seed of the scores")
    parser.add_argument("--cells", type=int, help="NAS-Bench-201: the first CELLS scored cells only (default: all)")
    parser.add_argument("--name", default="assisted_nas", help="stem of the output files")
    parser.add_argument("--assist", default="gradsign", help="comma-separated score columns, one assisted variant each")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--report", default="5,10,20,50", help="budgets shown in the Markdown table")
    parser.add_argument("--algorithms", default=",".join(nas.ALGORITHMS))
    parser.add_argument("--out", default=Path("/tmp/assisted_nas"), type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    proxies = args.assist.split(",")
    if is_nb201_truth(args.truth):
        objective, assists = load_nb201(args.truth, args.scores, proxies, args.score_seed, args.cells)
        space = (f"search space: the {len(objective.table)} NAS-Bench-201 cells scored at seed {args.score_seed} "
                 f"({args.scores.name}), accuracy {NB201_ACCURACY}")
    else:
        objective = nas.TabularObjective.from_csv(args.truth)
        assists = {proxy: load_scores(args.scores, args.truth, proxy) for proxy in proxies}
        space = f"search space: the {len(objective.table)} archs of {args.truth}"
    small = len(objective.table) < SMALL_TABLE
    accs = [v[0] for v in objective.table.values()]
    notes = [space, f"accuracy max {max(accs):.4f} mean {statistics.mean(accs):.4f} "
                    f"min {min(accs):.4f}; {'small-table' if small else 'default'} settings; {args.seeds} seeds"]
    for proxy, scores in assists.items():
        common = [a for a in objective.table if a in scores.table]
        rho = spearman([scores.table[a] for a in common], [objective.table[a][0] for a in common])
        best = objective.table[max(common, key=scores.table.get)][0]
        notes.append(f"{proxy}: {len(common)} archs scored, Spearman with accuracy {rho:+.3f}, "
                     f"its top-1 reaches {best:.4f}")
    print("\n".join(notes))

    tq = t975(args.seeds - 1)
    variants = ["vanilla"] + [f"assisted:{p}" for p in assists]
    report = [b for b in map(int, args.report.split(",")) if b <= args.budget]
    rows, curves, finals = [], {}, {}
    for name in args.algorithms.split(","):
        algorithm = nas.ALGORITHMS[name]
        for variant in variants:
            kwargs = dict(SMALL_TABLE_SETTINGS[name]) if small else {}
            if variant != "vanilla":
                kwargs["score"] = assists[variant.split(":", 1)[1]]
            runs = [algorithm(objective.space, objective, args.budget, seed=seed, **kwargs) for seed in range(args.seeds)]
            per_budget = [nas.best_so_far(r.history, args.budget) for r in runs]
            scored = statistics.mean(r.score_calls for r in runs)
            curve = [summary([c[b] for c in per_budget], tq) for b in range(args.budget)]
            for b, (mean, ci) in enumerate(curve):
                rows.append({"algorithm": name, "variant": variant, "budget": b + 1, "mean": f"{mean:.5f}",
                             "ci95": f"{ci:.5f}", "n": len(per_budget), "mean_scored": f"{scored:.1f}"})
            curves[(name, variant)] = curve
            finals[(name, variant)] = per_budget
            print(f"{name:9s} {variant:18s} " + "  ".join(
                f"b={b}: {curve[b - 1][0]:.4f}±{curve[b - 1][1]:.4f}" for b in report)
                + f"  (archs scored/run {scored:.1f})", flush=True)

    with open(args.out / f"{args.name}.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| algorithm | budget | vanilla | " + " | ".join(f"{v} | Δ vs vanilla" for v in variants[1:]) + " |",
             "| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in variants[1:]) + " |"]
    for name in args.algorithms.split(","):
        for b in report:
            vanilla = [c[b - 1] for c in finals[(name, "vanilla")]]
            mean, ci = curves[(name, "vanilla")][b - 1]
            cells = [f"{mean:.4f} ± {ci:.4f}"]
            for variant in variants[1:]:
                mean, ci = curves[(name, variant)][b - 1]
                diff, half = welch(vanilla, [c[b - 1] for c in finals[(name, variant)]])
                cells += [f"{mean:.4f} ± {ci:.4f}", f"{diff:+.4f} ± {half:.4f}"]
            lines.append(f"| {name} | {b} | " + " | ".join(cells) + " |")
    (args.out / f"{args.name}.md").write_text("".join(f"{note}  \n" for note in notes) + "\n" + "\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out / args.name}.csv and .md")

    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed under this Python: no PNG (the CSV has the curves)")
        return
    names = args.algorithms.split(",")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        for variant in variants:
            mean, ci = zip(*curves[(name, variant)])
            xs = range(1, args.budget + 1)
            ax.plot(xs, mean, label=variant.replace("assisted:", "assisted by "))
            ax.fill_between(xs, [m - c for m, c in zip(mean, ci)], [m + c for m, c in zip(mean, ci)], alpha=0.2)
        ax.axhline(objective.optimum, color="grey", lw=0.8, ls="--")
        ax.set_title(name)
        ax.set_xlabel("architectures trained")
    axes[0][0].set_ylabel(f"best test accuracy\n(mean ± 95% CI, {args.seeds} seeds)")
    axes[0][0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(args.out / f"{args.name}.png", dpi=110)
    print(f"wrote {args.out / args.name}.png")


if __name__ == "__main__":
    main()
