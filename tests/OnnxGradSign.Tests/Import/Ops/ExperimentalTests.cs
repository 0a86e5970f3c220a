using OnnxGradSign.Import;
using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

/// <summary>The experimental opset-1 ops of CoreML conversions, against ONNX Runtime (which still implements them).</summary>
public class ExperimentalTests
{
    private static TestGraph Graph(string op, long[] x, object[] attributes) =>
        new TestGraph(7).Input("x", x).Node(op, "x", "y", TestGraph.Pairs(attributes)).Output("y");

    [Theory]
    [InlineData("ImageScaler", new long[] { 2, 3, 5, 4 }, "scale", 0.5f, "bias", new float[] { -1f, 2f, 0.25f })]
    [InlineData("Crop", new long[] { 2, 3, 7, 6 }, "border", new long[] { 1, 2, 0, 1 })]
    [InlineData("Crop", new long[] { 1, 2, 8, 9 }, "border", new long[] { 2, 1, 0, 0 }, "scale", new long[] { 4, 5 })]
    [InlineData("Affine", new long[] { 2, 3, 4 }, "alpha", 150f, "beta", -0.5f)]
    [InlineData("Affine", new long[] { 2, 3 })]
    public void Matches_onnx_runtime(string op, long[] x, params object[] attributes) => Graph(op, x, attributes).AssertMatchesOrt(name: op);

    [Fact]
    public void An_image_scaler_without_bias_only_scales() // ONNX Runtime insists on the bias that ONNX's schema leaves optional
    {
        using var imported = Graph("ImageScaler", [1, 2, 3, 3], ["scale", 2f]).Import();
        var x = TorchSharp.torch.randn(1, 2, 3, 3);
        Assert.True(imported.forward([x])[0].allclose(x * 2));
    }

    [Theory]
    [InlineData("Crop", new long[] { 1, 1, 4, 4 }, "border", new long[] { 1, 1, 1 }, "border must hold 4")]
    [InlineData("Crop", new long[] { 1, 1, 4, 4 }, "border", new long[] { 1, 1, 1, 1 }, "scale", new long[] { 2 }, "scale must hold 2")]
    public void A_malformed_attribute_is_refused_naming_it(string op, long[] x, params object[] rest)
    {
        var graph = Graph(op, x, rest[..^1]);
        var e = Assert.Throws<UnsupportedOpsException>(() => graph.Import(name: op));
        Assert.Contains((string)rest[^1], e.Message);
    }

    [Fact]
    public void A_crop_larger_than_the_image_is_an_error_naming_the_node()
    {
        using var imported = Graph("Crop", [1, 1, 4, 4], ["border", new long[] { 1, 1, 0, 0 }, "scale", new long[] { 4, 4 }]).Import();
        var e = Assert.ThrowsAny<Exception>(() => imported.forward([TorchSharp.torch.zeros(1, 1, 4, 4)]));
        Assert.Contains("do not fit a 4×4 image", e.Message);
    }
}
