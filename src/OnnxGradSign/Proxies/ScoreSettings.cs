using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;

namespace OnnxGradSign.Proxies;

/// <summary>Everything that decides a score; records carry these so a result says how it was produced.</summary>
public sealed record ScoreSettings(
    WeightInit Init,
    long[] Seeds,
    EngineKind Engine,
    long BatchSize,
    GradSignReduce Reduce,
    ParameterScope Params,
    LossKind Loss,
    string? Output,
    Normalization Normalization,
    long MaxMemoryBytes,
    bool PerLayer,
    string Device,
    bool Float64 = false)
{
    /// <summary>Bumped whenever a proxy's computation changes, so cached results from older versions are not reused.</summary>
    public const int ResultsVersion = 1;

    /// <summary>Everything that decides a record besides the model itself, as a stable string: the results cache's key.</summary>
    public string Key(Dataset? data) => System.Text.Json.JsonSerializer.Serialize(new
    {
        version = ResultsVersion, proxies = Proxies.Select(p => p.Name), init = Init.ToString(), seeds = Seeds, engine = Engine.ToString(), batch = BatchSize,
        reduce = Reduce.ToString(), scope = Params.ToString(), loss = Loss.ToString(), output = Output, mean = Normalization.Mean, std = Normalization.Std,
        perLayer = PerLayer, device = Device, float64 = Float64, data = data?.Fingerprint ?? "synthetic",
        allOutputs = AllOutputs,
        inputShapes = InputShapes?.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={string.Join(",", kv.Value)}"),
        inputValues = InputValues?.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={kv.Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"),
    });

    /// <summary>Every output scored: the per-sample loss is the sum over the graph's float outputs (`--outputs all`).</summary>
    public bool AllOutputs { get; init; }

    /// <summary>Shapes for inputs with symbolic axes besides the batch (a symbolic batch axis stays −1).</summary>
    public IReadOnlyDictionary<string, long[]>? InputShapes { get; init; }

    /// <summary>Values for inputs without a batch axis (a sample rate), fed as that value everywhere.</summary>
    public IReadOnlyDictionary<string, double>? InputValues { get; init; }

    /// <summary>The catalog proxies computed per model (ensembles are formed over the scored set afterwards).</summary>
    public IReadOnlyList<Proxy> Proxies { get; init; } = [ProxyCatalog.Find("gradsign")!];

    public static ScoreSettings Default { get; } = new(WeightInit.Fresh, [0], EngineKind.Auto, 64, GradSignReduce.Sum, ParameterScope.Weights,
        LossKind.Auto, null, Normalization.None, GradientSettings.DefaultMaxMemory, false, "cpu");
}
