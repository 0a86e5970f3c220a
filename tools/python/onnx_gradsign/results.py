"""Score records as a list of dicts (the fields of `score --format json`), with a ranked view and a pandas DataFrame."""

_FIXED = ("model", "sha256", "status", "error")


class Results(list):
    """The records of one scoring call, in request order: plain dicts, so `json.dumps(results)` works as it is.

    `ranked()` lists the records that scored, best first; `to_frame()` is a pandas DataFrame (one row per record, the
    model as index, warnings joined into one string). `proxies` names the score fields the run requested (the first ranks).
    """

    def __init__(self, records=(), proxies=()):
        super().__init__(records)
        self.proxies = list(proxies)

    def ranked(self, by=None):
        """The records that scored, best first by `by` (default: the first requested proxy, else params)."""
        key = by or (self.proxies[0] if self.proxies else "params")
        scored = [r for r in self if r.get("status") == "ok" and _number(r.get(key)) is not None]
        return Results(sorted(scored, key=lambda r: _number(r[key]), reverse=True), self.proxies)

    def to_frame(self, ranked=False):
        """A pandas DataFrame: one row per record, indexed by model; with `ranked`, only scored records, best first, with a rank column."""
        import pandas as pd

        rows = self.ranked() if ranked else self
        frame = pd.DataFrame([{**r, "warnings": "; ".join(r.get("warnings") or [])} for r in rows])
        if frame.empty:
            return frame
        if ranked:
            frame.insert(0, "rank", range(1, len(frame) + 1))
        leading = [c for c in ("rank", *_FIXED, *self.proxies, "params") if c in frame.columns]
        frame = frame[leading + [c for c in frame.columns if c not in leading]]
        return frame.set_index("model")


def _number(value):
    """A score as a float: numbers as they are, the names JSON has no literal for ("NaN", "Infinity") parsed, else None."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value) if value == value else None
    if isinstance(value, str):
        try:
            v = float(value)
        except ValueError:
            return None
        return v if v == v else None
    return None
