"""Sharding a scoring run over a Dask cluster: one `onnx-gradsign score --shard I/N` process per shard, records merged."""
import glob
import json
import os
import subprocess
import uuid

from .results import Results
from .scorer import Scorer, ScoringError, find_binary



def score_on_dask(client, paths, shards=None, binary=None, **score_options):
    """Score ONNX files (folders are expanded to their *.onnx files, recursively) on the cluster of a
    `distributed.Client`, and return the records sorted by model path.

    One task per shard runs `onnx-gradsign score FILES --shard i/n --format jsonl` on a worker, so the split is the CLI's own
    (by a hash of each path; a job array running the same command splits identically). `shards` defaults to the number of
    workers. `score_options` become the command's flags: proxies=("gradsign", "snip") is --proxy gradsign,snip, seeds=(0, 1)
    is --seeds 0,1, batch_size=8 is --batch-size 8, float64=True is --float64, and so on. With `data` unset, the data is
    chosen as the CLI would for `paths` (the one .npz in the folder of the first path, else synthetic) and passed explicitly,
    since the shards see expanded files. Workers run the binary (`binary`, else as `find_binary` resolves it on the client)
    in the client's working directory: binary, models and data must be at the same paths on every worker (a shared
    filesystem). Records with the same file hash and settings are merged, keeping the first.
    """
    paths = [os.fspath(p) for p in ([paths] if isinstance(paths, (str, os.PathLike)) else paths)]
    files = [f for p in paths for f in _expand(p)]
    if not files:
        return Results()
    binary = find_binary(binary)
    with Scorer(binary) as local:  # which options decide a result (the CLI itself refuses a misspelt flag)
        deciding = [o["name"] for o in local.options() if o["decides_result"]]
    proxies = score_options.pop("proxies", None)
    if proxies is not None:
        score_options["proxy"] = proxies if isinstance(proxies, str) else ",".join(proxies)
    score_options.setdefault("data", _default_data(paths[0]))
    shards = shards or max(1, len(client.scheduler_info()["workers"]))
    if shards > 1 and any(f"{e}(" in score_options.get("proxy", "") for e in ("vote", "logrank")):
        raise ValueError("ensembles (vote, logrank) rank the models of one run: "
                         "with shards, score their members and combine them after merging")

    argv = [binary, "score", *files, "--format", "jsonl", *_flags(score_options)]
    run = uuid.uuid4().hex
    futures = [client.submit(subprocess.run, [*argv, "--shard", f"{i}/{shards}"], capture_output=True, text=True,
                             cwd=os.getcwd(), key=f"onnx-gradsign-{run}-shard-{i}-of-{shards}")
               for i in range(shards)]
    records, seen = [], set()
    for i, done in enumerate(client.gather(futures)):
        if done.returncode not in (0, 1):  # 1: nothing scored in that shard (no files, or every model failed)
            raise ScoringError(f"shard {i}/{shards}: onnx-gradsign exited with {done.returncode}: {done.stderr.strip()}")
        for line in done.stdout.splitlines():
            record = json.loads(line)
            key = (record["sha256"] or record["model"], record.get("data_used"), *(json.dumps(record.get(s)) for s in deciding))
            if key not in seen:
                seen.add(key)
                records.append(record)
    return Results(sorted(records, key=lambda r: r["model"]), _proxy_names(score_options.get("proxy", "gradsign")))


def _expand(path):
    """As the CLI expands a path (ModelFiles.Expand): a folder's *.onnx files at any depth, in ordinal order."""
    if os.path.isdir(path):
        return sorted(os.path.join(root, name) for root, _, names in os.walk(path) for name in names if name.endswith(".onnx"))
    if os.path.isfile(path):
        return [path]
    raise FileNotFoundError(f"{path}: no such file or folder")


def _default_data(first):
    """The CLI's default data for a run whose first path is `first` (DatasetLoader.LoadOrDefault)."""
    folder = first if os.path.isdir(first) else os.path.dirname(os.path.abspath(first))
    samples = glob.glob(os.path.join(folder, "*.npz"))
    return samples[0] if len(samples) == 1 else "synthetic"


def _proxy_names(proxy):
    """The names in a proxy list, split at the commas outside ensembles' parentheses (params has a field of its own)."""
    names, depth, current = [], 0, ""
    for ch in proxy + ",":
        depth += (ch == "(") - (ch == ")")
        if ch == "," and depth == 0:
            names.append(current.strip())
            current = ""
        else:
            current += ch
    return [n for n in names if n and n != "params"]


def _flags(options):
    """score options as CLI flags: name_x=v is --name-x v, True a bare flag, False/None omitted, sequences comma-joined,
    a dict (input_shape, input_value) one --name-x KEY=VALUE per entry."""
    flags = []
    for name, value in options.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, dict):
            for key, item in value.items():
                flags += [flag, f"{key}=" + (",".join(map(str, item)) if isinstance(item, (list, tuple)) else str(item))]
        elif value is True:
            flags.append(flag)
        elif value is not None and value is not False:
            flags += [flag, ",".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)]
    return flags
