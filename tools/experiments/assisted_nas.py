#!/usr/bin/env python3
"""Vanilla vs GradSign-assisted NAS in tabular mode: best-found test accuracy vs budget (number of architectures trained).

For each algorithm of onnx_gradsign.nas (random search, REA, REINFORCE, BOHB-style TPE) and each of N seeds (default 50),
the vanilla and the assisted variant run with the same budget of table queries on a table of trained NAS-Bench-201 cells
(models/nb201/truth.csv: genotype -> accuracy, train_seconds) and a table of precomputed GradSign scores (genotype ->
gradsign; the CLI's `score --format csv` output joined with truth.csv on the model name). Nothing is trained or scored at
run time. It writes a CSV (algorithm, variant, budget, mean, ci95 half-width, n, mean number of archs scored) and, when
matplotlib is importable, a PNG of the curves; it prints the table's optimum and the GradSign/accuracy rank correlation.

The best-so-far after b trained archs is read from one run with the largest budget (a run that stops early, e.g. a
converged REINFORCE policy, keeps its last value). The 95% CI is mean +- t(0.975, N-1) * sd / sqrt(N).

THIS IS ONLY A DEMONSTRATION. The shipped table has 30 architectures: with budgets of a few queries every algorithm
quickly exhausts it, its accuracies span a few points, and mutation/model-based search has almost no structure to exploit
(the table is 30 of 15625 cells, so "mutations" jump to the nearest member). A real comparison needs a few hundred trained
architectures (e.g. `tools/nb201_benchmark.py --count 300`, or NAS-Bench-201's own table) and budgets of tens to
hundreds of queries.

    /usr/bin/python3 tools/experiments/assisted_nas.py --seeds 50 --budget 10 --out /tmp/assisted_nas
"""
import argparse
import csv
import math
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools" / "python"))
from onnx_gradsign import nas  # noqa: E402

BINARY = REPO / "src" / "OnnxGradSign.Cli" / "bin" / "Debug" / "net10.0" / "onnx-gradsign"

# settings sized for a 30-arch table (a larger table wants larger pools and populations)
SETTINGS = {
    "random": {"candidates": 10, "top_k": 2},
    "rea": {"population": 5, "sample_size": 2, "init_factor": 3, "mutants": 3},
    "reinforce": {"lr": 0.5, "warmup_steps": 5, "warmup_batch": 10},
    "bohb": {"n_startup_trials": 5, "proposals": 3},
}


def t975(n):
    try:
        from scipy.stats import t
        return float(t.ppf(0.975, n - 1))
    except ImportError:
        return 1.96


def spearman(x, y):
    def ranks(v):
        order = sorted(range(len(v)), key=lambda i: v[i])
        r = [0.0] * len(v)
        i = 0
        while i < len(order):
            j = i
            while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
                j += 1
            for k in range(i, j + 1):
                r[order[k]] = (i + j) / 2
            i = j + 1
        return r
    rx, ry = ranks(x), ranks(y)
    mx, my = statistics.mean(rx), statistics.mean(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    return cov / math.sqrt(sum((a - mx) ** 2 for a in rx) * sum((b - my) ** 2 for b in ry))


def scores_csv(args):
    if args.scores and Path(args.scores).exists():
        return Path(args.scores)
    cli_out = Path("/tmp/nb201_scores.csv")
    if not cli_out.exists():
        if not BINARY.exists():
            sys.exit(f"no scores CSV and no CLI at {BINARY}: build it (dotnet build src/OnnxGradSign.Cli) or pass --scores")
        print(f"scoring {args.models} with the CLI (about a minute) ...", flush=True)
        subprocess.run([str(BINARY), "score", str(args.models), "--format", "csv", "-o", str(cli_out)], check=True)
    return cli_out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--truth", default=REPO / "models" / "nb201" / "truth.csv", type=Path)
    parser.add_argument("--models", default=REPO / "models" / "nb201", type=Path)
    parser.add_argument("--scores", help="CLI scores CSV (model path -> gradsign) or joined CSV (genotype -> gradsign)")
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--algorithms", default=",".join(nas.ALGORITHMS))
    parser.add_argument("--out", default="/tmp/assisted_nas", type=Path)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    objective = nas.TabularObjective.from_csv(args.truth)
    source = scores_csv(args)
    with open(source) as f:
        header = f.readline()
    if header.startswith("genotype"):
        scores = nas.TabularScores.from_csv(source)
    else:
        joined = args.out / "nb201_gradsign.csv"
        nas.join_cli_scores(source, args.truth, out=joined)
        scores = nas.TabularScores.from_csv(joined)
    common = [a for a in objective.table if a in scores.table]
    accs = [objective.table[a][0] for a in common]
    print(f"table: {len(objective.table)} archs ({len(common)} scored), accuracy max {max(accs):.4f} "
          f"mean {statistics.mean(accs):.4f} min {min(accs):.4f}; "
          f"Spearman(gradsign, accuracy) = {spearman([scores.table[a] for a in common], accs):+.3f}")
    print(f"top-1 by gradsign: accuracy {objective.table[max(common, key=scores.table.get)][0]:.4f}")

    rows, curves = [], {}
    tq = t975(args.seeds)
    for name in args.algorithms.split(","):
        algorithm = nas.ALGORITHMS[name]
        for variant in ("vanilla", "assisted"):
            kwargs = dict(SETTINGS.get(name, {}))
            if variant == "assisted":
                kwargs["score"] = scores
            runs = [algorithm(objective.space, objective, args.budget, seed=seed, **kwargs) for seed in range(args.seeds)]
            per_budget = [nas.best_so_far(r.history, args.budget) for r in runs]
            scored = statistics.mean(r.score_calls for r in runs)
            curve = []
            for b in range(args.budget):
                values = [c[b] for c in per_budget]
                mean = statistics.mean(values)
                ci = tq * statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else float("nan")
                curve.append((mean, ci))
                rows.append({"algorithm": name, "variant": variant, "budget": b + 1, "mean": f"{mean:.5f}",
                             "ci95": f"{ci:.5f}", "n": len(values), "mean_scored": f"{scored:.1f}"})
            curves[(name, variant)] = curve
            marks = [b for b in (1, 3, 5, args.budget) if b <= args.budget]
            print(f"{name:9s} {variant:8s} " + "  ".join(
                f"b={b}: {curve[b - 1][0]:.4f}±{curve[b - 1][1]:.4f}" for b in dict.fromkeys(marks))
                + f"  (archs scored/run {scored:.1f})", flush=True)

    with open(args.out / "assisted_nas.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {args.out / 'assisted_nas.csv'}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed under this Python: no PNG (the CSV has the curves)")
        return
    names = args.algorithms.split(",")
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.5), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        for variant in ("vanilla", "assisted"):
            mean, ci = zip(*curves[(name, variant)])
            xs = range(1, args.budget + 1)
            ax.plot(xs, mean, label=variant)
            ax.fill_between(xs, [m - c for m, c in zip(mean, ci)], [m + c for m, c in zip(mean, ci)], alpha=0.2)
        ax.axhline(objective.optimum, color="grey", lw=0.8, ls="--")
        ax.set_title(name)
        ax.set_xlabel("archs trained")
    axes[0][0].set_ylabel(f"best test accuracy (mean ± 95% CI, {args.seeds} seeds)")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(args.out / "assisted_nas.png", dpi=120)
    print(f"wrote {args.out / 'assisted_nas.png'}")


if __name__ == "__main__":
    main()
