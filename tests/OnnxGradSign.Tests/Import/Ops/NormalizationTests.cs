using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class NormalizationTests
{
    private static readonly string[] BatchNormInputs = ["x", "scale", "bias", "mean", "var"];

    /// <summary>A BatchNormalization graph over x [2,3,4,5] with random affine parameters and running statistics.</summary>
    private static TestGraph BatchNorm(long opset, string[] outputs, params (string, object)[] attributes)
    {
        var graph = new TestGraph(opset).Input("x", 2, 3, 4, 5)
            .RandomInitializer("scale", 3).RandomInitializer("bias", 3).RandomInitializer("mean", 3)
            .Initializer("var", [0.5f, 1.5f, 2.5f], 3)
            .Node("BatchNormalization", BatchNormInputs, outputs, attributes);
        foreach (var output in outputs) graph.Output(output);
        return graph;
    }

    [Theory]
    [InlineData(9)]
    [InlineData(15)]
    public void BatchNormalizationInference(long opset) =>
        BatchNorm(opset, ["y"], ("epsilon", 1e-3f)).AssertMatchesOrt();

    [Fact]
    public void BatchNormalizationTrainingMode() =>
        BatchNorm(15, ["y", "running_mean", "running_var"], ("training_mode", 1L), ("momentum", 0.8f)).AssertMatchesOrt();

    [Fact]
    public void BatchNormalizationTrainingFormOpset9() =>
        BatchNorm(9, ["y", "running_mean", "running_var", "saved_mean", "saved_var"], ("momentum", 0.7f), ("epsilon", 0.1f)).AssertMatchesOrt();

    [Fact]
    public void BatchNormalizationOf2DInput() =>
        new TestGraph(15).Input("x", 4, 3)
            .RandomInitializer("scale", 3).RandomInitializer("bias", 3).RandomInitializer("mean", 3)
            .Initializer("var", [0.5f, 1.5f, 2.5f], 3)
            .Node("BatchNormalization", BatchNormInputs, ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(new long[] { 2, 3, 4, 5 })]
    [InlineData(new long[] { 2, 3, 7 })]
    public void InstanceNormalization(long[] shape) =>
        new TestGraph(6).Input("x", shape).RandomInitializer("scale", 3).RandomInitializer("bias", 3)
            .Node("InstanceNormalization", ["x", "scale", "bias"], ["y"], ("epsilon", 1e-4f))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(-1, new long[] { 5 })]
    [InlineData(1, new long[] { 3, 4, 5 })]
    [InlineData(2, new long[] { 1, 5 })] // broadcast scale
    public void LayerNormalization(long axis, long[] parameterShape) =>
        new TestGraph(17).Input("x", 2, 3, 4, 5).RandomInitializer("scale", parameterShape).RandomInitializer("bias", parameterShape)
            .Node("LayerNormalization", ["x", "scale", "bias"], ["y"], ("axis", axis), ("epsilon", 1e-4f))
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void LayerNormalizationWithoutBiasWithStatistics() =>
        new TestGraph(17).Input("x", 2, 3, 6).RandomInitializer("scale", 6)
            .Node("LayerNormalization", ["x", "scale"], ["y", "mean", "inv_std"])
            .Output("y").Output("mean").Output("inv_std")
            .AssertMatchesOrt();

    /// <summary>Opset 7's spatial=0: statistics per (C,H,W) position, with parameters shaped [C,H,W].</summary>
    [Fact]
    public void BatchNormalizationNonSpatialOpset7() =>
        new TestGraph(7).Input("x", 2, 3, 2, 2)
            .RandomInitializer("scale", 3, 2, 2).RandomInitializer("bias", 3, 2, 2).RandomInitializer("mean", 3, 2, 2)
            .Initializer("var", Enumerable.Range(1, 12).Select(v => v / 4f).ToArray(), 3, 2, 2)
            .Node("BatchNormalization", BatchNormInputs, ["y"], ("spatial", 0L))
            .Output("y")
            .AssertMatchesOrt();
}
