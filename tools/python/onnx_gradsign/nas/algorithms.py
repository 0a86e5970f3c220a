"""Vanilla and GradSign-assisted random search, regularized evolution, REINFORCE and BOHB-style TPE (Optuna).

Each function: `(space, train_and_eval, budget, seed=0, score=None, cost_budget=None, ...) -> SearchResult`.
`score=None` runs the vanilla algorithm; a `score(archs) -> list[float]` runs the assisted one.
"""
import math
import random
from collections import deque

from .core import Run, top_by_score


def _fresh(run, space, rng, exclude=(), tries=100):
    """A sampled arch not yet trained (nor in `exclude`), or the last one drawn if none was found in `tries` draws; in a
    finite space, a uniformly chosen untrained member (None once all are trained or excluded)."""
    if space.members is not None:
        left = [a for a in space.members if a not in run.cache and a not in exclude]
        return rng.choice(left) if left else None
    for _ in range(tries):
        arch = space.sample(rng)
        if arch not in run.cache and arch not in exclude:
            return arch
    return arch


def random_search(space, train_and_eval, budget, seed=0, score=None, cost_budget=None, candidates=20, top_k=2):
    """Vanilla: train random archs. Assisted: per round sample `candidates` untrained archs, score them, train the
    `top_k` best-scored (so `candidates / top_k` scored archs per trained one)."""
    rng = random.Random(seed)
    run = Run(train_and_eval, budget, cost_budget, score)
    while not run.done:
        if score is None:
            arch = _fresh(run, space, rng)
            if arch is None:
                break
            run.train(arch)
            continue
        pool = []
        for _ in range(candidates):
            arch = _fresh(run, space, rng, exclude=pool)
            if arch is not None:
                pool.append(arch)
        pool = list(dict.fromkeys(pool))
        if not pool:
            break
        for arch in top_by_score(run, pool, min(top_k, run.left)):
            if run.done:
                break
            run.train(arch)
    return run.result()


def rea(space, train_and_eval, budget, seed=0, score=None, cost_budget=None, population=10, sample_size=3,
        init_factor=4, mutants=4, redraws=10):
    """Regularized evolution (Real et al. 2019): a population of `population` archs, tournaments of `sample_size`, the
    winner's mutant replaces the oldest member. Assisted: the initial population is the `population` best-scored of
    `population * init_factor` samples, and each generation scores `mutants` mutants of the winner and trains the
    best-scored one. The initial population counts against the budget. A mutant that was trained already is mutated
    again (up to `redraws` times) in both variants: in a small or tabular space the winner's neighbours run out, and
    re-proposing known archs would only end the run (see `Run.patience`)."""
    rng = random.Random(seed)
    run = Run(train_and_eval, budget, cost_budget, score)
    pop = deque()
    if score is None:
        init = []
        while len(init) < population and len(init) < 50 * population:
            arch = _fresh(run, space, rng, exclude=init)
            if arch is None or arch in init:
                break
            init.append(arch)
    else:
        pool = []
        for _ in range(population * init_factor):
            arch = _fresh(run, space, rng, exclude=pool)
            if arch is not None:
                pool.append(arch)
        init = top_by_score(run, list(dict.fromkeys(pool)), population)
    for arch in init:
        if run.done:
            break
        pop.append((arch, run.train(arch)[0]))
    while not run.done and pop:
        contenders = [pop[rng.randrange(len(pop))] for _ in range(min(sample_size, len(pop)))]
        parent = max(contenders, key=lambda member: member[1])[0]
        if score is None:
            child = _untrained_mutant(run, space, parent, rng, redraws)
        else:
            children = list(dict.fromkeys(_untrained_mutant(run, space, parent, rng, redraws) for _ in range(mutants)))
            untrained = [c for c in children if c not in run.cache] or children
            child = top_by_score(run, untrained, 1)[0]
        pop.append((child, run.train(child)[0]))
        if len(pop) > population:
            pop.popleft()
    return run.result()


def _untrained_mutant(run, space, parent, rng, redraws):
    """A mutant of `parent` not trained yet: a trained mutant is mutated again (a longer step from the parent), up to
    `redraws` times."""
    child = space.mutate(parent, rng)
    for _ in range(redraws):
        if child not in run.cache:
            break
        child = space.mutate(child, rng)
    return child


class _Policy:
    """Independent categorical distributions, one per decision; restricted to `members` when the space is finite."""

    def __init__(self, space):
        if space.decisions is None:
            raise ValueError("this algorithm needs space.decisions (one tuple of options per decision)")
        self.options = [list(options) for options in space.decisions]
        self.index = [{option: i for i, option in enumerate(options)} for options in self.options]
        self.logits = [[0.0] * len(options) for options in self.options]
        self.members = list(space.members) if space.members is not None else None

    def _probs(self):
        out = []
        for logits in self.logits:
            top = max(logits)
            e = [math.exp(v - top) for v in logits]
            s = sum(e)
            out.append([v / s for v in e])
        return out

    def _member_weights(self):
        probs = self._probs()
        logp = [sum(math.log(max(probs[d][self.index[d][o]], 1e-300)) for d, o in enumerate(arch))
                for arch in self.members]
        top = max(logp)
        w = [math.exp(v - top) for v in logp]
        s = sum(w)
        return [v / s for v in w]

    def sample(self, rng):
        if self.members is not None:
            return rng.choices(self.members, weights=self._member_weights())[0]
        return tuple(opts[rng.choices(range(len(opts)), weights=p)[0]] for opts, p in zip(self.options, self._probs()))

    def update(self, batch, lr):
        """batch: [(arch, advantage)]; gradient ascent on sum advantage * log p(arch)."""
        if self.members is not None:
            weights = self._member_weights()
            expected = [[0.0] * len(opts) for opts in self.options]
            for arch, w in zip(self.members, weights):
                for d, option in enumerate(arch):
                    expected[d][self.index[d][option]] += w
        else:
            expected = self._probs()
        for arch, advantage in batch:
            for d, option in enumerate(arch):
                chosen = self.index[d][option]
                for j in range(len(self.logits[d])):
                    self.logits[d][j] += lr * advantage * ((j == chosen) - expected[d][j])


def reinforce(space, train_and_eval, budget, seed=0, score=None, cost_budget=None, lr=0.5, baseline_decay=0.9,
              warmup_steps=10, warmup_batch=16):
    """REINFORCE (Williams 1992) over one categorical distribution per decision, reward = accuracy minus an exponential
    moving average baseline. Assisted: first `warmup_steps` score-only steps, each on `warmup_batch` archs drawn from the
    policy with the zero-cost score standardised within the batch as the advantage (GradSign's scale is arbitrary), and
    only then the trained steps. In a finite space (`space.members`) the policy is conditioned on the members."""
    rng = random.Random(seed)
    run = Run(train_and_eval, budget, cost_budget, score)
    policy = _Policy(space)
    if score is not None:
        for _ in range(warmup_steps):
            archs = [policy.sample(rng) for _ in range(warmup_batch)]
            values = run.scores(archs)
            finite = [v for v in values if math.isfinite(v)]
            if len(finite) < 2:
                continue
            mean = sum(finite) / len(finite)
            std = math.sqrt(sum((v - mean) ** 2 for v in finite) / len(finite)) or 1.0
            low = min(finite)
            z = [((v if math.isfinite(v) else low) - mean) / std for v in values]
            policy.update(list(zip(archs, [v / len(archs) for v in z])), lr)
    baseline = None
    while not run.done:
        arch = policy.sample(rng)
        accuracy = run.train(arch)[0]
        baseline = accuracy if baseline is None else baseline_decay * baseline + (1 - baseline_decay) * accuracy
        policy.update([(arch, accuracy - baseline)], lr)
    return run.result(logits=[list(l) for l in policy.logits])


def bohb(space, train_and_eval, budget, seed=0, score=None, cost_budget=None, proposals=4, n_startup_trials=10,
         multi_fidelity=False, min_resource=1, max_resource=None, reduction_factor=3):
    """BOHB-style search with Optuna: TPESampler (seeded) proposes archs, one categorical parameter per decision.

    Multi-fidelity (`multi_fidelity=True`): `train_and_eval(arch, report)` must call `report(step, accuracy)` after each
    step (epoch) and stop early when it returns True, returning (accuracy so far, cost so far); a HyperbandPruner
    (`min_resource`, `max_resource`, `reduction_factor`) decides. A pruned trial still spends one call of the budget and
    is recorded with its partial accuracy. Without it (e.g. tabular objectives) this is plain TPE.

    Assisted: ask the sampler for `proposals` trials, score the archs, train the best-scored and tell the others FAILED.
    Why FAILED: TPE ignores failed trials, so the density model learns only from real accuracies and GradSign acts only as
    a filter on what gets trained; telling them PRUNED would put them in TPE's "bad" group (fake evidence that hurts
    when the proxy is wrong), and leaving them un-told would keep RUNNING trials in the study (counted as worst under
    constant_liar, and a leak in a long study).

    Finite space (`space.members`): a proposal outside it is projected onto the nearest member (`space.project`); the
    asked trial is told FAILED and the member is added to the study as a completed trial with its own parameters.
    """
    import optuna
    from optuna.distributions import CategoricalDistribution
    from optuna.trial import TrialState, create_trial

    if space.decisions is None:
        raise ValueError("bohb needs space.decisions (one tuple of options per decision)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    decisions = [list(options) for options in space.decisions]
    distributions = {f"d{i}": CategoricalDistribution(list(range(len(o)))) for i, o in enumerate(decisions)}
    rng = random.Random(seed)
    pruner = (optuna.pruners.HyperbandPruner(min_resource=min_resource, max_resource=max_resource or "auto",
                                             reduction_factor=reduction_factor)
              if multi_fidelity else optuna.pruners.NopPruner())
    sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n_startup_trials)
    study = optuna.create_study(direction="maximize", sampler=sampler, pruner=pruner)
    run = Run(train_and_eval, budget, cost_budget, score)

    def to_arch(params):
        return tuple(decisions[i][params[f"d{i}"]] for i in range(len(decisions)))

    def to_params(arch):
        return {f"d{i}": decisions[i].index(option) for i, option in enumerate(arch)}

    while not run.done:
        asked = []
        for _ in range(1 if score is None else proposals):
            trial = study.ask(distributions)
            asked.append((trial, space.project(to_arch(trial.params), rng)))
        if score is None:
            chosen = 0
        else:
            archs = [arch for _, arch in asked]
            untrained = [i for i, a in enumerate(archs) if a not in run.cache] or list(range(len(archs)))
            values = run.scores([archs[i] for i in untrained])
            chosen = untrained[max(range(len(untrained)), key=lambda j: values[j])]
        for i, (trial, _) in enumerate(asked):
            if i != chosen:
                study.tell(trial, state=TrialState.FAIL)
        trial, arch = asked[chosen]
        same = arch == to_arch(trial.params)
        report = None
        if multi_fidelity:
            def report(step, value, trial=trial):
                if same:
                    trial.report(float(value), int(step))
                    report.pruned = trial.should_prune()
                return report.pruned
            report.pruned = False
        accuracy, _ = run.train(arch, report)
        pruned = report is not None and report.pruned
        if same and pruned:
            study.tell(trial, state=TrialState.PRUNED)  # Optuna uses the last reported value
        elif same:
            study.tell(trial, accuracy)
        else:
            study.tell(trial, state=TrialState.FAIL)
            study.add_trial(create_trial(params=to_params(arch), distributions=distributions, value=accuracy))
    return run.result(study=study)
