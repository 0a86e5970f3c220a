"""A long-lived `onnx-gradsign serve --stdio` process answering scoring requests (README: "serve" documents the protocol)."""
import difflib
import inspect
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

from .results import Results

_REPO = Path(__file__).resolve().parents[3]
_BUILDS = [_REPO / "src" / "OnnxGradSign.Cli" / "bin" / config / "net10.0" / "onnx-gradsign" for config in ("Release", "Debug")]


class ScoringError(RuntimeError):
    """A request the server refused or could not complete (its message), or a server that died twice."""


def find_binary(binary=None):
    """The onnx-gradsign executable: `binary`, else $ONNX_GRADSIGN, else `onnx-gradsign` on PATH, else this repository's
    Release or Debug build (the newer of the two, so a stale build is not picked)."""
    found = binary or os.environ.get("ONNX_GRADSIGN") or shutil.which("onnx-gradsign")
    if found:
        return os.fspath(found)
    builds = [b for b in _BUILDS if b.is_file()]
    if not builds:
        raise FileNotFoundError("onnx-gradsign not found: pass binary=, set ONNX_GRADSIGN, put it on PATH, or build it "
                                f"(dotnet build src/OnnxGradSign.Cli in {_REPO})")
    return str(max(builds, key=lambda b: b.stat().st_mtime))


class _Call:
    """One request waiting for its response; `response` stays None if its server process died first."""

    def __init__(self, process):
        self.process = process
        self.done = threading.Event()
        self.response = None


class Scorer:
    """One `onnx-gradsign serve --stdio` process, shared by every thread of the caller.

    `workers`, `threads` and `timeout` (seconds per request) are the server's options; `extra_args` go to its command line.
    Requests carry increasing ids and each caller waits for the response with its id. If the process dies (it is restarted
    at most once per request, and the request sent once more), a second death raises ScoringError.
    """

    def __init__(self, binary=None, workers=1, threads=None, timeout=600, extra_args=()):
        self._argv = [find_binary(binary), "serve", "--stdio", "--workers", str(workers), "--timeout", str(timeout)]
        if threads is not None:
            self._argv += ["--threads", str(threads)]
        self._argv += list(extra_args)
        self.timeout = timeout
        self._lock = threading.Lock()  # guards the process, its stdin and the pending calls
        self._ids = itertools.count(1)
        self._pending = {}
        self._closed = False
        self._options = None
        self._start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Close the server's input (it answers what was asked, then exits) and wait for it; kill it after 10 s."""
        with self._lock:
            self._closed = True
        _stop(self._process, grace=10)

    def health(self):
        """The server's `health` answer: `status`, `waiting`, `cached_models` (and the protocol `version`)."""
        return self._answer({"op": "health"})

    def version(self):
        """The server's `version` answer: `tool`, `proxies` (and the protocol `version`)."""
        return self._answer({"op": "version"})

    def _answer(self, body):
        return {k: v for k, v in self._request(body).items() if k not in ("id", "ok")}

    def options(self):
        """The scoring options the server takes: dicts with name, default, choices, description, decides_result (its `version` answer)."""
        if self._options is None:
            self._options = self.version()["options"]
        return self._options

    def score(self, paths_or_modules, proxies=("gradsign",), data=None, names=None, sample_shape=None, progress=None, **options):
        """Score models and return their records (`Results`: plain dicts with the fields of `score --format json`), in request order.

        Each item is an ONNX file or folder, a torch module, or a `(module, example_input)` pair; a module without an example
        input needs `sample_shape` (the shape of one sample, e.g. (1, 28, 28)). Modules are exported with `export` to a
        temporary file; a module's record is named `names[i]`, else the caller's variable holding it, else its class name.
        `options` are the scoring options by name (`Scorer.options()` lists them: init, seeds, batch_size, engine, reduce,
        param_scope, loss, output_name, outputs, input_shape, input_value, device, mean, std, max_memory, per_layer, float64),
        plus timeout_seconds; a misspelt one raises TypeError naming the closest. As in the CLI, `data=None` means the one
        .npz next to the first item (synthetic data for a module). `progress` is called as progress(done, total, record)
        after each model (then models are sent one request each; ensembles need one request and report once), or pass
        progress="tqdm" for a tqdm bar. A model that fails is a record with status "error"; a refused request (missing
        file, unknown proxy, bad value, timeout) raises ScoringError.
        """
        items = list(paths_or_modules)
        wait = options.pop("timeout_seconds", self.timeout)
        self._check_options(options)
        proxy = proxies if isinstance(proxies, str) else ",".join(proxies)
        request = {"proxy": proxy, **{k: _jsonable(v) for k, v in options.items()}}
        if data is not None:
            request["data"] = os.fspath(data)
        labels = _caller_names(items) if names is None else list(names)
        with tempfile.TemporaryDirectory(prefix="onnx-gradsign-") as folder:
            paths, display = [], {}
            for i, item in enumerate(items):
                if isinstance(item, (str, os.PathLike)):
                    paths.append(os.fspath(item))
                    continue
                module, example = item if isinstance(item, tuple) else (item, None)
                path = os.path.join(folder, f"{i}.onnx")
                _export_module(module, example, sample_shape, path)
                paths.append(path)
                display[path] = labels[i] if i < len(labels) and labels[i] is not None else type(module).__name__
            report = _progress_reporter(progress, len(paths))
            if report is None or "(" in proxy:
                answer = self._request({"op": "score", "paths": paths, **request}, wait)
                records, columns = answer["results"], answer["columns"]
            else:
                records, columns = [], []
                for path in paths:
                    answer = self._request({"op": "score", "paths": [path], **request}, wait)
                    records += _named(answer["results"], display)
                    columns = answer["columns"]
                    report(len(records), records[-1])
        return Results(_named(records, display), columns)

    def _check_options(self, options):
        known = [o["name"] for o in self.options()]
        for name in options:
            if name not in known:
                close = difflib.get_close_matches(name, known, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                raise TypeError(f"score() got an unknown option {name!r}{hint}; options: {', '.join(known)}")

    def _start(self):
        self._process = subprocess.Popen(self._argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        threading.Thread(target=self._read, args=(self._process,), daemon=True, name="onnx-gradsign-reader").start()

    def _read(self, process):
        """Hand each response to the call with its id. At end of output the process can answer nothing more: once it has
        exited (killed if it lingers), release the calls still waiting on it."""
        with process.stdout:
            for line in process.stdout:
                try:
                    response = json.loads(line)
                    request_id = int(response["id"])
                except (ValueError, TypeError, KeyError):
                    continue  # not an answer to one of our requests (a native library writing to stdout)
                with self._lock:
                    call = self._pending.pop(request_id, None)
                if call is not None:
                    call.response = response
                    call.done.set()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        with self._lock:
            dead = [i for i, call in self._pending.items() if call.process is process]
            for i in dead:
                self._pending.pop(i).done.set()

    def _send(self, body, restart_if_dead):
        """Write the request to the current process (first restarting it if it is `restart_if_dead`); the waiting call,
        released at once if the process has exited (its reader may have released the others already)."""
        with self._lock:
            if self._closed:
                raise ScoringError("the scorer is closed")
            if self._process is restart_if_dead:
                _stop(restart_if_dead, grace=0)
                self._start()
            call = _Call(self._process)
            if self._process.poll() is None:
                request_id = next(self._ids)
                self._pending[request_id] = call
                try:
                    self._process.stdin.write(json.dumps({"id": request_id, **body}) + "\n")
                    self._process.stdin.flush()
                    return call
                except (BrokenPipeError, ValueError):  # ValueError: its stdin is already closed
                    del self._pending[request_id]
            call.done.set()
        return call

    def _request(self, body, wait=None):
        """Send one request and return its ok response; restart a dead server once and send again."""
        wait = (self.timeout if wait is None else wait) + 30  # the server answers at its own deadline; this is a last resort
        dead = None
        for _ in range(2):
            call = self._send(body, restart_if_dead=dead)
            if not call.done.wait(wait):
                with self._lock:
                    self._pending = {i: c for i, c in self._pending.items() if c is not call}
                raise ScoringError(f"no answer from onnx-gradsign within {wait:.0f} s")
            if call.response is not None:
                if not call.response.get("ok"):
                    raise ScoringError(call.response.get("error", "the server refused the request"))
                return call.response
            dead = call.process
        raise ScoringError(f"the onnx-gradsign server died twice while answering (exit code {dead.poll()})")


def _stop(process, grace):
    """Close the process's input, give it `grace` seconds to finish, then kill it; reap it either way."""
    try:
        process.stdin.close()
    except BrokenPipeError:
        pass
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _named(records, display):
    """The records with each exported module's temporary path replaced by its name."""
    for record in records:
        record["model"] = display.get(record["model"], record["model"])
    return records


def _jsonable(value):
    """An option value as JSON takes it: tuples as lists, paths as strings."""
    if isinstance(value, tuple):
        return list(value)
    return os.fspath(value) if isinstance(value, os.PathLike) else value


def _caller_names(items):
    """For each item, the name of a variable in the calling code that holds it (the first found), else None."""
    frame = inspect.currentframe()
    try:
        caller = frame.f_back.f_back  # score's caller
        names = {}
        for scope in (caller.f_locals, caller.f_globals):
            for name, value in scope.items():
                if not name.startswith("_"):
                    names.setdefault(id(value), name)
        return [names.get(id(item[0] if isinstance(item, tuple) else item)) for item in items]
    finally:
        del frame


def _progress_reporter(progress, total):
    """progress(done, record) from the caller's callback, or a tqdm bar for progress="tqdm"; None without progress."""
    if progress is None:
        return None
    if progress == "tqdm":
        from tqdm import tqdm

        bar = tqdm(total=total, unit="model")

        def report(done, record):
            bar.update(1)
            bar.set_postfix_str(os.path.basename(str(record["model"])))
            if done == total:
                bar.close()
        return report
    return lambda done, record: progress(done, total, record)


def _export_module(module, example, sample_shape, path):
    from .exporting import export

    if example is None:
        if sample_shape is None:
            raise ValueError(f"{type(module).__name__}: give (module, example_input) or sample_shape= to export it")
        import torch

        example = torch.zeros(2, *sample_shape)  # a batch of 2: BatchNorm1d cannot trace a batch of one in training mode
    export(module, example, path)
