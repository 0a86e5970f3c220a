using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxGradSign.Data;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>
/// Scores models in a child process (`onnx-gradsign serve` on standard input and output), one model per request. A child that runs past the per-model
/// timeout or above the memory limit is killed (the only way to stop a computation inside libtorch) and that model becomes an
/// error record; a child that crashes likewise; a fresh child takes the next model, so one bad model never ends the run.
/// </summary>
/// <param name="command">The command line that starts a server answering score requests on its standard input, one JSON line each.</param>
public sealed class WorkerProcess(ScoreRun run, string[] command, TimeSpan? timeout, long? maxRssBytes) : IModelScorer
{
    private Process? _process;
    private int _nextId;

    public ScoreRecord Score(string file, Dataset? data, string? sha256)
    {
        try
        {
            var process = _process ??= Start();
            // The child gets this file alone, with the run's options and the data chosen for it spelled out.
            var request = ScoreOptionFields.ToJson(run.Options with { Data = data?.Source ?? DatasetLoader.SyntheticName });
            request["id"] = ++_nextId;
            request["paths"] = new JsonArray(file);
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
                    return run.Failure(file, $"{file}: {stop}", clock.Elapsed.TotalSeconds);
                }
            }
            if (line.Result is not { } text)
            {
                Kill();
                return run.Failure(file, $"{file}: the worker process died");
            }
            var response = JsonNode.Parse(text)!;
            return response["ok"]!.GetValue<bool>()
                ? response["results"]![0].Deserialize<ScoreRecord>(Json.Options)!
                : run.Failure(file, response["error"]!.GetValue<string>());
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            Kill();
            return run.Failure(file, $"{file}: worker failed: {e.Message}");
        }
    }

    private Process Start()
    {
        var start = new ProcessStartInfo(command[0])
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var argument in command.Skip(1)) start.ArgumentList.Add(argument);
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
