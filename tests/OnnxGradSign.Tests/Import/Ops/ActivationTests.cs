using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class ActivationTests
{
    private static void Check(string op, long opset, object[] attributes) =>
        new TestGraph(opset).Input("x", 2, 3, 4, 5)
            .Node(op, "x", "y", TestGraph.Pairs(attributes))
            .Output("y")
            .AssertMatchesOrt(name: op);

    [Theory]
    [InlineData("Relu", 14)]
    [InlineData("Relu", 6)]
    [InlineData("Sigmoid", 13)]
    [InlineData("Tanh", 13)]
    [InlineData("LeakyRelu", 16)]
    [InlineData("LeakyRelu", 16, "alpha", 0.2f)]
    [InlineData("Elu", 6)]
    [InlineData("Elu", 6, "alpha", 0.7f)]
    [InlineData("Celu", 12, "alpha", 1.3f)]
    [InlineData("Selu", 6)]
    [InlineData("Selu", 6, "alpha", 1.5f, "gamma", 0.9f)]
    [InlineData("HardSigmoid", 6)]
    [InlineData("HardSigmoid", 6, "alpha", 0.3f, "beta", 0.4f)]
    [InlineData("HardSwish", 14)]
    [InlineData("Softplus", 6)]
    [InlineData("Softsign", 6)]
    [InlineData("Mish", 18)]
    [InlineData("Gelu", 20)]
    [InlineData("Gelu", 20, "approximate", "none")]
    [InlineData("Gelu", 20, "approximate", "tanh")]
    [InlineData("Clip", 6, "min", -0.5f, "max", 0.7f)]
    [InlineData("Clip", 6, "max", 0.7f)]
    [InlineData("Softmax", 1, "axis", 2L)]
    [InlineData("Softmax", 11, "axis", 1L)] // coerced to 2-D: normalized over C·H·W
    [InlineData("Softmax", 11)]
    [InlineData("Softmax", 11, "axis", -1L)]
    [InlineData("Softmax", 12, "axis", 2L)]
    [InlineData("Softmax", 13, "axis", 1L)] // a plain axis
    [InlineData("Softmax", 13)]
    [InlineData("Softmax", 18, "axis", 2L)]
    [InlineData("LogSoftmax", 11, "axis", 1L)]
    [InlineData("LogSoftmax", 11, "axis", 0L)]
    [InlineData("LogSoftmax", 13, "axis", 1L)]
    [InlineData("LogSoftmax", 13, "axis", -2L)]
    public void Unary(string op, long opset, params object[] attributes) => Check(op, opset, attributes);

    [Theory]
    [InlineData(11, true, true)]
    [InlineData(13, true, true)]
    [InlineData(13, false, true)]
    [InlineData(13, true, false)]
    public void ClipWithInputs(long opset, bool withMin, bool withMax)
    {
        var graph = new TestGraph(opset).Input("x", 2, 3, 4).Initializer("min", [-0.4f]).Initializer("max", [0.6f]);
        graph.Node("Clip", ["x", withMin ? "min" : "", withMax ? "max" : ""], ["y"]).Output("y").AssertMatchesOrt();
    }

    // PRelu-6 (a vector of C slopes per channel) is not checked: ONNX Runtime 1.31 has no kernel for it.
    [Theory]
    [InlineData(16, new long[] { 3, 1, 1 })] // per channel
    [InlineData(16, new long[] { 5 })] // numpy broadcast over the last axis
    [InlineData(9, new long[] { 1 })]
    public void PRelu(long opset, long[] slopeShape) =>
        new TestGraph(opset).Input("x", 2, 3, 4, 5).RandomInitializer("slope", slopeShape)
            .Node("PRelu", ["x", "slope"], ["y"])
            .Output("y")
            .AssertMatchesOrt();
}
