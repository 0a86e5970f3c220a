"""GradSign-assisted neural architecture search over a user-defined space.

The user supplies a search space (`SearchSpace(sample, mutate, decisions=None)`: `sample(rng) -> arch`,
`mutate(arch, rng) -> arch`, where `rng` is a `random.Random`; archs must be hashable, and REINFORCE and BOHB also need
`decisions`, one tuple of options per decision, an arch then being the tuple of the options chosen), the objective
`train_and_eval(arch) -> (accuracy, cost)` (higher accuracy is better; cost is e.g. seconds) and, for the assisted variants,
a zero-cost score `score(archs) -> list[float]` (higher is better; NaN or None counts as -inf), typically
`gradsign_scorer(build, sample_shape, scorer, **score_options)` on top of `onnx_gradsign.Scorer`.

Algorithms (each `score=None` is the vanilla variant, a score function makes it GradSign-assisted):

- `random_search`: vanilla trains random archs; assisted samples `candidates` archs per round, scores them all and trains the
  `top_k` best-scored.
- `rea` (regularized evolution): assisted ranks the initial population (sample `population * init_factor`, keep the
  `population` best-scored) and filters mutations (`mutants` children of the tournament winner, train the best-scored).
- `reinforce`: a categorical policy per decision, REINFORCE with an exponential-moving-average baseline; assisted first runs
  `warmup_steps` score-only steps (batches of `warmup_batch` archs, reward = the score standardised within the batch).
- `bohb`: Optuna's TPESampler, with a HyperbandPruner when `train_and_eval(arch, report)` reports intermediate values
  (`multi_fidelity=True`); assisted asks for `proposals` trials, trains the best-scored and tells the others as FAILED.

All take `budget` (number of `train_and_eval` calls), optional `cost_budget` (stop once the summed cost reaches it) and
`seed`, and return a `SearchResult` (history of `Trial(arch, accuracy, cost)` in training order, `best`, counts). An arch
trained twice is answered from a cache and not counted again. Same seed and same (deterministic) callables give the same
history.

Tabular mode (`TabularObjective`, `TabularScores`, `TableSpace`): the objective and the scores are looked up in tables
(e.g. models/nb201/truth.csv and a CLI scores CSV), and the space is restricted to the archs in the table.
"""
from .core import SearchResult, SearchSpace, Trial, best_so_far, gradsign_scorer
from .algorithms import bohb, random_search, rea, reinforce
from .tabular import TableSpace, TabularObjective, TabularScores, join_cli_scores, read_table

ALGORITHMS = {"random": random_search, "rea": rea, "reinforce": reinforce, "bohb": bohb}

__all__ = ["SearchSpace", "SearchResult", "Trial", "best_so_far", "gradsign_scorer", "random_search", "rea", "reinforce",
           "bohb", "ALGORITHMS", "TableSpace", "TabularObjective", "TabularScores", "join_cli_scores", "read_table"]
