using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;

namespace OnnxGradSign.Import.Ops;

/// <summary>
/// ONNX's experimental opset-1 ops that CoreML conversions (onnxmltools) still write: ImageScaler (per-channel preprocessing),
/// Crop (an NCHW border crop) and Affine. ONNX dropped them from the spec; ONNX Runtime keeps them, which is what these follow.
/// </summary>
public static class ExperimentalOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("ImageScaler", 1, ImageScaler);
        registry.Add("Crop", 1, Crop);
        registry.Add("Affine", 1, node =>
        {
            double alpha = node.Float("alpha", 1), beta = node.Float("beta", 0);
            return Single(i => i[0]! * alpha + beta);
        });
    }

    /// <summary>y = scale·x + bias[c] over an NCHW image, one bias per channel.</summary>
    private static OpKernel ImageScaler(NodeContext node)
    {
        double scale = node.Float("scale", 1);
        var bias = node.Floats("bias");
        return Single(i =>
        {
            var x = i[0]!;
            if (x.dim() != 4) throw node.Unsupported($"a rank-{x.dim()} input (ImageScaler takes NCHW images)");
            if (bias is null) return x * scale;
            if (bias.Length != x.shape[1])
                throw node.Unsupported($"bias has {bias.Length} values for an image of {x.shape[1]} channels");
            return x * scale + tensor(bias, x.dtype, x.device).reshape(1, -1, 1, 1);
        });
    }

    /// <summary>
    /// border = [left, top, right, bottom] cut from an NCHW image; with scale = [height, width] the crop starts at (top, left) and
    /// has that size instead, the right and bottom borders ignored (as ONNX Runtime does).
    /// </summary>
    private static OpKernel Crop(NodeContext node)
    {
        var border = node.Ints("border") ?? throw node.Unsupported("border is required");
        if (border.Length != 4 || border.Any(b => b < 0)) throw node.Unsupported($"border must hold 4 non-negative values, not [{string.Join(", ", border)}]");
        var scale = node.Ints("scale");
        if (scale is not null && (scale.Length != 2 || scale.Any(s => s < 0))) throw node.Unsupported($"scale must hold 2 non-negative values, not [{string.Join(", ", scale)}]");
        long left = border[0], top = border[1];
        return Single(i =>
        {
            var x = i[0]!;
            if (x.dim() != 4) throw node.Unsupported($"a rank-{x.dim()} input (Crop takes NCHW images)");
            long bottom = scale is null ? x.shape[2] - border[3] : top + scale[0];
            long right = scale is null ? x.shape[3] - border[2] : left + scale[1];
            if (bottom < top || right < left || bottom > x.shape[2] || right > x.shape[3])
                throw node.Unsupported($"border [{string.Join(", ", border)}]{(scale is null ? "" : $" and scale [{string.Join(", ", scale)}]")} do not fit a {x.shape[2]}×{x.shape[3]} image");
            return x.narrow(2, top, bottom - top).narrow(3, left, right - left);
        });
    }
}
