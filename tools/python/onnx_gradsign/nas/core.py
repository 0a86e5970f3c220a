"""Shared pieces of the search algorithms: the space, the results, the budgeted run and the GradSign scorer helper."""
import math
from dataclasses import dataclass, field
from typing import Any, Callable, NamedTuple, Optional, Sequence


class Trial(NamedTuple):
    arch: Any
    accuracy: float
    cost: float


@dataclass
class SearchSpace:
    """`sample(rng) -> arch`, `mutate(arch, rng) -> arch` (rng: random.Random); `decisions`: one tuple of options per
    decision, an arch being the tuple of chosen options (needed by REINFORCE and BOHB only)."""
    sample: Callable
    mutate: Callable
    decisions: Optional[Sequence[Sequence[Any]]] = None
    members: Optional[Sequence[Any]] = None  # a finite list of the only archs allowed (see TableSpace)

    def project(self, arch, rng):
        """The allowed arch nearest to `arch` (itself in an unrestricted space)."""
        return arch


@dataclass
class SearchResult:
    history: list            # Trial per train_and_eval call, in order
    best: Optional[Trial]    # highest accuracy in history (first one on ties)
    train_calls: int
    score_calls: int         # distinct archs scored
    total_cost: float
    extra: dict = field(default_factory=dict)


def best_so_far(history, budget=None):
    """Best accuracy after 1, 2, ... train calls (padded with the last value up to `budget`)."""
    out, best = [], -math.inf
    for trial in history:
        best = max(best, trial.accuracy)
        out.append(best)
    if budget is not None and out:
        out += [out[-1]] * (budget - len(out))
    return out[:budget] if budget is not None else out


def _clean(value):
    try:
        value = float(value)
    except (TypeError, ValueError):
        return -math.inf
    return -math.inf if math.isnan(value) else value


class Run:
    """Counts train calls and cost, caches results and scores; `done` once the budget is spent (or `patience`
    consecutive proposals were all already trained)."""

    def __init__(self, objective, budget, cost_budget=None, score=None, patience=100):
        if budget < 1:
            raise ValueError("budget must be >= 1")
        self.objective, self.budget, self.cost_budget, self._score = objective, budget, cost_budget, score
        self.history, self.cache, self.score_cache = [], {}, {}
        self.total_cost, self.repeats, self.patience = 0.0, 0, patience

    @property
    def done(self):
        return (len(self.history) >= self.budget or self.repeats >= self.patience
                or (self.cost_budget is not None and self.total_cost >= self.cost_budget))

    @property
    def left(self):
        return self.budget - len(self.history)

    def train(self, arch, report=None):
        """(accuracy, cost) of `arch`; a new arch spends one call of the budget, a known one comes from the cache
        (`patience` cache hits in a row end the run: the search has converged or exhausted the space)."""
        if arch in self.cache:
            self.repeats += 1
            return self.cache[arch]
        self.repeats = 0
        result = self.objective(arch) if report is None else self.objective(arch, report)
        accuracy, cost = float(result[0]), float(result[1])
        self.total_cost += cost
        self.history.append(Trial(arch, accuracy, cost))
        if report is None or not getattr(report, "pruned", False):
            self.cache[arch] = (accuracy, cost)
        return accuracy, cost

    def scores(self, archs):
        """Zero-cost scores of `archs` (each distinct arch scored once per run)."""
        archs = list(archs)
        new = list(dict.fromkeys(a for a in archs if a not in self.score_cache))
        if new:
            values = list(self._score(new))
            if len(values) != len(new):
                raise ValueError(f"score returned {len(values)} values for {len(new)} archs")
            self.score_cache.update(zip(new, map(_clean, values)))
        return [self.score_cache[a] for a in archs]

    def result(self, **extra):
        best = max(self.history, key=lambda t: t.accuracy) if self.history else None
        return SearchResult(list(self.history), best, len(self.history), len(self.score_cache), self.total_cost, extra)


def top_by_score(run, archs, k):
    """The `k` best-scored archs (stable: earlier first on ties)."""
    scores = run.scores(archs)
    order = sorted(range(len(archs)), key=lambda i: -scores[i])
    return [archs[i] for i in order[:k]]


def gradsign_scorer(build, sample_shape, scorer, proxy="gradsign", names=None, **score_options):
    """A `score(archs)` function: builds each arch with `build(arch) -> torch module`, scores the modules with `scorer`
    (an `onnx_gradsign.Scorer`) and returns their `proxy` field (-inf for a model that failed). `score_options` go to
    `Scorer.score` (data, batch_size, seeds, init, ...). `names(arch)` names the records (default: str(arch))."""
    def score(archs):
        archs = list(archs)
        modules = [build(a) for a in archs]
        label = names or str
        records = scorer.score(modules, proxies=(proxy,), sample_shape=sample_shape,
                               names=[label(a) for a in archs], **score_options)
        return [_clean(r.get(proxy)) if r.get("status") == "ok" else -math.inf for r in records]
    return score
