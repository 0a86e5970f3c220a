"""Ready-made search spaces: `nb201` (NAS-Bench-201 cells)."""
from . import nb201

__all__ = ["nb201"]
