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
        var proxy = new Option<string>("--proxy")
        {
            Description = "Proxies, comma-separated: " + string.Join(",", ProxyCatalog.All.Select(p => p.Name)) + ", all, vote(a,b,...), logrank(a,b,...); the table ranks by the first",
            DefaultValueFactory = _ => "gradsign",
        };
        var init = CommonOptions.Init();
        var seed = CommonOptions.Seed();
        var seeds = new Option<string?>("--seeds") { Description = "Several seeds, e.g. 0,1,2: the score is their mean, with the standard deviation" };
        var engine = new Option<string>("--engine") { Description = "auto|loop|vectorized", DefaultValueFactory = _ => "auto" };
        engine.AcceptOnlyFromAmong("auto", "loop", "vectorized");
        var threads = CommonOptions.Threads();
        var data = CommonOptions.Data();
        var batch = new Option<long>("--batch-size") { Description = "Samples per score", DefaultValueFactory = _ => 64 };
        var mean = new Option<string?>("--mean") { Description = "Per-channel mean to subtract, e.g. 0.286 or 0.49,0.48,0.45" };
        var std = new Option<string?>("--std") { Description = "Per-channel standard deviation to divide by" };
        var reduce = new Option<string>("--reduce") { Description = "sum|mean", DefaultValueFactory = _ => "sum" };
        reduce.AcceptOnlyFromAmong("sum", "mean");
        var scope = new Option<string>("--params") { Description = "weights (Conv/Linear weights, as GradSign) | all (every trainable parameter)", DefaultValueFactory = _ => "weights" };
        scope.AcceptOnlyFromAmong("weights", "all");
        var loss = new Option<string>("--loss")
        {
            Description = "auto|cross-entropy|bce|mse: auto takes mse for float targets, bce for one output value, else cross-entropy",
            DefaultValueFactory = _ => "auto",
        };
        loss.AcceptOnlyFromAmong("auto", "cross-entropy", "bce", "mse");
        var output = new Option<string?>("--output-name") { Description = "Graph output to score (default: the first)" };
        var outputs = new Option<string>("--outputs")
        {
            Description = "one (the first output, or --output-name) | all (the per-sample loss sums every float output's)", DefaultValueFactory = _ => "one",
        };
        outputs.AcceptOnlyFromAmong("one", "all");
        var inputShapes = CommonOptions.InputShapes();
        var inputValues = CommonOptions.InputValues();
        var device = CommonOptions.Device();
        var maxMemory = new Option<long>("--max-memory") { Description = "Memory limit in MiB for per-sample gradients (the batch is chunked to fit)", DefaultValueFactory = _ => GradientSettings.DefaultMaxMemory >> 20 };
        var float64 = new Option<bool>("--float64") { Description = "Compute in float64 (exact sign comparisons; slower)" };
        var perLayer = new Option<bool>("--per-layer") { Description = "Each layer's share of the score, sign agreement and fraction of zero gradients" };
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

        var command = new Command("score", "Score candidate networks with GradSign and peer zero-cost proxies, best first")
        {
            paths, proxy, init, seed, seeds, engine, threads, data, batch, mean, std, reduce, scope, loss, output, outputs, inputShapes, inputValues, device, maxMemory, perLayer, float64, format, file, failFast, shard, cache, resume, retryErrors, workers, timeout, maxRss,
        };
        command.SetAction(parse =>
        {
            ScoringRun run;
            List<string> files;
            try
            {
                CommonOptions.RejectUnknownOptions(parse.CommandResult.Command, parse.GetValue(paths)!);
                if (parse.GetValue(threads) is { } t) TorchSharp.torch.set_num_threads(t);
                run = new ScoreRequest
                {
                    Paths = parse.GetValue(paths)!,
                    Proxy = parse.GetValue(proxy)!,
                    Init = parse.GetValue(init)!,
                    Seed = parse.GetValue(seed),
                    Seeds = parse.GetValue(seeds) is { } list ? ScoreRequest.ParseNumbers(list, "--seeds").Select(v => (long)v).ToArray() : null,
                    Engine = parse.GetValue(engine)!,
                    Data = parse.GetValue(data),
                    BatchSize = parse.GetValue(batch),
                    Mean = parse.GetValue(mean) is { } m ? ScoreRequest.ParseNumbers(m, "--mean") : null,
                    Std = parse.GetValue(std) is { } sd ? ScoreRequest.ParseNumbers(sd, "--std") : null,
                    Reduce = parse.GetValue(reduce)!,
                    Params = parse.GetValue(scope)!,
                    Loss = parse.GetValue(loss)!,
                    OutputName = parse.GetValue(output),
                    Outputs = parse.GetValue(outputs)!,
                    Device = parse.GetValue(device)!,
                    MaxMemory = parse.GetValue(maxMemory),
                    PerLayer = parse.GetValue(perLayer),
                    Float64 = parse.GetValue(float64),
                    InputShape = parse.GetValue(inputShapes) is { Length: > 0 } shapes ? CommonOptions.ParseShapes(shapes) : null,
                    InputValue = parse.GetValue(inputValues) is { Length: > 0 } values ? CommonOptions.ParseValues(values) : null,
                }.Prepare();
                files = parse.GetValue(shard) is { } spec ? Shards.Select(run.Files, spec) : run.Files.ToList();
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException)
            {
                Console.Error.WriteLine(e.Message);
                return ExitCodes.Usage;
            }

            var outputFormat = Enum.Parse<ScoreFormat>(parse.GetValue(format)!, ignoreCase: true);
            IncrementalOutput? sink;
            try
            {
                // jsonl and csv files grow record by record, so an interrupted run keeps what it finished.
                sink = parse.GetValue(file) is { } target && outputFormat is ScoreFormat.Jsonl or ScoreFormat.Csv
                    ? new IncrementalOutput(target, outputFormat, run.Columns, parse.GetValue(resume))
                    : parse.GetValue(resume) ? throw new ArgumentException("--resume needs -o FILE with --format jsonl or csv") : null;
                if (sink is not null) Resume.CheckSettings(sink, run);
            }
            catch (Exception e) when (e is ArgumentException or IOException or InvalidDataException)
            {
                Console.Error.WriteLine(e.Message);
                return ExitCodes.Usage;
            }

            using (sink)
            {
                var (existing, remaining) = Resume.Plan(files, sink?.Existing ?? [], parse.GetValue(retryErrors));
                sink?.Keep(existing);
                using var results = parse.GetValue(cache) is { } cacheFile ? new ResultCache(cacheFile) : null;
                var progress = new Progress(remaining.Count);
                bool inWorkers = parse.GetValue(workers) > 1 || parse.GetValue(timeout) is not null || parse.GetValue(maxRss) is not null;
                var fresh = inWorkers
                    ? new WorkerPool(SelfCommand(), parse.GetValue(workers), parse.GetValue(threads) ?? Math.Max(1, Environment.ProcessorCount / parse.GetValue(workers)),
                            parse.GetValue(timeout) is { } seconds ? TimeSpan.FromSeconds(seconds) : null, parse.GetValue(maxRss) is { } mib ? mib << 20 : null)
                        .Score(run, remaining, progress.Show, results, sink is null ? null : sink.Append)
                    : run.Score(remaining, progress.Show, parse.GetValue(failFast), results: results, onRecord: sink is null ? null : sink.Append);
                progress.Done();
                var records = existing.Count > 0 ? Ensembles.Apply([.. existing, .. fresh], run.Proxies) : fresh;

                if (sink is null)
                {
                    var text = ScoreWriter.Write(records, outputFormat, run.Columns);
                    if (parse.GetValue(file) is { } target) File.WriteAllText(target, text);
                    else Console.Write(text);
                }
                else if (run.Proxies.OfType<EnsembleProxy>().Any()) sink.RewriteWhole(records); // ensembles need every model: written last

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

    /// <summary>A one-line progress bar on stderr, shown only when several models are scored on a terminal.</summary>
    private sealed class Progress(int total)
    {
        private readonly bool _visible = total > 1 && !Console.IsErrorRedirected;

        public void Show(int done, string model)
        {
            if (!_visible) return;
            int filled = done * 30 / total;
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', 30 - filled)}] {done}/{total} {Path.GetFileName(model),-40}");
        }

        public void Done()
        {
            if (_visible) Console.Error.Write("\r" + new string(' ', 80) + "\r");
        }
    }
}
