using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxGradSign.Data;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>
/// Scores models in child `onnx-gradsign serve --stdio` processes, one model per request. A child that runs past the per-model
/// timeout or above the memory limit is killed (the only way to stop a computation inside libtorch) and that model becomes an
/// error record; a child that crashes likewise; a fresh child takes the next model, so one bad model never ends the run.
/// </summary>
public sealed class WorkerPool(string[] command, int workers, int threadsPerWorker, TimeSpan? timeout, long? maxRssBytes)
{
    public IReadOnlyList<ScoreRecord> Score(ScoringRun run, IReadOnlyList<string> files, Action<int, string>? progress = null,
        ResultCache? results = null, Action<ScoreRecord>? onRecord = null)
    {
        var queue = new ConcurrentQueue<(int Index, string File)>(files.Select((f, i) => (i, f)));
        var records = new ScoreRecord?[files.Count];
        var resultsLock = new Lock();
        int done = 0;
        var loops = Enumerable.Range(0, Math.Max(1, Math.Min(workers, files.Count))).Select(_ => Task.Run(() =>
        {
            using var worker = new Worker(command, threadsPerWorker);
            while (queue.TryDequeue(out var item))
            {
                ScoreRecord? cached;
                var key = results is null ? null : run.Settings.Key(run.Data.For(item.File));
                var sha = results is null ? null : ModelScorer.TrySha256(item.File);
                lock (resultsLock) cached = sha is null ? null : results?.Find(sha, key!);
                var record = cached is not null ? cached with { Model = item.File } : worker.Score(run, item.File, timeout, maxRssBytes);
                lock (resultsLock)
                {
                    if (cached is null) results?.Store(record, key!);
                    records[item.Index] = record;
                    onRecord?.Invoke(record);
                    progress?.Invoke(++done, item.File);
                }
            }
        })).ToArray();
        Task.WaitAll(loops);
        return Ensembles.Apply(records.Select(r => r!).ToList(), run.Proxies);
    }

    /// <summary>One child process, started on first use and again after it was killed or died.</summary>
    private sealed class Worker(string[] command, int threads) : IDisposable
    {
        private Process? _process;
        private int _nextId;

        public ScoreRecord Score(ScoringRun run, string file, TimeSpan? timeout, long? maxRssBytes)
        {
            var data = run.Data.For(file);
            var failed = ModelScorer.Blank(file, data, run.Settings);
            try
            {
                var process = _process ??= Start();
                // The child gets this file alone and the data chosen for it spelled out.
                var request = JsonSerializer.SerializeToNode(run.Request with { Paths = [file], Data = data?.Source ?? DatasetLoader.SyntheticName }, Json.Compact)!.AsObject();
                request["id"] = ++_nextId;
                process.StandardInput.WriteLine(request.ToJsonString(Json.Compact));
                process.StandardInput.Flush();

                var clock = Stopwatch.StartNew();
                var line = process.StandardOutput.ReadLineAsync();
                while (!line.Wait(100))
                {
                    process.Refresh();
                    string? stop = timeout is { } t && clock.Elapsed > t ? $"timed out after {t.TotalSeconds:0.#} s"
                        : maxRssBytes is { } limit && process.WorkingSet64 > limit ? $"used more than {limit >> 20} MiB of memory"
                        : process.HasExited ? "the worker process died" : null;
                    if (stop is not null)
                    {
                        Kill();
                        return failed with { Error = $"{file}: {stop}", Seconds = clock.Elapsed.TotalSeconds };
                    }
                }
                if (line.Result is not { } text)
                {
                    Kill();
                    return failed with { Error = $"{file}: the worker process died" };
                }
                var response = JsonNode.Parse(text)!;
                return response["ok"]!.GetValue<bool>()
                    ? response["results"]![0].Deserialize<ScoreRecord>(Json.Options)!
                    : failed with { Error = response["error"]!.GetValue<string>() };
            }
            catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                Kill();
                return failed with { Error = $"{file}: worker failed: {e.Message}" };
            }
        }

        private Process Start()
        {
            var start = new ProcessStartInfo(command[0])
            {
                RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
            };
            foreach (var argument in command.Skip(1).Concat(["serve", "--stdio", "--threads", threads.ToString()])) start.ArgumentList.Add(argument);
            var process = Process.Start(start)!;
            process.ErrorDataReceived += (_, _) => { }; // drained so a chatty child never blocks
            process.BeginErrorReadLine();
            // Wait until the child answers, so loading the runtime and libtorch never counts against a model's time limit.
            process.StandardInput.WriteLine("{\"op\":\"health\"}");
            process.StandardInput.Flush();
            if (process.StandardOutput.ReadLine() is null) throw new IOException("the worker process did not start");
            return process;
        }

        private void Kill()
        {
            if (_process is null) return;
            try { _process.Kill(entireProcessTree: true); } catch (InvalidOperationException) { }
            _process.Dispose();
            _process = null;
        }

        public void Dispose()
        {
            if (_process is { HasExited: false })
            {
                _process.StandardInput.Close(); // end of input: the child answers what it has and exits
                if (!_process.WaitForExit(5000)) Kill();
            }
            _process?.Dispose();
        }
    }
}
