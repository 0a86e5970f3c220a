using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>Proxies built on gradients of the batch's mean loss (zero-cost-nas by Abdelfattah et al.; ZiCo by Li et al.).</summary>
public static class GradientProxies
{
    public static Proxy GradNorm { get; } = new("grad_norm", "Σ over Conv/Linear weights of ‖∂L/∂W‖₂",
        c => c.Batch.Weights.Values.Select(g => g.norm().Value()).Sum());

    public static Proxy Snip { get; } = new("snip", "Σ |W ⊙ ∂L/∂W|",
        c => c.Batch.Weights.Select(kv => (c.Model.TensorOf(kv.Key) * kv.Value).abs().sum().Value()).Sum());

    /// <summary>Σ −W ⊙ Hg: g the batch gradient (detached), Hg from a second backward through the gradient itself.</summary>
    public static Proxy Grasp { get; } = new("grasp", "Σ −W ⊙ (H g), g the batch gradient, H g by double backward", c =>
    {
        using var scope = NewDisposeScope();
        var weights = c.Weights;
        var g = c.Batch.Weights.Values.Select(t => t.detach()).ToArray();
        var withGraph = c.GradientsOfMeanLoss(0, c.X.shape[0], weights, createGraph: true);
        var z = withGraph.Zip(g, (a, b) => (a * b).sum()).Aggregate((a, b) => a + b);
        var targets = weights.Select(c.Model.TensorOf).ToList();
        var hg = Autograd.Grad(z, targets);
        return targets.Select((w, k) => hg[k] is { } h ? (-w * h).sum().Value() : 0).Sum();
    });

    /// <summary>Per output channel of each Conv/Linear layer: ½·mean over samples of (Σ over positions of activation·gradient)².</summary>
    public static Proxy Fisher { get; } = new("fisher", "Σ over Conv/Linear output channels of ½·mean_n (Σ_positions a·∂L/∂a)²", c =>
        c.Batch.Layers.Select(l =>
        {
            var product = l.Call.Output * l.OutputGrad;
            // Channels are axis 1 of a convolution's output and the last axis of a linear layer's.
            var perChannel = l.Call.Geometry is ConvGeometry
                ? product.flatten(2).sum(dim: 2)
                : product.reshape(product.shape[0], -1, product.shape[^1]).sum(dim: 1);
            return (0.5 * perChannel.square().mean([0])).sum().Value();
        }).Sum());

    /// <summary>
    /// ZiCo on two halves of the batch: per weight tensor, Σ over entries with nonzero spread of mean|g| / std(g) across the halves
    /// (population std), and Σ over tensors of its log where that sum is nonzero.
    /// </summary>
    public static Proxy Zico { get; } = new("zico", "Σ over layers of log Σ mean|g|/std(g) over 2 half-batches", c =>
    {
        long half = c.X.shape[0] / 2;
        if (half == 0) throw new ArgumentException("zico needs a batch of at least 2 samples");
        var weights = c.Weights;
        var first = c.GradientsOfMeanLoss(0, half, weights);
        var second = c.GradientsOfMeanLoss(half, half, weights);
        return first.Zip(second, (a, b) =>
        {
            var both = stack([a.detach(), b.detach()]);
            var std = both.std(0, unbiased: false);
            var nonzero = std.ne(0);
            double t = (both.abs().mean([0]).masked_select(nonzero) / std.masked_select(nonzero)).sum().Value();
            return t != 0 ? Math.Log(t) : 0;
        }).Sum();
    });
}
