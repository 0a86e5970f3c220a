"""Tabular mode: objective and scores looked up in tables, the space restricted to the archs of the table.

A table is a dict arch -> value(s). CSVs are keyed by a column (default `genotype`) whose text `parse` turns into an arch
(default: NAS-Bench-201's arch string -> tuple of 6 ops). Sampling must stay inside the table, since an arch outside it has
no accuracy: `TableSpace(members)` samples uniformly among the members, mutates to a member drawn uniformly among the
`neighbours` (default 8) nearest other members by Hamming distance (not a one-edge change: the table is sparse, and with
only the very nearest the neighbour graph of a few hundred cells falls apart into small cliques that evolution cannot
leave), and projects any other arch (REINFORCE's and TPE's proposals) onto a nearest member. REINFORCE's policy is
conditioned on the members (`space.members`).
"""
import csv
import math
from pathlib import Path

from .core import SearchSpace
from .spaces import nb201


def _hamming(a, b):
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


class TableSpace(SearchSpace):
    def __init__(self, members, decisions=(nb201.OPS,) * nb201.EDGES, distance=_hamming, neighbours=8):
        members = sorted(set(members), key=repr)  # a fixed order: same seed, same draws
        if not members:
            raise ValueError("empty table")
        self._set, self.distance, self.neighbours = set(members), distance, neighbours
        super().__init__(self._sample, self._mutate, decisions, members)

    def _sample(self, rng):
        return rng.choice(self.members)

    def _nearest(self, arch, rng, exclude_self):
        best, found = math.inf, []
        for member in self.members:
            d = self.distance(arch, member)
            if exclude_self and d == 0:
                continue
            if d < best:
                best, found = d, [member]
            elif d == best:
                found.append(member)
        return rng.choice(found) if found else arch

    def _mutate(self, arch, rng):
        others = [m for m in self.members if m != arch]
        if not others:
            return arch
        rng.shuffle(others)  # ties at the edge of the neighbourhood are broken at random
        others.sort(key=lambda m: self.distance(arch, m))
        return rng.choice(others[:self.neighbours])

    def project(self, arch, rng):
        return arch if arch in self._set else self._nearest(arch, rng, exclude_self=False)


def read_table(path, key="genotype", columns=("accuracy",), parse=nb201.parse_genotype):
    """{parse(row[key]): tuple(float(row[c]) for c in columns)} from a CSV."""
    table = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            table[parse(row[key])] = tuple(float(row[c]) if row[c] not in ("", None) else math.nan for c in columns)
    return table


class TabularObjective:
    """`train_and_eval` from a table arch -> (accuracy, cost); `space` is the TableSpace of its archs."""

    def __init__(self, table, decisions=(nb201.OPS,) * nb201.EDGES, neighbours=8):
        self.table = {arch: (float(v[0]), float(v[1])) for arch, v in table.items()}
        self.space = TableSpace(self.table, decisions, neighbours=neighbours)

    @classmethod
    def from_csv(cls, path, key="genotype", accuracy="accuracy", cost="train_seconds", parse=nb201.parse_genotype,
                 decisions=(nb201.OPS,) * nb201.EDGES, neighbours=8):
        return cls(read_table(path, key, (accuracy, cost), parse), decisions, neighbours)

    def __call__(self, arch):
        try:
            return self.table[arch]
        except KeyError:
            raise KeyError(f"arch not in the table (sample with TabularObjective.space): {arch!r}") from None

    @property
    def optimum(self):
        return max(v[0] for v in self.table.values())


class TabularScores:
    """`score(archs)` from a table arch -> score; an arch missing from the table scores -inf."""

    def __init__(self, table):
        self.table = {arch: float(v[0] if isinstance(v, (tuple, list)) else v) for arch, v in table.items()}

    @classmethod
    def from_csv(cls, path, key="genotype", score="gradsign", parse=nb201.parse_genotype):
        return cls({arch: v[0] for arch, v in read_table(path, key, (score,), parse).items()})

    def __call__(self, archs):
        return [self.table.get(arch, -math.inf) for arch in archs]


def join_cli_scores(scores_csv, truth_csv, proxy="gradsign", out=None):
    """Join `onnx-gradsign score --format csv` output (keyed by model path) with a truth CSV (model,...,genotype) on the
    model's file stem: {genotype string: score}; written to `out` (genotype,<proxy>) if given. Failed models are left out."""
    genotypes = {}
    with open(truth_csv, newline="") as f:
        for row in csv.DictReader(f):
            genotypes[row["model"]] = row["genotype"]
    joined = {}
    with open(scores_csv, newline="") as f:
        for row in csv.DictReader(f):
            stem = Path(row["model"]).stem
            if stem in genotypes and row.get("status", "ok") == "ok" and row.get(proxy) not in ("", None):
                joined[genotypes[stem]] = float(row[proxy])
    if out is not None:
        with open(out, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["genotype", proxy])
            for genotype, value in joined.items():
                writer.writerow([genotype, repr(value)])
    return joined
