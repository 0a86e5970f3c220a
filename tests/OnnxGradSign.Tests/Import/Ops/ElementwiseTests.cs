using Xunit;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import.Ops;

public class ElementwiseTests
{
    // The pre-opset-7 form (broadcast=1 with axis) is not checked: ONNX Runtime 1.31 has no kernel for Add-6 and its kin.
    [Theory]
    [InlineData("Add", new long[] { 2, 3, 4 }, new long[] { 3, 1 })]
    [InlineData("Add", new long[] { 4 }, new long[] { 2, 3, 4 })]
    [InlineData("Sub", new long[] { 3, 1 }, new long[] { 2, 3, 4 })]
    [InlineData("Mul", new long[] { 2, 1, 4 }, new long[] { 3, 1 })]
    [InlineData("Div", new long[] { 2, 3, 4 }, new long[] { 1, 4 })]
    [InlineData("Div", new long[] { 1 }, new long[] { 2, 3 })]
    public void BinaryWithBroadcasting(string op, long[] a, long[] b) =>
        new TestGraph(14).Input("a", a).Input("b", b)
            .Node(op, ["a", "b"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void PowWithBroadcastExponents() =>
        new TestGraph(15).Input("x", 2, 3, 4).Initializer("e", [2f, 3f, -1f], 3, 1)
            .Node("Pow", ["x", "e"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void PowOfPositiveBase() =>
        new TestGraph(15).Input("x", 2, 3).Input("e", 3)
            .Node("Abs", "x", "ax").Node("Pow", ["ax", "e"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void IntegerDivTruncates() =>
        new TestGraph(14).Input("a", DataType.Int64, 8).Input("b", DataType.Int64, 8)
            .Node("Div", ["a", "b"], ["y"])
            .Output("y", DataType.Int64)
            .AssertMatchesOrt(new Dictionary<string, Tensor>
            {
                ["a"] = tensor(new long[] { 7, -7, 7, -7, 9, -9, 0, 5 }),
                ["b"] = tensor(new long[] { 2, 2, -2, -2, 3, 4, 3, -1 }),
            });

    [Theory]
    [InlineData("Min")]
    [InlineData("Max")]
    [InlineData("Sum")]
    [InlineData("Mean")]
    public void Variadic(string op) =>
        new TestGraph(13).Input("a", 2, 3, 4).Input("b", 3, 4).Input("c", 1, 4)
            .Node(op, ["a", "b", "c"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData("Min")]
    [InlineData("Sum")]
    public void VariadicOfOne(string op) =>
        new TestGraph(13).Input("a", 2, 3).Node(op, ["a"], ["y"]).Output("y").AssertMatchesOrt();

    [Fact]
    public void Where() =>
        new TestGraph(16).Input("c", DataType.Bool, 3, 4).Input("x", 2, 3, 4).Input("y", 1)
            .Node("Where", ["c", "x", "y"], ["z"])
            .Output("z")
            .AssertMatchesOrt();

    [Theory]
    [InlineData("Less")]
    [InlineData("Greater")]
    public void FloatComparison(string op) =>
        new TestGraph(13).Input("a", 2, 3, 4).Input("b", 3, 4)
            .Node(op, ["a", "b"], ["y"])
            .Output("y", DataType.Bool)
            .AssertMatchesOrt();

    [Fact]
    public void Equal() =>
        new TestGraph(13).Input("a", DataType.Int64, 2, 3, 4).Input("b", DataType.Int64, 3, 4)
            .Node("Equal", ["a", "b"], ["y"])
            .Output("y", DataType.Bool)
            .AssertMatchesOrt();

    [Fact]
    public void Not() =>
        new TestGraph(1).Input("a", DataType.Bool, 2, 5).Node("Not", "a", "y").Output("y", DataType.Bool).AssertMatchesOrt();

    [Fact]
    public void WhereOfComparisonAndNot() =>
        new TestGraph(13).Input("a", 2, 3, 4).Input("b", 2, 3, 4)
            .Node("Less", ["a", "b"], ["less"]).Node("Not", "less", "notLess")
            .Node("Where", ["notLess", "a", "b"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData("Sqrt")]
    [InlineData("Exp")]
    [InlineData("Log")]
    [InlineData("Neg")]
    [InlineData("Abs")]
    [InlineData("Reciprocal")]
    [InlineData("Floor")]
    [InlineData("Ceil")]
    [InlineData("Round")]
    [InlineData("Sign")]
    [InlineData("Erf")]
    [InlineData("Sin")]
    [InlineData("Cos")]
    public void UnaryMathOfPositiveInput(string op) =>
        new TestGraph(13).Input("x", 2, 3, 4)
            .Node("Abs", "x", "a").Node(op, "a", "y")
            .Output("y")
            .AssertMatchesOrt(name: op);

    [Theory]
    [InlineData("LessOrEqual")]
    [InlineData("GreaterOrEqual")]
    public void ComparisonWithTies(string op) =>
        new TestGraph(16).Input("a", DataType.Int64, 3, 4).Input("b", DataType.Int64, 4)
            .Node(op, ["a", "b"], ["y"])
            .Output("y", DataType.Bool)
            .AssertMatchesOrt(name: op);

    [Theory]
    [InlineData("And")]
    [InlineData("Or")]
    [InlineData("Xor")]
    public void Logic(string op) =>
        new TestGraph(7).Input("a", DataType.Bool, 3, 4).Input("b", DataType.Bool, 4)
            .Node(op, ["a", "b"], ["y"])
            .Output("y", DataType.Bool)
            .AssertMatchesOrt(name: op);

    [Fact]
    public void FloatModIsFmod() =>
        new TestGraph(13).Input("a", 3, 4).Input("b", 4)
            .Node("Mod", ["a", "b"], ["y"], ("fmod", 1L))
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void IntegerModTakesTheDivisorsSign() =>
        new TestGraph(13).Input("a", DataType.Int64, 6).Input("b", DataType.Int64, 6)
            .Node("Mod", ["a", "b"], ["y"])
            .Output("y", DataType.Int64)
            .AssertMatchesOrt(new Dictionary<string, Tensor>
            {
                ["a"] = tensor(new long[] { 7, -7, 7, -7, 0, 9 }),
                ["b"] = tensor(new long[] { 3, 3, -3, -3, 5, 4 }),
            });
}
