using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using TorchSharp;

namespace OnnxGradSign.Tests.Gradients;

/// <summary>
/// The count that bounds what float32 can change in a sign sum: float32 flips a per-sample gradient entry's sign only where the
/// entry lies within float32's error of zero. That error is at most ~n·u times the size of the terms summed (u = 2^-24, n ≤ 10^4
/// accumulated terms in these models), about 6e-4 of the layer's RMS per-sample gradient, so the nonzero exact (float64) entries
/// below 1e-3 of their layer's RMS are the only ones that can flip (an exact zero, a dead ReLU or an unused weight, is structural
/// and zero in float32 too). Each flip moves a weight's sign sum by at most 2.
/// </summary>
public static class NearZeroGradients
{
    public const double Relative = 1e-3;

    /// <summary>Near-zero entries of the per-sample gradients of the scored weights, computed one sample at a time in float64.</summary>
    public static long Count(ImportedModel model, torch.Tensor x, torch.Tensor y)
    {
        using var scope = torch.NewDisposeScope();
        model.to(torch.ScalarType.Float64);
        if (x.is_floating_point()) x = x.to_type(torch.ScalarType.Float64);
        var scored = PerSampleGradients.Scored(model, ParameterScope.Weights);
        var perLayer = scored.Select(_ => new List<torch.Tensor>()).ToList();
        model.Run.BatchNorm = BatchNormMode.PerSample;
        for (long i = 0; i < x.shape[0]; i++)
        {
            var output = model.forward([x.narrow(0, i, 1)])[0];
            var loss = Losses.SumOfPerSample(output, y.narrow(0, i, 1), LossKind.CrossEntropy);
            var grads = Autograd.Grad(loss, scored.Select(model.TensorOf).ToList());
            for (int k = 0; k < scored.Count; k++) perLayer[k].Add((grads[k] ?? torch.zeros_like(model.TensorOf(scored[k]))).detach());
        }
        return perLayer.Sum(layer =>
        {
            var g = torch.stack(layer);
            double rms = g.square().mean().sqrt().item<double>();
            var magnitude = g.abs();
            return magnitude.le(Relative * rms).logical_and(magnitude.gt(0)).sum().item<long>();
        });
    }
}
