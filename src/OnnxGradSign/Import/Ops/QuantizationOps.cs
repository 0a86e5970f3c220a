using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>
/// Quantized arithmetic as ONNX defines it: (de)quantization with per-tensor or per-axis scale and zero point, dynamic uint8
/// quantization, and integer or quantized-linear MatMul and Conv. Integer products are formed in float64, exact for 8-bit
/// operands, then rounded half to even and saturated to the zero point's type.
/// </summary>
public static class QuantizationOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("QuantizeLinear", [10, 13], node =>
        {
            long axis = node.Int("axis", 1);
            return Single(i =>
            {
                var zeroPoint = i.Length > 2 && i[2] is { } z ? z : zeros([], ScalarType.Byte, i[0]!.device);
                // Divided in the input's own precision, as ONNX Runtime does: float64 would round some halves the other way.
                return Quantize(i[0]! / PerAxis(i[1]!, i[0]!, axis), PerAxis(zeroPoint, i[0]!, axis), zeroPoint.dtype);
            });
        });
        registry.Add("DequantizeLinear", [10, 13], node =>
        {
            long axis = node.Int("axis", 1);
            return Single(i =>
            {
                var x = i[0]!.to_type(ScalarType.Float64);
                if (i.Length > 2 && i[2] is { } zeroPoint) x = x - PerAxis(zeroPoint, i[0]!, axis).to_type(ScalarType.Float64);
                return (x * PerAxis(i[1]!, i[0]!, axis)).to_type(i[1]!.dtype);
            });
        });
        registry.Add("DynamicQuantizeLinear", 11, _ => (i, _) =>
        {
            var x = i[0]!; // in its own precision, as for QuantizeLinear
            var low = x.min().clamp_max(0);
            var scale = (x.max().clamp_min(0) - low) / 255;
            var zeroPoint = (-low / scale).round().clamp(0, 255);
            return [Quantize(x / scale, zeroPoint, ScalarType.Byte), scale.to_type(ScalarType.Float32), zeroPoint.to_type(ScalarType.Byte)];
        });
        registry.Add("MatMulInteger", 10, _ => Single(i =>
        {
            var a = Centered(i[0]!, i.Length > 2 ? i[2] : null, rowWise: true);
            var b = Centered(i[1]!, i.Length > 3 ? i[3] : null, rowWise: false);
            return LinearOps.Product(a, b).to_type(ScalarType.Int32);
        }));
        registry.Add("QLinearMatMul", 10, _ => Single(i =>
        {
            var a = Centered(i[0]!, i[2], rowWise: true) * RowOrColumn(i[1]!, rowWise: true);
            var b = Centered(i[3]!, i[5], rowWise: false) * RowOrColumn(i[4]!, rowWise: false);
            return Quantize(LinearOps.Product(a, b) / i[6]!.to_type(ScalarType.Float64), i[7]!, i[7]!.dtype);
        }));
        registry.Add("ConvInteger", 10, node => Single(i =>
        {
            var x = Centered(i[0]!, i.Length > 2 ? i[2] : null, rowWise: false);
            var w = i[1]!.to_type(ScalarType.Float64);
            if (i.Length > 3 && i[3] is { } wz) w = w - PerAxis(wz, w, 0).to_type(ScalarType.Float64);
            return Convolve(node, x, w).round().to_type(ScalarType.Int32);
        }));
        registry.Add("QLinearConv", 10, node => Single(i =>
        {
            var x = (i[0]!.to_type(ScalarType.Float64) - i[2]!.to_type(ScalarType.Float64)) * i[1]!.to_type(ScalarType.Float64);
            var w = (i[3]!.to_type(ScalarType.Float64) - PerAxis(i[5]!, i[3]!, 0).to_type(ScalarType.Float64)) * PerAxis(i[4]!, i[3]!, 0);
            var y = Convolve(node, x, w);
            if (i.Length > 8 && i[8] is { } bias)
                y = y + (bias.to_type(ScalarType.Float64) * i[1]!.to_type(ScalarType.Float64) * i[4]!.to_type(ScalarType.Float64).reshape(-1)).reshape([1, -1, .. Enumerable.Repeat(1L, (int)y.dim() - 2)]);
            return Quantize(y / i[6]!.to_type(ScalarType.Float64), i[7]!, i[7]!.dtype);
        }));
    }

    /// <summary>round-half-to-even(scaled) + zero point, saturated to the range of the output type.</summary>
    private static Tensor Quantize(Tensor scaled, Tensor zeroPoint, ScalarType type)
    {
        var (low, high) = type switch
        {
            ScalarType.Byte => (0, 255),
            ScalarType.Int8 => (-128, 127),
            ScalarType.Int32 => (int.MinValue, int.MaxValue),
            _ => throw new NotSupportedException($"quantization to {type}"),
        };
        return (scaled.round().to_type(ScalarType.Float64) + zeroPoint.to_type(ScalarType.Float64)).clamp(low, high).to_type(type);
    }

    /// <summary>A scale or zero point as given (one value), or laid along the axis of x (one value per slice).</summary>
    private static Tensor PerAxis(Tensor parameter, Tensor x, long axis)
    {
        if (parameter.NumberOfElements == 1) return parameter.reshape([]);
        long a = TensorOps.Axis(axis, x.dim(), "quantization axis");
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[a] = parameter.NumberOfElements;
        return parameter.reshape(shape);
    }

    /// <summary>A per-row (A's rows) or per-column (B's columns) parameter laid out to broadcast, or a scalar.</summary>
    private static Tensor RowOrColumn(Tensor parameter, bool rowWise) =>
        (parameter.NumberOfElements == 1 ? parameter.reshape([]) : rowWise ? parameter.reshape(-1, 1) : parameter.reshape(1, -1)).to_type(ScalarType.Float64);

    /// <summary>The integer operand minus its zero point, in float64.</summary>
    private static Tensor Centered(Tensor x, Tensor? zeroPoint, bool rowWise) =>
        zeroPoint is null ? x.to_type(ScalarType.Float64) : x.to_type(ScalarType.Float64) - RowOrColumn(zeroPoint, rowWise);

    /// <summary>A 2-D convolution with the node's strides, dilations, group and explicit pads (asymmetric ones padded first).</summary>
    private static Tensor Convolve(NodeContext node, Tensor x, Tensor w)
    {
        if (node.String("auto_pad", "NOTSET") != "NOTSET") throw node.Unsupported("auto_pad");
        if (x.dim() != 4) throw node.Unsupported($"a rank-{x.dim()} input (2-D convolutions only)");
        var pads = node.Ints("pads") ?? new long[4];
        var padded = F.pad(x, [pads[1], pads[3], pads[0], pads[2]]);
        return F.conv2d(padded, w, null, node.Ints("strides") ?? [1, 1], [0, 0], node.Ints("dilations") ?? [1, 1], node.Int("group", 1));
    }
}
