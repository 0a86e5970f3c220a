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
    /// <summary>The catalog proxies computed per model (ensembles are formed over the scored set afterwards).</summary>
    public IReadOnlyList<Proxy> Proxies { get; init; } = [ProxyCatalog.Find("gradsign")!];

    public static ScoreSettings Default { get; } = new(WeightInit.Fresh, [0], EngineKind.Auto, 64, GradSignReduce.Sum, ParameterScope.Weights,
        LossKind.CrossEntropy, null, Normalization.None, GradientSettings.DefaultMaxMemory, false, "cpu");
}
