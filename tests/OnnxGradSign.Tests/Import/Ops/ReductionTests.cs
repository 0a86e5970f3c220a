using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class ReductionTests
{
    /// <summary>The opset from which each op takes its axes as an input rather than an attribute.</summary>
    private static long AxesInputSince(string op) => op == "ReduceSum" ? 13 : 18;

    private static void Check(string op, long opset, long[]? axes, long keepdims, long noopWithEmptyAxes = 0)
    {
        var graph = new TestGraph(opset).Input("x", 2, 3, 4, 5);
        var attributes = new List<(string, object)> { ("keepdims", keepdims) };
        string[] inputs = ["x"];
        if (opset >= AxesInputSince(op))
        {
            if (noopWithEmptyAxes != 0) attributes.Add(("noop_with_empty_axes", noopWithEmptyAxes));
            if (axes is not null)
            {
                graph.Initializer("axes", axes, axes.Length);
                inputs = ["x", "axes"];
            }
        }
        else if (axes is not null) attributes.Add(("axes", axes));
        graph.Node(op, inputs, ["y"], [.. attributes]).Output("y").AssertMatchesOrt(name: op);
    }

    [Theory]
    [InlineData("ReduceMean", 13, new long[] { 1 }, 1)]
    [InlineData("ReduceMean", 13, new long[] { -1, 1 }, 0)]
    [InlineData("ReduceMean", 13, null, 0)]
    [InlineData("ReduceSum", 11, new long[] { 0, 2 }, 0)]
    [InlineData("ReduceSum", 11, new long[] { 3 }, 1)]
    [InlineData("ReduceMax", 13, new long[] { 2, 3 }, 1)]
    [InlineData("ReduceL2", 13, new long[] { 1 }, 0)]
    [InlineData("ReduceL2", 13, null, 1)]
    public void AxesAttribute(string op, long opset, long[]? axes, long keepdims) => Check(op, opset, axes, keepdims);

    [Theory]
    [InlineData("ReduceSum", 13, new long[] { 1 }, 1)]
    [InlineData("ReduceSum", 13, new long[] { -2, 0 }, 0)]
    [InlineData("ReduceSum", 13, null, 0)]
    [InlineData("ReduceMean", 18, new long[] { 2, 3 }, 1)]
    [InlineData("ReduceMean", 18, new long[] { -1 }, 0)]
    [InlineData("ReduceMean", 18, null, 1)]
    [InlineData("ReduceMax", 18, new long[] { 1 }, 0)]
    [InlineData("ReduceL2", 18, new long[] { 0, 3 }, 1)]
    public void AxesInput(string op, long opset, long[]? axes, long keepdims) => Check(op, opset, axes, keepdims);

    [Theory]
    [InlineData("ReduceSum", 13, null, 1)] // no axes with noop: the identity
    [InlineData("ReduceMean", 18, null, 0)]
    [InlineData("ReduceMax", 18, new long[] { 1 }, 0)] // axes given: noop does not apply
    public void NoopWithEmptyAxes(string op, long opset, long[]? axes, long keepdims) => Check(op, opset, axes, keepdims, noopWithEmptyAxes: 1);

    [Theory]
    [InlineData("ReduceMin")]
    [InlineData("ReduceProd")]
    [InlineData("ReduceL1")]
    [InlineData("ReduceSumSquare")]
    [InlineData("ReduceLogSumExp")]
    public void OtherReductions(string op)
    {
        Check(op, 13, [1, 3], 0);
        Check(op, 18, [-1, 1], 1);
    }

    [Fact]
    public void ReduceLogSumOfPositiveInput() =>
        new TestGraph(18).Input("x", 2, 3, 4).Initializer("axes", [1L, 2L], 2)
            .Node("Abs", "x", "a").Node("ReduceLogSum", ["a", "axes"], ["y"], ("keepdims", 0L))
            .Output("y")
            .AssertMatchesOrt();

    /// <summary>Rounded inputs make ties, where select_last_index matters.</summary>
    [Theory]
    [InlineData("ArgMax", 1L, 1L, 0L)]
    [InlineData("ArgMax", -1L, 0L, 1L)]
    [InlineData("ArgMin", 0L, 1L, 1L)]
    [InlineData("ArgMin", 2L, 0L, 0L)]
    public void ArgExtremes(string op, long axis, long keepdims, long selectLastIndex) =>
        new TestGraph(13).Input("x", 3, 4, 5)
            .Node("Round", "x", "r")
            .Node(op, "r", "y", ("axis", axis), ("keepdims", keepdims), ("select_last_index", selectLastIndex))
            .Output("y", OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType.Int64)
            .AssertMatchesOrt(name: op);
}
