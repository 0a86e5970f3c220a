using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;

namespace OnnxGradSign.Import.Ops;

/// <summary>Reduce* ops (axes as an attribute, or as an input from opset 18, ReduceSum from 13) and ArgMax/ArgMin.</summary>
public static class ReductionOps
{
    public static void Register(OpRegistry registry)
    {
        Reduce(registry, "ReduceMean", 18, (t, axes, keep) => t.mean(axes, keep));
        Reduce(registry, "ReduceSum", 13, (t, axes, keep) => t.sum(axes, keep));
        Reduce(registry, "ReduceMax", 18, (t, axes, keep) => t.amax(axes, keep));
        Reduce(registry, "ReduceMin", 18, (t, axes, keep) => t.amin(axes, keep));
        Reduce(registry, "ReduceProd", 18, (t, axes, keep) => axes.OrderDescending().Aggregate(t, (acc, a) => acc.prod(a, keep)));
        Reduce(registry, "ReduceL1", 18, (t, axes, keep) => t.abs().sum(axes, keep));
        Reduce(registry, "ReduceL2", 18, (t, axes, keep) => t.square().sum(axes, keep).sqrt());
        Reduce(registry, "ReduceSumSquare", 18, (t, axes, keep) => t.square().sum(axes, keep));
        Reduce(registry, "ReduceLogSum", 18, (t, axes, keep) => t.sum(axes, keep).log());
        Reduce(registry, "ReduceLogSumExp", 18, (t, axes, keep) => axes.OrderDescending().Aggregate(t, (acc, a) => acc.logsumexp(a, keep)));
        registry.Add("ArgMax", [1, 11, 12, 13], node => Arg(node, (t, axis, keep) => t.argmax(axis, keep)));
        registry.Add("ArgMin", [1, 11, 12, 13], node => Arg(node, (t, axis, keep) => t.argmin(axis, keep)));
    }

    private static void Reduce(OpRegistry registry, string op, long axesInputSince, Func<Tensor, long[], bool, Tensor> f)
    {
        registry.Add(op, new long[] { 1, 11, 13 }.Where(v => v < axesInputSince).ToArray(), node =>
        {
            var axes = node.Ints("axes");
            bool keep = node.Int("keepdims", 1) == 1;
            return Single(i => f(i[0]!, AllIfEmpty(axes, i[0]!), keep));
        });
        registry.Add(op, axesInputSince, node =>
        {
            bool keep = node.Int("keepdims", 1) == 1;
            bool noopWhenEmpty = node.Int("noop_with_empty_axes", 0) == 1;
            var constantAxes = node.ConstantLongs(1);
            return Single(i =>
            {
                var axes = constantAxes ?? (i.Length > 1 && i[1] is { } a ? NodeContext.ToLongs(a) : null);
                if ((axes is null || axes.Length == 0) && noopWhenEmpty) return i[0]!.alias();
                return f(i[0]!, AllIfEmpty(axes, i[0]!), keep);
            });
        });
    }

    private static long[] AllIfEmpty(long[]? axes, Tensor x) =>
        axes is { Length: > 0 } ? axes.Select(a => a < 0 ? a + x.dim() : a).ToArray() : Enumerable.Range(0, (int)x.dim()).Select(a => (long)a).ToArray();

    private static OpKernel Arg(NodeContext node, Func<Tensor, long, bool, Tensor> f)
    {
        long axis = node.Int("axis", 0);
        bool keep = node.Int("keepdims", 1) == 1;
        if (node.Int("select_last_index", 0) == 1)
            return Single(i =>
            {
                var x = i[0]!;
                long n = x.shape[axis < 0 ? axis + x.dim() : axis];
                return (n - 1) - f(x.flip(axis), axis, keep); // the last of equal extremes
            });
        return Single(i => f(i[0]!, axis, keep));
    }
}
