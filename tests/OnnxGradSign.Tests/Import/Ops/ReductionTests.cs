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
}
