using System.CommandLine;
using System.Globalization;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using OnnxGradSign.Runs;

namespace OnnxGradSign.Cli.Commands;

public static class ScoreCommand
{
    public static Command Create()
    {
        var paths = new Argument<string[]>("paths") { Description = "ONNX files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var settings = new ScoreOptionFlags();
        var threads = CommonOptions.Threads();
        var format = CommonOptions.Format("table", "json", "jsonl", "csv");
        var file = new Option<string?>("--output", "-o") { Description = "Write the results to FILE instead of standard output" };
        var failFast = new Option<bool>("--fail-fast") { Description = "Stop at the first model that fails, with exit code 1" };
        var workers = new Option<int>("--workers") { Description = "Score in N child processes (each model alone; needed for --timeout and --max-rss)", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double?>("--timeout") { Description = "Per-model time limit in seconds (runs models in worker processes)" };
        var maxRss = new Option<long?>("--max-rss") { Description = "Per-model memory limit in MiB of resident memory (runs models in worker processes)" };
        var cache = new Option<string?>("--cache") { Description = "SQLite file of finished results by (model hash, settings): reruns reuse them" };
        var resume = new Option<bool>("--resume") { Description = "Continue a run into the same -o FILE (jsonl or csv): keep its records, skip their models" };
        var retryErrors = new Option<bool>("--retry-errors") { Description = "With --resume, score again the models whose record is an error (it replaces that record)" };
        var shard = new Option<string?>("--shard") { Description = "Score only shard I of N (I/N, 0-based): a deterministic split by path, for job arrays" };

        var command = new Command("score", "Score candidate networks with GradSign and peer zero-cost proxies, best first") { paths };
        foreach (var option in settings.Options) command.Options.Add(option);
        foreach (var option in new Option[] { threads, format, file, failFast, shard, cache, resume, retryErrors, workers, timeout, maxRss }) command.Options.Add(option);
        command.SetAction(parse =>
        {
            ScoreRun run;
            List<string> files;
            try
            {
                CommonOptions.RejectUnknownOptions(parse.CommandResult.Command, parse.GetValue(paths)!);
                if (parse.GetValue(threads) is { } t) TorchSharp.torch.set_num_threads(t);
                run = new ScoreRun(settings.Read(parse), parse.GetValue(paths)!);
                files = parse.GetValue(shard) is { } spec ? Shards.Select(run.Files, spec) : run.Files.ToList();
            }
            catch (ScoreOptionException e)
            {
                Console.Error.WriteLine(ScoreOptionFlags.Describe(e));
                return ExitCodes.Usage;
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                Console.Error.WriteLine(ScoreOptionFlags.InCliTerms(e.Message));
                return ExitCodes.Usage;
            }

            var outputFormat = Enum.Parse<ScoreFormat>(parse.GetValue(format)!, ignoreCase: true);
            IncrementalOutput? sink;
            try
            {
                // jsonl and csv files grow record by record, so an interrupted run keeps what it finished.
                sink = parse.GetValue(file) is { } target && outputFormat is ScoreFormat.Jsonl or ScoreFormat.Csv
                    ? new IncrementalOutput(target, outputFormat, run.Run.Columns, parse.GetValue(resume))
                    : parse.GetValue(resume) ? throw new ArgumentException("--resume needs -o FILE with --format jsonl or csv") : null;
                if (sink is not null) Resume.CheckSettings(sink, run);
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine(ScoreOptionFlags.InCliTerms(e.Message));
                return ExitCodes.Usage;
            }

            using (sink)
            {
                var (existing, remaining) = Resume.Plan(files, sink?.Existing ?? [], parse.GetValue(retryErrors));
                sink?.Keep(existing);
                using var results = parse.GetValue(cache) is { } cacheFile ? new ResultCache(cacheFile) : null;
                var progress = new Progress(remaining.Count);
                bool inWorkers = parse.GetValue(workers) > 1 || parse.GetValue(timeout) is not null || parse.GetValue(maxRss) is not null;
                int lanes = Math.Max(1, parse.GetValue(workers));
                var hooks = new RunHooks
                {
                    Results = results, OnRecord = sink is null ? null : sink.Append, Progress = progress.Show, FailFast = parse.GetValue(failFast),
                    Parallel = inWorkers ? lanes : 1,
                    Scorers = inWorkers
                        ? () => new WorkerProcess(run, [.. SelfCommand(), "serve", "--stdio", "--threads", $"{parse.GetValue(threads) ?? Math.Max(1, Environment.ProcessorCount / lanes)}"],
                            parse.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null, parse.GetValue(maxRss) is { } mib ? mib << 20 : null)
                        : null,
                };
                var fresh = run.Score(remaining, hooks);
                progress.Done();
                var records = existing.Count > 0 ? Ensembles.Apply([.. existing, .. fresh], run.Run.Proxies) : fresh;

                if (sink is null)
                {
                    var text = ScoreWriter.Write(records, outputFormat, run.Run.Columns);
                    if (outputFormat == ScoreFormat.Table) text = ScoreOptionFlags.InCliTerms(text);
                    if (parse.GetValue(file) is { } target) File.WriteAllText(target, text);
                    else Console.Write(text);
                }
                else if (run.Run.Proxies.OfType<EnsembleProxy>().Any()) sink.RewriteWhole(records); // ensembles need every model: written last

                bool failedFast = parse.GetValue(failFast) && records.Any(r => r.Status != ScoreRecord.Ok);
                // An empty shard has nothing to score and is no failure; models that all failed are.
                return failedFast || records.Count > 0 && records.All(r => r.Status != ScoreRecord.Ok) ? ExitCodes.ModelFailed : ExitCodes.Ok;
            }
        });
        return command;
    }

    /// <summary>How to start this program again as a worker: the apphost beside this assembly, else `dotnet` with the assembly.</summary>
    private static string[] SelfCommand()
    {
        var assembly = typeof(ScoreCommand).Assembly.Location;
        var apphost = Path.Combine(Path.GetDirectoryName(assembly)!, OperatingSystem.IsWindows() ? "onnx-gradsign.exe" : "onnx-gradsign");
        return File.Exists(apphost) ? [apphost] : ["dotnet", assembly];
    }

    /// <summary>A one-line progress bar on stderr with elapsed time, rate and time left, shown only when several models are scored on a terminal.</summary>
    private sealed class Progress(int total)
    {
        private readonly bool _visible = total > 1 && !Console.IsErrorRedirected;

        public void Show(RunProgress p)
        {
            if (!_visible) return;
            int filled = p.Done * 30 / Math.Max(1, p.Total);
            var rate = p.Rate is { } r ? (r >= 1 ? $"{r:0.0} models/s" : $"{1 / r:0.0} s/model") : "";
            var left = p.Remaining is { } remaining ? $"{Clock(remaining)} left" : "";
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {p.Done}/{p.Total} {Clock(p.Elapsed)} {rate,-14} {left,-12} {Path.GetFileName(p.Model),-30}");
        }

        public void Done()
        {
            if (_visible) Console.Error.Write("\r" + new string(' ', 120) + "\r");
        }

        private static string Clock(TimeSpan t) => t.TotalHours >= 1 ? t.ToString(@"h\:mm\:ss") : t.ToString(@"m\:ss");
    }
}
