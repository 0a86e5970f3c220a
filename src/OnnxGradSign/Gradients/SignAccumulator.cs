using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>
/// Per-weight sums of per-sample gradient signs, Σ_i sign(g_ik), plus what per-layer triage needs: how many per-sample
/// gradient entries were exactly zero or not finite. A NaN gradient makes its weight's sum NaN, which nansum later skips.
/// </summary>
public sealed class SignAccumulator(ParameterInfo parameter, Device device)
{
    public ParameterInfo Parameter { get; } = parameter;
    public Tensor SignSum { get; } = zeros(parameter.Shape, ScalarType.Float64, device);
    public long Samples { get; private set; }
    public long Zeros { get; private set; }
    public long NonFinite { get; private set; }

    /// <summary>Adds per-sample gradients shaped [n, ...parameter shape].</summary>
    public void Add(Tensor perSample)
    {
        using var scope = NewDisposeScope();
        var g = perSample.detach();
        var sign = where(g.isnan(), g, g.sign()).to_type(ScalarType.Float64);
        SignSum.add_(sign.sum(dim: 0));
        Samples += g.shape[0];
        Zeros += g.eq(0).sum().item<long>();
        NonFinite += g.isfinite().logical_not().sum().item<long>();
    }
}

/// <summary>What an engine computed for one batch.</summary>
public sealed record SignSums(IReadOnlyList<SignAccumulator> Parameters, long Samples, EngineKind Engine, bool OutputIgnoresInput);
