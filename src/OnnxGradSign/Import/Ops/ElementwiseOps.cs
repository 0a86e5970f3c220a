using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Import.Ops;

/// <summary>Arithmetic, math, comparison and logic ops, with numpy broadcasting (and the legacy broadcast/axis form before opset 7).</summary>
public static class ElementwiseOps
{
    public static void Register(OpRegistry registry)
    {
        Binary(registry, "Add", (a, b) => a + b);
        Binary(registry, "Sub", (a, b) => a - b);
        Binary(registry, "Mul", (a, b) => a * b);
        Binary(registry, "Div", (a, b) => a.is_floating_point() ? a / b : a.div(b, RoundingMode.trunc)); // integer Div truncates
        Binary(registry, "Pow", (a, b) => a.pow(b).to_type(a.dtype)); // the result keeps the base's type
        registry.Add("Mod", 10, node =>
        {
            bool fmod = node.Int("fmod", 0) == 1;
            return Single(i => fmod ? i[0]!.fmod(i[1]!) : i[0]!.remainder(i[1]!));
        });

        Variadic(registry, "Sum", (a, b) => a + b);
        Variadic(registry, "Max", maximum);
        Variadic(registry, "Min", minimum);
        registry.Add("Mean", [1, 6, 8], _ => Single(i => i.Aggregate((a, b) => a! + b!)! / i.Length));

        Unary(registry, "Sqrt", t => t.sqrt());
        Unary(registry, "Exp", t => t.exp());
        Unary(registry, "Log", t => t.log());
        Unary(registry, "Neg", t => t.neg());
        Unary(registry, "Abs", t => t.abs());
        Unary(registry, "Reciprocal", t => t.reciprocal());
        Unary(registry, "Floor", t => t.floor());
        Unary(registry, "Ceil", t => t.ceil());
        Unary(registry, "Round", t => t.round());
        Unary(registry, "Sign", t => t.sign());
        Unary(registry, "Erf", t => t.erf());
        Unary(registry, "Sin", t => t.sin());
        Unary(registry, "Cos", t => t.cos());
        Unary(registry, "Not", t => t.logical_not());
        foreach (var (op, f) in new (string, Func<Tensor, Tensor>)[]
            { ("Tan", t => t.tan()), ("Asin", t => t.asin()), ("Acos", t => t.acos()), ("Atan", t => t.atan()) })
            registry.Add(op, 7, _ => Single(i => f(i[0]!)));
        foreach (var (op, f) in new (string, Func<Tensor, Tensor>)[]
            { ("Sinh", t => t.sinh()), ("Cosh", t => t.cosh()), ("Asinh", t => t.asinh()), ("Acosh", t => t.acosh()), ("Atanh", t => t.atanh()) })
            registry.Add(op, 9, _ => Single(i => f(i[0]!)));
        registry.Add("IsNaN", [9, 13], _ => Single(i => i[0]!.isnan()));
        registry.Add("IsInf", 10, node =>
        {
            bool negative = node.Int("detect_negative", 1) == 1, positive = node.Int("detect_positive", 1) == 1;
            return Single(i => (positive ? i[0]!.isposinf() : zeros_like(i[0]!, ScalarType.Bool)).logical_or(negative ? i[0]!.isneginf() : zeros_like(i[0]!, ScalarType.Bool)));
        });
        registry.Add("BitShift", 11, node =>
        {
            bool left = node.String("direction", "") == "LEFT";
            return Single(i => left ? i[0]!.bitwise_left_shift(i[1]!) : i[0]!.bitwise_right_shift(i[1]!));
        });

        Binary(registry, "Equal", (a, b) => a.eq(b));
        Binary(registry, "Less", (a, b) => a.lt(b));
        Binary(registry, "Greater", (a, b) => a.gt(b));
        Binary(registry, "LessOrEqual", (a, b) => a.le(b));
        Binary(registry, "GreaterOrEqual", (a, b) => a.ge(b));
        Binary(registry, "And", (a, b) => a.logical_and(b));
        Binary(registry, "Or", (a, b) => a.logical_or(b));
        Binary(registry, "Xor", (a, b) => a.logical_xor(b));
        registry.Add("Where", [9, 16], _ => Single(i => where(i[0]!, i[1]!, i[2]!)));
    }

    public static OpKernel Single(Func<Tensor?[], Tensor> f) => (inputs, _) => [f(inputs)];

    private static void Unary(OpRegistry registry, string op, Func<Tensor, Tensor> f) =>
        registry.Add(op, [1, 6, 13], _ => Single(i => f(i[0]!)));

    private static void Variadic(OpRegistry registry, string op, Func<Tensor, Tensor, Tensor> f) =>
        registry.Add(op, [1, 6, 8], _ => Single(i => i.Select(t => t!).Aggregate(f)));

    /// <summary>Before opset 7, B broadcast onto A only when asked (broadcast=1), aligned at `axis`; from 7 on, numpy rules.</summary>
    private static void Binary(OpRegistry registry, string op, Func<Tensor, Tensor, Tensor> f)
    {
        registry.Add(op, 1, node =>
        {
            long? axis = node.Int("broadcast", 0) == 1 && node.Has("axis") ? node.Int("axis", 0) : null;
            return Single(i =>
            {
                var (a, b) = (i[0]!, i[1]!);
                if (axis is { } at)
                {
                    long start = at < 0 ? at + a.dim() : at;
                    b = b.reshape([.. b.shape, .. Enumerable.Repeat(1L, (int)(a.dim() - start - b.dim()))]);
                }
                return f(a, b);
            });
        });
        registry.Add(op, 7, node => LayerBias(node, f));
    }

    /// <summary>
    /// Numpy-broadcast binary op. Add of a constant to the output of a weight layer is that layer's bias, so it is re-initialized
    /// with the layer: a 1-D vector after MatMul (how PyTorch and tf2onnx write Linear), or one value per output channel after
    /// a Conv without bias (Paddle writes the conv bias as Add of the bias reshaped to [1,C,1,1]).
    /// </summary>
    private static OpKernel LayerBias(NodeContext node, Func<Tensor, Tensor, Tensor> f)
    {
        if (node.Node.OpType == "Add")
            for (int side = 0; side < 2; side++)
                if (node.Constant(side) is { } bias && BiasOf(node, node.Producer(1 - side), bias) is { } declaration)
                    node.Declare(side, declaration);
        return Single(i => f(i[0]!, i[1]!));
    }

    private static ParameterDeclaration? BiasOf(NodeContext node, Onnx.Proto.NodeProto? layer, Tensor bias)
    {
        if (layer is not { OpType: "MatMul" or "Conv" } || layer.Input.Count < 2 || node.ConstantOf(layer.Input[1]) is not { } weight) return null;
        if (layer.OpType == "MatMul")
            return bias.dim() == 1 && weight.dim() == 2 && weight.shape[1] == bias.shape[0]
                ? new ParameterDeclaration(LayerKind.Linear, ParameterRole.Bias, weight.shape[0], weight.shape[1]) : null;
        if (layer.Input.Count > 2 && layer.Input[2].Length > 0) return null; // a Conv with its own bias
        // One value per output channel, broadcast along axis 1 of [N, C, spatial...]: [1, C, 1, ...] or [C, 1, ...].
        long channels = weight.shape[0], spatial = weight.dim() - 2;
        var dims = bias.dim() == spatial + 2 && bias.shape[0] == 1 ? bias.shape[1..] : bias.shape;
        bool perChannel = dims.Length == spatial + 1 && dims[0] == channels && dims[1..].All(d => d == 1);
        long receptive = weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
        return perChannel ? new ParameterDeclaration(LayerKind.Conv, ParameterRole.Bias, weight.shape[1] * receptive, channels * receptive) : null;
    }
}
