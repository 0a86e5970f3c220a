using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>
/// Per-weight sums of per-sample gradient signs, Σ_i sign(g_ik), plus what per-layer triage needs: how many per-sample gradient
/// entries were exactly zero, and how many weights had a non-finite gradient for some sample. Such a weight's sum is NaN, which
/// nansum later skips, as the official code's np.sign(NaN) does. The per-sample gradients are read in four passes: this runs on
/// n×|θ_layer| values for every layer, so it matters for speed.
/// </summary>
public sealed class SignAccumulator(ParameterInfo parameter, Device device)
{
    public ParameterInfo Parameter { get; } = parameter;
    public Tensor SignSum { get; } = zeros(parameter.Shape, ScalarType.Float64, device);
    public long Samples { get; private set; }
    public long Zeros { get; private set; }
    /// <summary>Weights whose gradient was NaN or infinite for at least one sample.</summary>
    public long NonFinite { get; private set; }

    /// <summary>Adds per-sample gradients shaped [n, ...parameter shape].</summary>
    public void Add(Tensor perSample)
    {
        using var scope = NewDisposeScope();
        var g = perSample.detach();
        var sign = g.sign(); // torch's sign(NaN) is 0: non-finite gradients are found through their sum instead
        var nonFinite = g.sum(dim: 0).isfinite().logical_not();
        SignSum.add_(sign.sum(dim: 0, type: ScalarType.Float64).masked_fill(nonFinite, double.NaN));
        Samples += g.shape[0];
        Zeros += g.NumberOfElements - sign.count_nonzero().item<long>();
        NonFinite += nonFinite.sum().item<long>();
    }
}

/// <summary>What an engine computed for one batch.</summary>
public sealed record SignSums(IReadOnlyList<SignAccumulator> Parameters, long Samples, EngineKind Engine, bool OutputIgnoresInput);
