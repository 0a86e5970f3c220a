using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>
/// SynFlow (Tanaka et al. 2020, as zero-cost-nas computes it): on a copy of the network in float64 with BatchNorm skipped and every
/// parameter and running statistic made absolute, an all-ones input of one sample, R = Σ outputs, and Σ |W ⊙ ∂R/∂W|.
/// </summary>
public static class SynFlow
{
    public static Proxy Proxy { get; } = new("synflow", "Σ |W ⊙ ∂R/∂W| with |θ|, BatchNorm skipped, all-ones input, float64", Compute);

    private static double Compute(ProxyContext c)
    {
        using var scope = NewDisposeScope();
        c.RequireFloatInput("synflow", "feeds an all-ones float input");
        using var copy = c.Reimport();
        copy.to(ScalarType.Float64);
        using (no_grad())
            foreach (var p in copy.ParameterInfos) copy.TensorOf(p).abs_();
        var ones = torch.ones([1, .. c.X.shape[1..]], ScalarType.Float64, c.X.device);
        var (output, _) = c.Forward(ones, BatchNormMode.Identity, copy);
        var weights = Gradients.PerSampleGradients.Scored(copy, c.Gradients.Scope);
        var targets = weights.Select(copy.TensorOf).ToList();
        var grads = Autograd.Grad(output.sum(), targets);
        return targets.Select((w, k) => grads[k] is { } g ? (w * g).abs().sum().Value() : 0).Sum();
    }
}
