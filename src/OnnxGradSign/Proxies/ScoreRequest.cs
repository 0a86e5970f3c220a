using System.Globalization;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;

namespace OnnxGradSign.Proxies;

/// <summary>
/// A scoring run as users describe it: the `score` command's options and the `serve` requests' fields, with the same names
/// (snake_case in JSON). <see cref="Prepare"/> validates it once for both, with errors that name the field.
/// </summary>
public sealed record ScoreRequest
{
    public IReadOnlyList<string> Paths { get; init; } = [];
    public string Proxy { get; init; } = "gradsign";
    public string Init { get; init; } = "fresh";
    public long Seed { get; init; }
    public long[]? Seeds { get; init; }
    public string Engine { get; init; } = "auto";
    public string? Data { get; init; }
    public long BatchSize { get; init; } = 64;
    public double[]? Mean { get; init; }
    public double[]? Std { get; init; }
    public string Reduce { get; init; } = "sum";
    public string Params { get; init; } = "weights";
    public string Loss { get; init; } = "auto";
    public string? OutputName { get; init; }
    public string Outputs { get; init; } = "one";
    public string Device { get; init; } = "auto";
    public long MaxMemory { get; init; } = GradientSettings.DefaultMaxMemory >> 20;
    public bool PerLayer { get; init; }
    public bool Float64 { get; init; }
    public Dictionary<string, long[]>? InputShape { get; init; }
    public Dictionary<string, double>? InputValue { get; init; }

    /// <summary>The files, proxies, settings and data of the run; ArgumentException or FileNotFoundException name what is wrong.</summary>
    public ScoringRun Prepare()
    {
        if (Paths.Count == 0) throw new ArgumentException("paths: name at least one model file or folder");
        var files = ModelFiles.Expand(Paths);
        var proxies = ProxySelection.Parse(Proxy);
        var settings = new ScoreSettings(
            Choose(Init, "init", ("fresh", WeightInit.Fresh), ("keep", WeightInit.Keep)),
            Seeds is { Length: > 0 } ? Seeds : [Seed],
            Choose(Engine, "engine", ("auto", EngineKind.Auto), ("loop", EngineKind.Loop), ("vectorized", EngineKind.Vectorized)),
            Positive(BatchSize, "batch_size"),
            Choose(Reduce, "reduce", ("sum", GradSignReduce.Sum), ("mean", GradSignReduce.Mean)),
            Choose(Params, "params", ("weights", ParameterScope.Weights), ("all", ParameterScope.All)),
            Choose(Loss, "loss", ("auto", LossKind.Auto), ("cross-entropy", LossKind.CrossEntropy), ("bce", LossKind.BinaryCrossEntropy), ("mse", LossKind.Mse)),
            OutputName,
            new Normalization(Mean ?? [0], Std ?? [1]),
            Positive(MaxMemory, "max_memory") << 20,
            PerLayer,
            ResolveDevice(Device),
            Float64) { Proxies = ProxySelection.Needed(proxies), InputShapes = InputShape, InputValues = InputValue,
            AllOutputs = Choose(Outputs, "outputs", ("one", false), ("all", true)) };
        return new ScoringRun(files, proxies, settings, DataChoice.Resolve(Data, Paths, files, settings.BatchSize), this);
    }

    public static string ResolveDevice(string device)
    {
        bool cuda = TorchSharp.torch.cuda.is_available();
        if (device is not ("auto" or "cpu" or "cuda")) throw new ArgumentException($"device '{device}': expected auto, cpu or cuda");
        if (device == "cuda" && !cuda) throw new ArgumentException("device cuda: TorchSharp finds no CUDA device (the build uses libtorch-cpu; see README)");
        return device == "auto" ? (cuda ? "cuda" : "cpu") : device;
    }

    public static long Positive(long value, string name) => value > 0 ? value : throw new ArgumentException($"{name} must be positive, got {value}");

    public static double[] ParseNumbers(string list, string name)
    {
        try { return list.Split(',').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray(); }
        catch (FormatException) { throw new ArgumentException($"{name} '{list}': expected comma-separated numbers"); }
    }

    private static T Choose<T>(string value, string name, params (string Name, T Value)[] choices) =>
        choices.FirstOrDefault(c => c.Name == value) is { Name: not null } match ? match.Value
            : throw new ArgumentException($"{name} '{value}': expected {string.Join(", ", choices.Select(c => c.Name))}");
}

/// <summary>A validated run: which files, which proxies (ensembles included), the settings and the data, and the request it came from.</summary>
public sealed record ScoringRun(IReadOnlyList<string> Files, IReadOnlyList<ProxySpec> Proxies, ScoreSettings Settings, DataChoice Data, ScoreRequest Request)
{
    /// <summary>The score fields of the run's records, in output order.</summary>
    public List<string> Columns => Reporting.ScoreWriter.ScoreColumns(Proxies.Select(p => p.Name), Settings.Seeds.Length > 1);

    /// <summary>
    /// Scores the given files (all of the run's by default), then forms the ensembles over them. Records found in the results
    /// cache are reused (under this run's path); each finished record goes to <paramref name="onRecord"/> at once, so a run that
    /// is killed keeps everything written so far.
    /// </summary>
    public IReadOnlyList<ScoreRecord> Score(IEnumerable<string>? files = null, Action<int, string>? progress = null, bool failFast = false,
        CancellationToken cancellation = default, Serving.ModelCache? cache = null, Runs.ResultCache? results = null, Action<ScoreRecord>? onRecord = null)
    {
        var records = new List<ScoreRecord>();
        foreach (var file in files ?? Files)
        {
            cancellation.ThrowIfCancellationRequested();
            progress?.Invoke(records.Count, file);
            var data = Data.For(file);
            var key = results is null ? null : Settings.Key(data);
            var sha = results is null ? null : ModelScorer.TrySha256(file);
            var cached = sha is null ? null : results?.Find(sha, key!);
            var record = cached is not null ? cached with { Model = file } : ModelScorer.Score(file, data, Settings, cache, sha);
            if (cached is null) results?.Store(record, key!);
            records.Add(record);
            onRecord?.Invoke(record);
            if (record.Status != ScoreRecord.Ok && failFast) break;
        }
        return Ensembles.Apply(records, Proxies);
    }
}
