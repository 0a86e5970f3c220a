#!/usr/bin/env python3
"""Vanilla vs zero-cost-assisted NAS in tabular mode: best-found test accuracy vs budget (number of architectures trained).

For each algorithm of onnx_gradsign.nas (random search, REA, REINFORCE, BOHB-style TPE) and each of N seeds (default 50),
the vanilla variant and one assisted variant per proxy in --assist (default gradsign) run with the same budget of table
queries on a table of trained NAS-Bench-201 cells (--truth: genotype -> accuracy, train_seconds; default
models/nb201-500/truth.csv) and a table of precomputed zero-cost scores (--scores: the CLI's `score --format csv` output,
joined with the truth table on the model name, or a CSV keyed by genotype). Nothing is trained or scored at run time:
a query is a table lookup, as NAS-Bench-201 studies do, and scoring (a fraction of a second per cell, against about 25 s
of training) is not charged to the budget; the mean number of cells each run scored is reported.

Outputs in --out: assisted_nas.csv (algorithm, variant, budget, mean, ci95 half-width, n, mean archs scored),
assisted_nas.md (a Markdown table at the --report budgets: vanilla, each assisted variant, and its difference from
vanilla with a Welch 95% CI) and, when matplotlib is importable, assisted_nas.png (mean ± 95% CI curves).

The best-so-far after b trained archs is read from one run with the largest budget. A run that stops early (a converged
REINFORCE policy, an exhausted table) keeps its last value. The 95% CI is mean ± t(0.975, N-1)·sd/√N.

Settings: each algorithm's defaults (tools/python/onnx_gradsign/nas/algorithms.py) for tables of 100 architectures or
more; smaller tables (models/nb201, 30 cells) get smaller pools and populations, and mean little.

    /usr/bin/python3 tools/experiments/assisted_nas.py --seeds 50 --budget 50 --out tools/experiments/results
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
    parser.add_argument("--truth", default=REPO / "models" / "nb201-500" / "truth.csv", type=Path)
    parser.add_argument("--scores", default=REPO / "models" / "nb201-500" / "scores.csv", type=Path,
                        help="CLI scores CSV (model path -> proxies) or a CSV keyed by genotype")
    parser.add_argument("--assist", default="gradsign", help="comma-separated score columns, one assisted variant each")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--budget", type=int, default=50)
    parser.add_argument("--report", default="5,10,20,50", help="budgets shown in the Markdown table")
    parser.add_argument("--algorithms", default=",".join(nas.ALGORITHMS))
    parser.add_argument("--out", default=Path("/tmp/assisted_nas"), type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    objective = nas.TabularObjective.from_csv(args.truth)
    assists = {proxy: load_scores(args.scores, args.truth, proxy) for proxy in args.assist.split(",")}
    small = len(objective.table) < SMALL_TABLE
    accs = [v[0] for v in objective.table.values()]
    print(f"table: {len(objective.table)} archs, accuracy max {max(accs):.4f} mean {statistics.mean(accs):.4f} "
          f"min {min(accs):.4f}; {'small-table' if small else 'default'} settings")
    for proxy, scores in assists.items():
        common = [a for a in objective.table if a in scores.table]
        rho = spearman([scores.table[a] for a in common], [objective.table[a][0] for a in common])
        best = objective.table[max(common, key=scores.table.get)][0]
        print(f"{proxy}: {len(common)} archs scored, Spearman with accuracy {rho:+.3f}, its top-1 reaches {best:.4f}")

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

    with open(args.out / "assisted_nas.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    lines = ["| algorithm | budget | vanilla | " + " | ".join(f"{v} | Δ vs vanilla" for v in variants[1:]) + " |",
             "| --- | ---: | ---: | " + " | ".join("---: | ---:" for _ in variants[1:]) + " |"]
    for name in args.algorithms.split(","):
        for b in report:
            vanilla = [c[b - 1] for c in finals[(name, "vanilla")]]
            cells = [f"{curves[(name, 'vanilla')][b - 1][0]:.4f} ± {curves[(name, 'vanilla')][b - 1][1]:.4f}"]
            for variant in variants[1:]:
                mean, ci = curves[(name, variant)][b - 1]
                diff, half = welch(vanilla, [c[b - 1] for c in finals[(name, variant)]])
                cells += [f"{mean:.4f} ± {ci:.4f}", f"{diff:+.4f} ± {half:.4f}"]
            lines.append(f"| {name} | {b} | " + " | ".join(cells) + " |")
    (args.out / "assisted_nas.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    print(f"wrote {args.out / 'assisted_nas.csv'} and {args.out / 'assisted_nas.md'}")

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
    fig.savefig(args.out / "assisted_nas.png", dpi=110)
    print(f"wrote {args.out / 'assisted_nas.png'}")


if __name__ == "__main__":
    main()
