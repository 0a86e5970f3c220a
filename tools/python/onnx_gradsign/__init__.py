"""Python client of the `onnx-gradsign` CLI.

- `export`: write a PyTorch module as a training-mode ONNX file with BatchNorm kept (what GradSign needs).
- `Scorer`: one long-lived `onnx-gradsign serve --stdio` process answering scoring requests from a NAS loop.
- `Results`: the records of a call, with `ranked()` and `to_frame()` (pandas).
- `score_on_dask`: shard a large run over a Dask cluster with the CLI's own `--shard I/N` and merge the records.

Only the standard library is required: `export` (and scoring torch modules) needs torch and onnx,
`score_on_dask` needs distributed.
"""
from .cluster import score_on_dask
from .exporting import check_normalization, export
from .results import Results
from .scorer import Scorer, ScoringError, find_binary

__all__ = ["export", "check_normalization", "Scorer", "ScoringError", "Results", "find_binary", "score_on_dask"]
