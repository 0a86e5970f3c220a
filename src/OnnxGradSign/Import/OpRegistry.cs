using OnnxGradSign.Onnx;

namespace OnnxGradSign.Import;

/// <summary>
/// Converters keyed by (domain, op type, since-version). A model whose opset is v uses the converter with the largest since-version ≤ v,
/// so versions that only widened the type list need no entry of their own; a version that changed semantics gets one.
/// </summary>
public sealed class OpRegistry
{
    private readonly Dictionary<(string Domain, string Op), SortedDictionary<long, OpConverter>> _converters = new();

    public static OpRegistry Default { get; } = CreateDefault();

    private static OpRegistry CreateDefault()
    {
        var registry = new OpRegistry();
        Ops.ConvolutionOps.Register(registry);
        Ops.NormalizationOps.Register(registry);
        Ops.LinearOps.Register(registry);
        Ops.ElementwiseOps.Register(registry);
        Ops.ActivationOps.Register(registry);
        Ops.PoolingOps.Register(registry);
        Ops.ReductionOps.Register(registry);
        Ops.TensorOps.Register(registry);
        Ops.ResamplingOps.Register(registry);
        Ops.IndexingOps.Register(registry);
        Ops.LossOps.Register(registry);
        Ops.QuantizationOps.Register(registry);
        Ops.ExperimentalOps.Register(registry);
        Ops.DetectionOps.Register(registry);
        Ops.ControlFlowOps.Register(registry);
        Ops.RecurrentOps.Register(registry);
        return registry;
    }

    public void Add(string op, long sinceVersion, OpConverter converter, string domain = OnnxModel.DefaultDomain)
    {
        var key = (OnnxModel.NormalizeDomain(domain), op);
        if (!_converters.TryGetValue(key, out var versions)) _converters[key] = versions = new SortedDictionary<long, OpConverter>();
        if (!versions.TryAdd(sinceVersion, converter))
            throw new InvalidOperationException($"{op} since version {sinceVersion} is registered twice");
    }

    /// <summary>Registers the same converter at several since-versions (each one a version where ONNX changed the op).</summary>
    public void Add(string op, long[] sinceVersions, OpConverter converter)
    {
        foreach (var v in sinceVersions) Add(op, v, converter);
    }

    public OpConverter? Find(string domain, string op, long opset)
    {
        if (!_converters.TryGetValue((OnnxModel.NormalizeDomain(domain), op), out var versions)) return null;
        OpConverter? found = null;
        foreach (var (since, converter) in versions)
            if (since <= opset) found = converter;
        return found;
    }

    public IEnumerable<(string Domain, string Op, long Since)> Entries =>
        _converters.SelectMany(kv => kv.Value.Keys.Select(v => (kv.Key.Domain, kv.Key.Op, v)));
}
