using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>MaxPool, AveragePool and their global forms over 1-3 spatial axes (1-D runs as 2-D with a unit axis).</summary>
public static class PoolingOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("MaxPool", [1, 8, 10, 11, 12], MaxPool);
        registry.Add("AveragePool", [1, 7, 10, 11, 19], AveragePool);
        registry.Add("GlobalAveragePool", 1, _ => Single(i => i[0]!.mean(SpatialAxes(i[0]!), keepdim: true)));
        registry.Add("GlobalMaxPool", 1, _ => Single(i => i[0]!.amax(SpatialAxes(i[0]!), keepdim: true)));
    }

    private static long[] SpatialAxes(Tensor x) => Enumerable.Range(2, (int)x.dim() - 2).Select(a => (long)a).ToArray();

    private sealed record Window(long[] Kernel, long[] Strides, long[] Dilations, long[] Begin, long[] End, bool CeilMode);

    private static Func<Tensor, Window> WindowOf(NodeContext node)
    {
        var kernel = node.Ints("kernel_shape") ?? throw node.Unsupported("kernel_shape is required");
        int rank = kernel.Length;
        var strides = node.Ints("strides") ?? Enumerable.Repeat(1L, rank).ToArray();
        var dilations = node.Ints("dilations") ?? Enumerable.Repeat(1L, rank).ToArray();
        bool ceil = node.Int("ceil_mode", 0) == 1;
        var padding = new WindowPadding(node, rank);
        return x =>
        {
            var (begin, end) = padding.Resolve(x.shape[2..], kernel, strides, dilations);
            return new Window(kernel, strides, dilations, begin, end, ceil);
        };
    }

    /// <summary>Torch pools take symmetric pads of at most half the kernel; anything else is padded beforehand with `fill`.</summary>
    private static (Tensor X, long[] Pads) PrePad(Tensor x, Window w, double fill)
    {
        bool torchCan = WindowPadding.Symmetric(w.Begin, w.End) && w.Begin.Zip(w.Kernel).All(p => p.First * 2 <= p.Second);
        if (torchCan) return (x, w.Begin);
        return (F.pad(x, WindowPadding.TorchPadArgument(w.Begin, w.End), TorchSharp.PaddingModes.Constant, fill), new long[w.Kernel.Length]);
    }

    /// <summary>
    /// With ceil_mode a window that would start in the end pad is dropped. Torch applies that rule to its own pads only:
    /// pads added beforehand count as input to it, so such a window is cropped here.
    /// </summary>
    private static Tensor WithoutWindowsInEndPad(Tensor y, Tensor x, Window w)
    {
        if (!w.CeilMode) return y;
        for (int d = 0; d < w.Kernel.Length; d++)
            if ((y.shape[d + 2] - 1) * w.Strides[d] >= x.shape[d + 2] + w.Begin[d])
                y = y.narrow(d + 2, 0, y.shape[d + 2] - 1);
        return y;
    }

    private static OpKernel MaxPool(NodeContext node)
    {
        if (node.Int("storage_order", 0) != 0) throw node.Unsupported("storage_order=1 (column-major indices)");
        if (node.OutputCount > 1 && node.Node.Output[1].Length > 0) throw node.Unsupported("the Indices output");
        var window = WindowOf(node);
        return Single(i =>
        {
            var x = i[0]!;
            var w = window(x);
            var (padded, pads) = PrePad(x, w, double.NegativeInfinity);
            var y = w.Kernel.Length switch
            {
                1 => F.max_pool2d(padded.unsqueeze(2), [1, w.Kernel[0]], [1, w.Strides[0]], [0, pads[0]], [1, w.Dilations[0]], w.CeilMode).squeeze(2),
                2 => F.max_pool2d(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode),
                _ => F.max_pool3d(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode),
            };
            return WithoutWindowsInEndPad(y, x, w);
        });
    }

    private static OpKernel AveragePool(NodeContext node)
    {
        if ((node.Ints("dilations") ?? []).Any(d => d != 1)) throw node.Unsupported("dilated AveragePool");
        bool countPads = node.Int("count_include_pad", 0) == 1;
        var window = WindowOf(node);
        return Single(i =>
        {
            var x = i[0]!;
            var w = window(x);
            var (padded, pads) = PrePad(x, w, 0);
            if (ReferenceEquals(padded, x) || countPads) return WithoutWindowsInEndPad(Average(padded, w, pads, countPads), x, w);
            // Pads added beforehand must not count: divide window sums by the number of real elements in each window.
            var mask = F.pad(ones([1, 1, .. x.shape[2..]], x.dtype, x.device), WindowPadding.TorchPadArgument(w.Begin, w.End));
            return WithoutWindowsInEndPad(Average(padded, w, pads, true) / Average(mask, w, pads, true), x, w);
        });
    }

    private static Tensor Average(Tensor x, Window w, long[] pads, bool countPads)
    {
        if (w.Kernel.Length == 1)
            return F.avg_pool2d(x.unsqueeze(2), [1, w.Kernel[0]], [1, w.Strides[0]], [0, pads[0]], w.CeilMode, countPads).squeeze(2);
        return w.Kernel.Length == 2
            ? F.avg_pool2d(x, w.Kernel, w.Strides, pads, w.CeilMode, countPads)
            : F.avg_pool3d(x, w.Kernel, w.Strides, pads, w.CeilMode, countPads);
    }
}
