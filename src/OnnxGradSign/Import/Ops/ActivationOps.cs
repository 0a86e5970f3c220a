using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>Activation functions, Clip, and Softmax/LogSoftmax (2-D coercion before opset 13, a plain axis from 13).</summary>
public static class ActivationOps
{
    public static void Register(OpRegistry registry)
    {
        Activation(registry, "Relu", [1, 6, 13, 14], _ => t => F.relu(t));
        Activation(registry, "Sigmoid", [1, 6, 13], _ => t => t.sigmoid());
        Activation(registry, "Tanh", [1, 6, 13], _ => t => t.tanh());
        Activation(registry, "LeakyRelu", [1, 6, 16], n => { var alpha = n.Float("alpha", 0.01f); return t => F.leaky_relu(t, alpha); });
        Activation(registry, "Elu", [1, 6], n => { var alpha = n.Float("alpha", 1f); return t => F.elu(t, alpha); });
        Activation(registry, "Celu", 12, n => { var alpha = n.Float("alpha", 1f); return t => F.celu(t, alpha); });
        Activation(registry, "Selu", [1, 6], n =>
        {
            double alpha = n.Float("alpha", 1.67326319217681884765625f), gamma = n.Float("gamma", 1.05070102214813232421875f);
            return t => gamma * where(t > 0, t, alpha * (t.exp() - 1));
        });
        Activation(registry, "HardSigmoid", [1, 6], n =>
        {
            double alpha = n.Float("alpha", 0.2f), beta = n.Float("beta", 0.5f);
            return t => (alpha * t + beta).clamp(0, 1);
        });
        Activation(registry, "HardSwish", 14, _ => t => F.hardswish(t));
        Activation(registry, "Softplus", [1, 6], _ => t => F.softplus(t));
        Activation(registry, "Softsign", [1, 6], _ => t => F.softsign(t));
        Activation(registry, "Mish", 18, _ => t => t * F.softplus(t).tanh());
        Activation(registry, "Gelu", 20, n =>
        {
            var approximate = n.String("approximate", "none") == "tanh" ? TorchSharp.Modules.GELU.Approximate.tanh : TorchSharp.Modules.GELU.Approximate.none;
            return t => F.gelu(t, approximate);
        });
        Activation(registry, "ThresholdedRelu", 10, n => { double alpha = n.Float("alpha", 1f); return t => where(t > alpha, t, zeros_like(t)); });
        Activation(registry, "Shrink", 9, n =>
        {
            double bias = n.Float("bias", 0f), lambd = n.Float("lambd", 0.5f);
            return t => where(t < -lambd, t + bias, where(t > lambd, t - bias, zeros_like(t)));
        });
        registry.Add("Hardmax", [1, 11], node => Coerced2D(node, OneHotOfMax));
        registry.Add("Hardmax", 13, node => Along(node, OneHotOfMax));
        registry.Add("PRelu", [1, 6, 7, 9, 16], PRelu);
        registry.Add("Clip", [1, 6], node =>
        {
            double min = node.Float("min", float.MinValue), max = node.Float("max", float.MaxValue);
            return Single(i => i[0]!.clamp(min, max));
        });
        registry.Add("Clip", [11, 12, 13], _ => Single(i =>
        {
            var x = i[0]!;
            if (i.Length > 1 && i[1] is { } min) x = maximum(x, min);
            if (i.Length > 2 && i[2] is { } max) x = minimum(x, max);
            return x;
        }));
        registry.Add("Softmax", [1, 11], node => Coerced2D(node, (t, axis) => t.softmax(axis)));
        registry.Add("Softmax", 13, node => Along(node, (t, axis) => t.softmax(axis)));
        registry.Add("LogSoftmax", [1, 11], node => Coerced2D(node, (t, axis) => t.log_softmax(axis)));
        registry.Add("LogSoftmax", 13, node => Along(node, (t, axis) => t.log_softmax(axis)));
    }

    /// <summary>1 at the first maximum along the axis, 0 elsewhere (Hardmax).</summary>
    private static Tensor OneHotOfMax(Tensor t, long axis) =>
        zeros_like(t).scatter(axis, t.argmax(axis, keepdim: true), ones_like(t));

    private static void Activation(OpRegistry registry, string op, long[] versions, Func<NodeContext, Func<Tensor, Tensor>> make) =>
        registry.Add(op, versions, node => { var f = make(node); return Single(i => f(i[0]!)); });

    private static void Activation(OpRegistry registry, string op, long version, Func<NodeContext, Func<Tensor, Tensor>> make) =>
        Activation(registry, op, [version], make);

    private static OpKernel PRelu(NodeContext node)
    {
        node.Declare(1, new ParameterDeclaration(LayerKind.PRelu, ParameterRole.Slope));
        return Single(i =>
        {
            var (x, slope) = (i[0]!, i[1]!);
            // Before opset 7 a slope of C values applies per channel (axis 1); from 7 on it broadcasts numpy-style.
            if (node.Opset < 7 && slope.dim() == 1 && x.dim() > 2 && slope.shape[0] == x.shape[1])
                slope = slope.reshape([-1, .. Enumerable.Repeat(1L, (int)x.dim() - 2)]);
            return where(x >= 0, x, x * slope);
        });
    }

    private static OpKernel Along(NodeContext node, Func<Tensor, long, Tensor> f)
    {
        long axis = node.Int("axis", -1);
        return Single(i => f(i[0]!, axis));
    }

    /// <summary>Opset &lt; 13: the input is viewed as 2-D [∏dims[:axis], ∏dims[axis:]] and normalized along the second axis.</summary>
    private static OpKernel Coerced2D(NodeContext node, Func<Tensor, long, Tensor> f)
    {
        long axis = node.Int("axis", 1);
        return Single(i =>
        {
            var x = i[0]!;
            long a = axis < 0 ? axis + x.dim() : axis;
            if (a == x.dim() - 1) return f(x, -1);
            return f(x.flatten((int)a), -1).reshape(x.shape);
        });
    }
}
