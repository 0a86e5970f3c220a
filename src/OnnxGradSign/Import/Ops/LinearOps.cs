using static TorchSharp.torch;

namespace OnnxGradSign.Import.Ops;

/// <summary>Gemm and MatMul. A constant 2-D MatMul operand is a Linear weight (PyTorch and tf2onnx write Linear as MatMul+Add).</summary>
public static class LinearOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("Gemm", [1, 7, 11], Gemm); // 7: numpy-style broadcast of C; 11: C optional
        registry.Add("MatMul", [1, 9, 13], MatMul);
        registry.Add("Det", 11, _ => (i, _) => [TorchSharp.torch.linalg.det(i[0]!)]);
    }

    private static OpKernel Gemm(NodeContext node)
    {
        bool transA = node.Int("transA", 0) == 1;
        bool transB = node.Int("transB", 0) == 1;
        double alpha = node.Float("alpha", 1f);
        double beta = node.Float("beta", 1f);
        if (node.Opset < 7 && node.Int("broadcast", 0) == 0 && node.HasInput(2))
            node.Declare(2, new ParameterDeclaration(LayerKind.Linear, ParameterRole.Bias));
        if (node.Constant(1) is { } b && b.dim() == 2)
        {
            long fanIn = transB ? b.shape[1] : b.shape[0], fanOut = transB ? b.shape[0] : b.shape[1];
            node.Declare(1, new ParameterDeclaration(LayerKind.Linear, ParameterRole.Weight, fanIn, fanOut));
            node.Declare(2, new ParameterDeclaration(LayerKind.Linear, ParameterRole.Bias, fanIn, fanOut));
        }

        return (inputs, run) =>
        {
            var a = transA ? inputs[0]!.t() : inputs[0]!;
            var w = inputs[1]!;
            var y = Product(a, transB ? w.t() : w);
            if (alpha != 1) y = y * alpha;
            if (inputs.Length > 2 && inputs[2] is { } c) y = y + (beta == 1 ? c : c * beta);
            // With transA the samples are not on axis 0 of A: no per-sample view of this call.
            if (!transA && run.OnWeightLayer is { } observe && node.DeclaredParameter(1) is { } weight)
                observe(new WeightLayerCall(weight, a, y, new LinearGeometry(transB, alpha)));
            return [y];
        };
    }

    private static OpKernel MatMul(NodeContext node)
    {
        bool weightRight = node.Constant(1) is { } right && right.dim() == 2 && !node.IsConstant(0);
        bool weightLeft = node.Constant(0) is { } left && left.dim() == 2 && !node.IsConstant(1);
        if (weightRight)
        {
            var w = node.Constant(1)!;
            node.Declare(1, new ParameterDeclaration(LayerKind.Linear, ParameterRole.Weight, w.shape[0], w.shape[1]));
        }
        else if (weightLeft)
        {
            var w = node.Constant(0)!; // y = W·x with W [out, in]
            node.Declare(0, new ParameterDeclaration(LayerKind.Linear, ParameterRole.Weight, w.shape[1], w.shape[0]));
        }

        return (inputs, run) =>
        {
            var y = Product(inputs[0]!, inputs[1]!);
            if (weightRight && run.OnWeightLayer is { } observe && node.DeclaredParameter(1) is { } weight)
                observe(new WeightLayerCall(weight, inputs[0]!, y, new LinearGeometry(false, 1)));
            return [y];
        };
    }

    /// <summary>
    /// numpy's matmul, with its shape rules checked here: TorchSharp calls libtorch's matmul without its error guard, so shapes
    /// that cannot be multiplied would abort the process instead of failing the node.
    /// </summary>
    internal static Tensor Product(Tensor a, Tensor b)
    {
        long[] sa = a.shape, sb = b.shape;
        bool fits = sa.Length > 0 && sb.Length > 0 && sa[^1] == (sb.Length == 1 ? sb[0] : sb[^2]);
        long[] batchA = sa.Length > 2 ? sa[..^2] : [], batchB = sb.Length > 2 ? sb[..^2] : [];
        for (int i = 1; fits && i <= Math.Min(batchA.Length, batchB.Length); i++)
            fits = batchA[^i] == batchB[^i] || batchA[^i] == 1 || batchB[^i] == 1;
        if (!fits)
            throw new ArgumentException($"shapes [{string.Join(",", sa)}] and [{string.Join(",", sb)}] cannot be multiplied");
        if (a.dtype != b.dtype) throw new ArgumentException($"a {a.dtype} and a {b.dtype} tensor cannot be multiplied");
        return a.matmul(b);
    }
}
