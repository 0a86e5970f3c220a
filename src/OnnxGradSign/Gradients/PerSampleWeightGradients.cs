using OnnxGradSign.Import;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Gradients;

/// <summary>Per-sample weight gradients of one layer call, from the layer's input and the gradient of its output.</summary>
public static class PerSampleWeightGradients
{
    /// <summary>[n, ...weight shape as used by the call].</summary>
    public static Tensor Of(WeightLayerCall call, Tensor outputGrad) => call.Geometry switch
    {
        ConvGeometry conv => Convolution(call.Input, outputGrad, conv),
        LinearGeometry linear => Linear(call.Input, outputGrad, linear),
        _ => throw new NotSupportedException(call.Geometry.GetType().Name),
    };

    /// <summary>
    /// dW_n = Σ_positions g_n ⋆ x_n, all samples in one grouped convolution: the input channels (within a group) become the batch,
    /// the samples' output gradients become the filters of n·groups groups, and stride and dilation trade places.
    /// Measured on NAS-Bench-201 this is about one backward pass, ten times faster than unfold + batched matmul.
    /// </summary>
    private static Tensor Convolution(Tensor x, Tensor g, ConvGeometry geometry)
    {
        long n = x.shape[0], channels = x.shape[1], outChannels = g.shape[1], groups = geometry.Groups;
        long perGroup = channels / groups;
        int spatial = (int)x.dim() - 2;
        var kernel = geometry.KernelShape;
        var xs = x.reshape([n, groups, perGroup, .. x.shape[2..]])
            .permute([2, 0, 1, .. Enumerable.Range(3, spatial).Select(d => (long)d)])
            .reshape([perGroup, n * groups, .. x.shape[2..]]);
        var filters = g.reshape([n * outChannels, 1, .. g.shape[2..]]);
        var result = spatial == 3
            ? F.conv3d(xs, filters, null, geometry.Dilations, geometry.Pads, geometry.Strides, n * groups)
            : F.conv2d(xs, filters, null, geometry.Dilations, geometry.Pads, geometry.Strides, n * groups);
        for (int d = 0; d < spatial; d++) result = result.narrow(d + 2, 0, kernel[d]); // the correlation can overhang the kernel
        return result.reshape([perGroup, n, outChannels, .. kernel])
            .permute([1, 2, 0, .. Enumerable.Range(3, spatial).Select(d => (long)d)]);
    }

    /// <summary>y = x·W over the last axis (W [in,out]), or y = x·Wᵀ (W [out,in]): dW_n sums the outer products over the other axes.</summary>
    private static Tensor Linear(Tensor x, Tensor g, LinearGeometry geometry)
    {
        var grads = geometry.TransposedWeight ? einsum("n...o,n...i->noi", g, x) : einsum("n...i,n...o->nio", x, g);
        return geometry.Scale == 1 ? grads : grads * geometry.Scale;
    }
}
