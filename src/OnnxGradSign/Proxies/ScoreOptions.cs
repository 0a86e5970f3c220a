using System.Text.Json;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;

namespace OnnxGradSign.Proxies;

/// <summary>Which graph outputs the per-sample loss is taken from.</summary>
public enum OutputSelection
{
    /// <summary>The first output, or the one named by <see cref="ScoreOptions.OutputName"/>.</summary>
    One,
    /// <summary>Every float output: the per-sample loss is the sum of each output's.</summary>
    All,
}

/// <summary>
/// How models are scored: every setting of a scoring run, typed, with its default. Each is declared once, in
/// <see cref="ScoreOptionFields.All"/> (name, documentation, validation), from which the command line's options, the server's
/// request fields, the settings fields of every record, the results cache's key and the Python client's keywords are derived.
/// </summary>
/// <example>
/// <code>
/// using var scorer = new Scorer(new ScoreOptions { Proxy = "gradsign,synflow", BatchSize = 32 });
/// ScoreRecord result = scorer.Score("models/mlp.onnx");
/// </code>
/// </example>
public sealed record ScoreOptions
{
    /// <summary>Proxies, comma-separated, from <see cref="ProxyCatalog"/>, or `all`, or ensembles `vote(a,b)`, `logrank(a,b)`; rankings use the first.</summary>
    public string Proxy { get; init; } = "gradsign";
    /// <summary>Fresh weights drawn in the exporting framework's style (GradSign's setting), or the file's own.</summary>
    public WeightInit Init { get; init; } = WeightInit.Fresh;
    /// <summary>Initialization seeds: a score is the mean over them (with its standard deviation when there are several).</summary>
    public IReadOnlyList<long> Seeds { get; init; } = [0];
    /// <summary>The per-sample gradient engine; auto takes the vectorized one unless the graph needs one sample at a time.</summary>
    public EngineKind Engine { get; init; } = EngineKind.Auto;
    /// <summary>Labelled samples (.npz, IDX, CIFAR batch), `synthetic`, or null for the .npz nearest each model.</summary>
    public string? Data { get; init; }
    /// <summary>Samples per score.</summary>
    public long BatchSize { get; init; } = 64;
    /// <summary>Per-channel mean subtracted from the samples (one value for every channel, or one per channel).</summary>
    public IReadOnlyList<double>? Mean { get; init; }
    /// <summary>Per-channel standard deviation the samples are divided by.</summary>
    public IReadOnlyList<double>? Std { get; init; }
    /// <summary>GradSign's reduction over weights: the paper's sum, or the mean (comparable across sizes).</summary>
    public GradSignReduce Reduce { get; init; } = GradSignReduce.Sum;
    /// <summary>The parameters GradSign scores: Conv/Linear weights (the paper's) or every trainable parameter.</summary>
    public ParameterScope ParamScope { get; init; } = ParameterScope.Weights;
    /// <summary>The per-sample loss; auto: mse for float targets, bce for one output value, else cross-entropy.</summary>
    public LossKind Loss { get; init; } = LossKind.Auto;
    /// <summary>The graph output scored (null: the first).</summary>
    public string? OutputName { get; init; }
    /// <summary>One output, or the sum of every float output's per-sample loss.</summary>
    public OutputSelection Outputs { get; init; } = OutputSelection.One;
    /// <summary>Shapes of inputs with symbolic axes besides the batch (−1 for the batch axis), by input name.</summary>
    public IReadOnlyDictionary<string, long[]>? InputShape { get; init; }
    /// <summary>Values of inputs without a batch axis (a sample rate), by input name.</summary>
    public IReadOnlyDictionary<string, double>? InputValue { get; init; }
    /// <summary>auto, cpu or cuda.</summary>
    public string Device { get; init; } = "auto";
    /// <summary>Memory limit in MiB for per-sample gradients; the batch is processed in chunks that fit.</summary>
    public long MaxMemory { get; init; } = GradientSettings.DefaultMaxMemory >> 20;
    /// <summary>Each layer's share of the score, sign agreement and fraction of zero gradients in the record.</summary>
    public bool PerLayer { get; init; }
    /// <summary>Compute in float64 (exact sign comparisons; slower).</summary>
    public bool Float64 { get; init; }

    /// <summary>Bumped whenever a proxy's computation changes, so cached results from older versions are not reused.</summary>
    public const int ResultsVersion = 2;

    /// <summary>These options checked and resolved (the device chosen, the proxies parsed); <see cref="ScoreOptionException"/> names the field that is wrong.</summary>
    public ValidatedOptions Validate()
    {
        foreach (var field in ScoreOptionFields.All) field.Check(this);
        var proxies = ProxySelection.Parse(Proxy);
        return new ValidatedOptions(this with { Device = ResolveDevice(Device) }, proxies);
    }

    /// <summary>The same device, with auto resolved to cuda where TorchSharp finds one, else cpu.</summary>
    public static string ResolveDevice(string device)
    {
        bool cuda = TorchSharp.torch.cuda.is_available();
        if (device == "cuda" && !cuda)
            throw new ScoreOptionException("device", "cuda: TorchSharp finds no CUDA device (the build uses libtorch-cpu; see README)");
        return device == "auto" ? (cuda ? "cuda" : "cpu") : device;
    }

    /// <summary>Everything that decides a record besides the model itself, as a stable string: the results cache's key.</summary>
    public string Key(Dataset? data) => JsonSerializer.Serialize(new SortedDictionary<string, string?>(
        ScoreOptionFields.All.Where(f => f.DecidesResult).ToDictionary(f => f.Name, f => f.Text(this)), StringComparer.Ordinal)
    {
        ["version"] = ResultsVersion.ToString(), ["data_used"] = data?.Fingerprint ?? DatasetLoader.SyntheticName,
    });
}

/// <summary>Options that passed <see cref="ScoreOptions.Validate"/>, and the proxies they name (ensembles included).</summary>
public sealed record ValidatedOptions(ScoreOptions Options, IReadOnlyList<ProxySpec> Proxies)
{
    /// <summary>The catalog proxies computed per model (ensembles are formed over the scored set afterwards).</summary>
    public IReadOnlyList<Proxy> Computed { get; } = ProxySelection.Needed(Proxies);

    public long[] Seeds => [.. Options.Seeds];
    public long MaxMemoryBytes => Options.MaxMemory << 20;
    public Normalization Normalization => new([.. Options.Mean ?? [0]], [.. Options.Std ?? [1]]);

    /// <summary>The score fields of a record: each requested proxy, its spread over seeds, and synflow's log10 (params has its own field).</summary>
    public List<string> Columns => Proxies.Select(p => p.Name).Where(p => p != "params")
        .SelectMany(p => new[] { p }.Concat(Seeds.Length > 1 && !p.Contains('(') ? [p + "_std"] : []).Concat(p == "synflow" ? ["synflow_log10"] : []))
        .ToList();
}

/// <summary>A scoring option that is wrong: <see cref="Field"/> names it (snake_case, as in <see cref="ScoreOptionFields"/>).</summary>
public sealed class ScoreOptionException(string field, string problem) : ArgumentException($"{field}: {problem}")
{
    public string Field { get; } = field;
    public string Problem { get; } = problem;
}
