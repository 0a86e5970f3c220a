using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class LinearTests
{
    [Theory]
    [InlineData(0, 0, 1f, 1f, new long[] { 5 })] // 1-D C
    [InlineData(0, 1, 1f, 1f, new long[] { 5 })]
    [InlineData(1, 0, 0.5f, 2f, new long[] { 3, 5 })]
    [InlineData(1, 1, 1.5f, 0.25f, new long[] { 1, 5 })]
    [InlineData(0, 1, 1f, 3f, new long[] { 3, 1 })]
    [InlineData(0, 1, 2f, 1f, null)] // no C (opset 11)
    public void Gemm(long transA, long transB, float alpha, float beta, long[]? c)
    {
        var graph = new TestGraph(13)
            .Input("a", transA == 1 ? [4, 3] : [3, 4])
            .RandomInitializer("b", transB == 1 ? [5, 4] : [4, 5]);
        if (c is not null) graph.RandomInitializer("c", c);
        graph.Node("Gemm", c is null ? ["a", "b"] : ["a", "b", "c"], ["y"], ("transA", transA), ("transB", transB), ("alpha", alpha), ("beta", beta))
            .Output("y")
            .AssertMatchesOrt();
    }

    [Fact]
    public void GemmOfTwoInputs() =>
        new TestGraph(11).Input("a", 3, 4).Input("b", 5, 4).Input("c", 5)
            .Node("Gemm", ["a", "b", "c"], ["y"], ("transB", 1L), ("alpha", 0.5f))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(new long[] { 3, 4 }, new long[] { 4, 5 })] // 2-D weight
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 4, 5 })] // 3-D input, 2-D weight
    [InlineData(new long[] { 4 }, new long[] { 4, 5 })] // 1-D input
    [InlineData(new long[] { 2, 1, 3, 4 }, new long[] { 3, 4, 2 })] // broadcast batch axes
    public void MatMulByConstant(long[] x, long[] w) =>
        new TestGraph(13).Input("x", x).RandomInitializer("w", w)
            .Node("MatMul", ["x", "w"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(new long[] { 3, 4 }, new long[] { 4, 5 })]
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 2, 4, 5 })] // batched
    [InlineData(new long[] { 2, 3, 4 }, new long[] { 4, 5 })]
    [InlineData(new long[] { 4 }, new long[] { 2, 4, 5 })]
    public void MatMulOfTwoInputs(long[] a, long[] b) =>
        new TestGraph(13).Input("a", a).Input("b", b)
            .Node("MatMul", ["a", "b"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void MatMulWithConstantLeftOperand() =>
        new TestGraph(13).RandomInitializer("w", 5, 4).Input("x", 4, 3)
            .Node("MatMul", ["w", "x"], ["y"])
            .Output("y")
            .AssertMatchesOrt();
}
