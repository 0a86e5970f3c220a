using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>MaxPool (with its Indices), MaxUnpool, AveragePool, LpPool and the global forms over 1-3 spatial axes (1-D runs as 2-D with a unit axis).</summary>
public static class PoolingOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("MaxPool", [1, 8, 10, 11, 12], MaxPool);
        registry.Add("MaxUnpool", [9, 11], MaxUnpool);
        registry.Add("AveragePool", [1, 7, 10, 11, 19], AveragePool);
        registry.Add("GlobalAveragePool", 1, _ => Single(i => i[0]!.mean(SpatialAxes(i[0]!), keepdim: true)));
        registry.Add("GlobalMaxPool", 1, _ => Single(i => i[0]!.amax(SpatialAxes(i[0]!), keepdim: true)));
        registry.Add("GlobalLpPool", [1, 2], node =>
        {
            double p = Exponent(node);
            return Single(i => i[0]!.abs().pow(p).sum(SpatialAxes(i[0]!), keepdim: true).pow(1 / p));
        });
        registry.Add("LpPool", [1, 2, 11, 18], LpPool);
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
        bool columnMajor = node.Int("storage_order", 0) == 1; // how the Indices output flattens each image
        bool withIndices = node.OutputCount > 1 && node.Node.Output[1].Length > 0;
        var window = WindowOf(node);
        return (i, _) =>
        {
            var x = i[0]!;
            var w = window(x);
            var (padded, pads) = PrePad(x, w, double.NegativeInfinity);
            var (y, planeIndices) = w.Kernel.Length switch
            {
                1 => WithoutUnitAxis(F.max_pool2d_with_indices(padded.unsqueeze(2), [1, w.Kernel[0]], [1, w.Strides[0]], [0, pads[0]], [1, w.Dilations[0]], w.CeilMode)),
                2 when !withIndices => (F.max_pool2d(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode), null),
                2 => F.max_pool2d_with_indices(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode),
                _ when !withIndices => (F.max_pool3d(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode), null),
                _ => F.max_pool3d_with_indices(padded, w.Kernel, w.Strides, pads, w.Dilations, w.CeilMode),
            };
            y = WithoutWindowsInEndPad(y, x, w);
            if (!withIndices) return [y];
            var prePadded = ReferenceEquals(padded, x) ? new long[w.Kernel.Length] : w.Begin;
            return [y, OnnxIndices(WithoutWindowsInEndPad(planeIndices!, x, w), padded.shape[2..], prePadded, x.shape, columnMajor)];
        };
    }

    private static (Tensor, Tensor?) WithoutUnitAxis((Tensor Values, Tensor Indices) pooled) => (pooled.Values.squeeze(2), pooled.Indices.squeeze(2));

    /// <summary>
    /// Torch's indices count within each image of the tensor it pooled (pads added beforehand included); ONNX's count over the whole
    /// input tensor, image after image, each image flattened row-major (or column-major with storage_order=1).
    /// </summary>
    private static Tensor OnnxIndices(Tensor planeIndices, long[] pooledSpatial, long[] prePadded, long[] inputShape, bool columnMajor)
    {
        var spatial = inputShape[2..];
        var onnx = zeros_like(planeIndices);
        long pooledStride = 1;
        for (int d = spatial.Length - 1; d >= 0; d--)
        {
            var coordinate = planeIndices.div(pooledStride, RoundingMode.floor).remainder(pooledSpatial[d]) - prePadded[d];
            pooledStride *= pooledSpatial[d];
            long stride = columnMajor ? spatial[..d].Aggregate(1L, (a, b) => a * b) : spatial[(d + 1)..].Aggregate(1L, (a, b) => a * b);
            onnx = onnx + coordinate * stride;
        }
        long imageSize = spatial.Aggregate(1L, (a, b) => a * b);
        var image = arange(inputShape[0] * inputShape[1], ScalarType.Int64, planeIndices.device)
            .reshape([inputShape[0], inputShape[1], .. Enumerable.Repeat(1L, spatial.Length)]);
        return onnx + image * imageSize;
    }

    /// <summary>
    /// Values written back at the flat positions MaxPool's Indices gave, zeros elsewhere, into output_shape or the shape the
    /// pooling came from: (in − 1)·stride + kernel − pads.
    /// </summary>
    /// <summary>2^31 elements, as for Resize: past any network's feature map, where a hostile output_shape would exhaust memory.</summary>
    private const double MaxOutputElements = 1L << 31;

    private static OpKernel MaxUnpool(NodeContext node)
    {
        var kernel = node.Ints("kernel_shape") ?? throw node.Unsupported("kernel_shape is required");
        var strides = node.Ints("strides") ?? Enumerable.Repeat(1L, kernel.Length).ToArray();
        var pads = node.Ints("pads") ?? new long[2 * kernel.Length];
        if (strides.Length != kernel.Length || pads.Length != 2 * kernel.Length) throw node.Unsupported("strides and pads must match kernel_shape");
        return Single(i =>
        {
            var (x, indices) = (i[0]!, i[1]!);
            if (x.dim() != kernel.Length + 2) throw node.Unsupported($"a rank-{x.dim()} input for a {kernel.Length}-D kernel");
            long[] shape = i.Length > 2 && i[2] is { } given ? NodeContext.ToLongs(given)
                : [x.shape[0], x.shape[1], .. kernel.Select((k, d) => (x.shape[d + 2] - 1) * strides[d] + k - pads[d] - pads[d + kernel.Length])];
            double elements = shape.Aggregate(1.0, (a, b) => a * b);
            if (shape.Length != x.dim() || shape.Any(d => d < 0) || elements > MaxOutputElements)
                throw node.Unsupported($"output shape [{string.Join(",", shape)}] must have X's rank, no negative size and at most {MaxOutputElements:G3} elements");
            long size = (long)elements;
            if (!indices.shape.SequenceEqual(x.shape)) throw node.Unsupported($"indices [{string.Join(",", indices.shape)}] must have X's shape [{string.Join(",", x.shape)}]");
            if (indices.NumberOfElements > 0 && (indices.min().item<long>() < 0 || indices.max().item<long>() >= size))
                throw node.Unsupported($"indices outside the {size} elements of the output [{string.Join(",", shape)}]");
            return zeros(size, x.dtype, x.device).scatter(0, indices.flatten().to_type(ScalarType.Int64), x.flatten()).reshape(shape);
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

    /// <summary>p, a float in opset 1 and an integer from opset 2 on.</summary>
    private static double Exponent(NodeContext node) => node.Opset < 2 ? node.Float("p", 2) : node.Int("p", 2);

    /// <summary>(Σ |x|^p)^(1/p) over each window, pads counting as zeros: the window mean of |x|^p times the window size.</summary>
    private static OpKernel LpPool(NodeContext node)
    {
        if ((node.Ints("dilations") ?? []).Any(d => d != 1)) throw node.Unsupported("dilated LpPool");
        double p = Exponent(node);
        var window = WindowOf(node);
        return Single(i =>
        {
            var x = i[0]!;
            var w = window(x);
            var (padded, pads) = PrePad(x.abs().pow(p), w, 0);
            long size = w.Kernel.Aggregate(1L, (a, b) => a * b);
            return WithoutWindowsInEndPad((Average(padded, w, pads, true) * size).pow(1 / p), x, w);
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
