using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class ResamplingTests
{
    private static void CheckPad(long opset, long[] x, long[] pads, float? value, long[]? axes, string mode)
    {
        var graph = new TestGraph(opset).Input("x", x).Initializer("pads", pads, pads.Length);
        string[] inputs = ["x", "pads", ""];
        if (value is { } v) { graph.Initializer("value", [v]); inputs[2] = "value"; }
        if (axes is not null) { graph.Initializer("axes", axes, axes.Length); inputs = [.. inputs, "axes"]; }
        graph.Node("Pad", inputs, ["y"], ("mode", mode)).Output("y").AssertMatchesOrt(name: "Pad");
    }

    [Theory]
    [InlineData("constant", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }, 0.5f)]
    [InlineData("constant", new long[] { 1, 0, 0, 1, 0, 2, 1, 0 }, null)] // batch and channel axes too
    [InlineData("constant", new long[] { 0, 0, -1, 2, 0, 0, 1, -2 }, null)] // negative pads crop
    [InlineData("reflect", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }, null)]
    [InlineData("edge", new long[] { 0, 0, 3, 0, 0, 0, 1, 4 }, null)]
    public void PadOpset11(string mode, long[] pads, float? value) => CheckPad(11, [1, 2, 4, 5], pads, value, null, mode);

    [Theory]
    [InlineData("constant", new long[] { 2, 3 }, new long[] { 1, 2, 2, 1 }, 1.5f)]
    [InlineData("reflect", new long[] { 2, 3 }, new long[] { 1, 2, 2, 1 }, null)]
    [InlineData("edge", new long[] { -1 }, new long[] { 3, 1 }, null)]
    [InlineData("reflect", new long[] { -1, 2 }, new long[] { 2, 0, 1, 3 }, null)] // axes out of order
    public void PadOpset18WithAxes(string mode, long[] axes, long[] pads, float? value) => CheckPad(18, [1, 2, 4, 5], pads, value, axes, mode);

    [Fact]
    public void PadOf3DInput() => CheckPad(13, [2, 3, 6], [0, 0, 2, 0, 0, 3], null, null, "reflect");

    [Fact]
    public void PadAttributes() =>
        new TestGraph(2).Input("x", 1, 2, 4, 5)
            .Node("Pad", "x", "y", ("pads", new long[] { 0, 0, 1, 2, 0, 0, 2, 1 }), ("mode", "edge"))
            .Node("Pad", "y", "z", ("pads", new long[] { 0, 1, 0, 0, 0, 0, 1, 0 }), ("value", -2f))
            .Output("z")
            .AssertMatchesOrt();

    /// <summary>Resize of x [1,2,4,5] by scales or by sizes (opset 11+: inputs X, roi, scales, sizes).</summary>
    private static void CheckResize(long opset, float[]? scales, long[]? sizes, object[] attributes)
    {
        var graph = new TestGraph(opset).Input("x", 1, 2, 4, 5).Initializer("roi", Array.Empty<float>(), 0);
        string[] inputs = ["x", "roi", "", ""];
        if (scales is not null) { graph.Initializer("scales", scales, scales.Length); inputs[2] = "scales"; }
        if (sizes is not null) { graph.Initializer("sizes", sizes, sizes.Length); inputs[3] = "sizes"; }
        graph.Node("Resize", sizes is null ? inputs[..3] : inputs, ["y"], TestGraph.Pairs(attributes))
            .Output("y")
            .AssertMatchesOrt(name: "Resize");
    }

    [Theory]
    [InlineData(new float[] { 1, 1, 2, 2 }, "mode", "nearest", "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor")]
    [InlineData(new float[] { 1, 1, 1.5f, 2.6f }, "mode", "nearest", "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "nearest", "coordinate_transformation_mode", "half_pixel", "nearest_mode", "round_prefer_floor")]
    [InlineData(new float[] { 1, 1, 0.5f, 0.6f }, "mode", "nearest", "coordinate_transformation_mode", "half_pixel", "nearest_mode", "round_prefer_floor")]
    [InlineData(new float[] { 1, 1, 3, 3 }, "mode", "nearest")] // defaults: half_pixel, round_prefer_floor
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "linear", "coordinate_transformation_mode", "half_pixel")]
    [InlineData(new float[] { 1, 1, 0.5f, 0.6f }, "mode", "linear", "coordinate_transformation_mode", "half_pixel")]
    [InlineData(new float[] { 1, 1, 2, 2 }, "mode", "linear", "coordinate_transformation_mode", "asymmetric")]
    [InlineData(new float[] { 1, 1, 2, 1.7f }, "mode", "linear", "coordinate_transformation_mode", "align_corners")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "linear", "coordinate_transformation_mode", "pytorch_half_pixel")]
    [InlineData(new float[] { 1, 1, 0.6f, 0.5f }, "mode", "linear", "coordinate_transformation_mode", "pytorch_half_pixel")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "nearest", "coordinate_transformation_mode", "half_pixel", "nearest_mode", "round_prefer_ceil")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "nearest", "coordinate_transformation_mode", "asymmetric", "nearest_mode", "ceil")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "mode", "nearest", "coordinate_transformation_mode", "tf_half_pixel_for_nn")]
    [InlineData(new float[] { 1, 1, 0.6f, 0.5f }, "mode", "linear", "coordinate_transformation_mode", "align_corners")]
    public void ResizeByScales(float[] scales, params object[] attributes) => CheckResize(13, scales, null, attributes);

    [Theory]
    [InlineData(new long[] { 1, 2, 7, 9 }, "mode", "nearest", "coordinate_transformation_mode", "asymmetric", "nearest_mode", "floor")]
    [InlineData(new long[] { 1, 2, 3, 3 }, "mode", "nearest", "coordinate_transformation_mode", "half_pixel", "nearest_mode", "round_prefer_floor")]
    [InlineData(new long[] { 1, 2, 9, 7 }, "mode", "nearest", "coordinate_transformation_mode", "half_pixel", "nearest_mode", "round_prefer_floor")]
    [InlineData(new long[] { 1, 2, 7, 9 }, "mode", "linear", "coordinate_transformation_mode", "half_pixel")]
    [InlineData(new long[] { 1, 2, 3, 7 }, "mode", "linear", "coordinate_transformation_mode", "half_pixel")]
    [InlineData(new long[] { 1, 2, 7, 9 }, "mode", "linear", "coordinate_transformation_mode", "align_corners")]
    [InlineData(new long[] { 1, 2, 3, 2 }, "mode", "linear", "coordinate_transformation_mode", "align_corners")]
    [InlineData(new long[] { 1, 2, 8, 10 }, "mode", "linear", "coordinate_transformation_mode", "asymmetric")]
    [InlineData(new long[] { 1, 2, 7, 1 }, "mode", "linear", "coordinate_transformation_mode", "pytorch_half_pixel")] // a size of 1
    public void ResizeBySizes(long[] sizes, params object[] attributes) => CheckResize(13, null, sizes, attributes);

    [Fact]
    public void ResizeOpset11() => CheckResize(11, [1, 1, 2, 1.5f], null, ["mode", "linear", "coordinate_transformation_mode", "align_corners"]);

    [Fact]
    public void ResizeOpset10() =>
        new TestGraph(10).Input("x", 1, 2, 4, 5).Initializer("scales", [1, 1, 2, 1.5f], 4)
            .Node("Resize", ["x", "scales"], ["y"], ("mode", "nearest"))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData("nearest", new float[] { 1, 1, 2, 3 })]
    [InlineData("linear", new float[] { 1, 1, 2, 2 })]
    public void UpsampleOpset9(string mode, float[] scales) =>
        new TestGraph(9).Input("x", 1, 2, 4, 5).Initializer("scales", scales, 4)
            .Node("Upsample", ["x", "scales"], ["y"], ("mode", mode))
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void UpsampleOpset7() =>
        new TestGraph(7).Input("x", 1, 2, 4, 5)
            .Node("Upsample", "x", "y", ("mode", "nearest"), ("scales", new float[] { 1, 1, 2, 2 }))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData("DCR")]
    [InlineData("CRD")]
    public void DepthToSpace(string mode) =>
        new TestGraph(13).Input("x", 2, 8, 3, 4)
            .Node("DepthToSpace", "x", "y", ("blocksize", 2L), ("mode", mode))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(2L)]
    [InlineData(3L)]
    public void SpaceToDepth(long blocksize) =>
        new TestGraph(13).Input("x", 2, 3, 6, 12)
            .Node("SpaceToDepth", "x", "y", ("blocksize", blocksize))
            .Output("y")
            .AssertMatchesOrt();

    [Theory]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "linear")]
    [InlineData(new float[] { 1, 1, 0.6f, 1.7f }, "linear")]
    [InlineData(new float[] { 1, 1, 2, 1.5f }, "nearest")]
    public void ResizeHalfPixelSymmetric(float[] scales, string mode) =>
        CheckResize(19, scales, null, ["mode", mode, "coordinate_transformation_mode", "half_pixel_symmetric"]);

    /// <summary>Samples partly outside the image (grid values beyond ±1), so that every padding mode matters.</summary>
    [Theory]
    [InlineData("bicubic", "zeros", 0L)]
    [InlineData("bicubic", "zeros", 1L)]
    [InlineData("bicubic", "border", 0L)]
    [InlineData("bicubic", "reflection", 0L)]
    [InlineData("bicubic", "reflection", 1L)]
    [InlineData("bilinear", "zeros", 0L)]
    public void GridSample(string mode, string padding, long alignCorners) =>
        new TestGraph(16).Input("x", 2, 3, 5, 7).Input("grid", 2, 4, 6, 2)
            .Node("GridSample", ["x", "grid"], ["y"], ("mode", mode), ("padding_mode", padding), ("align_corners", alignCorners))
            .Output("y")
            .AssertMatchesOrt(new Dictionary<string, TorchSharp.torch.Tensor> { ["grid"] = TorchSharp.torch.randn([2, 4, 6, 2], generator: new TorchSharp.torch.Generator(9)) * 0.8 });

    /// <summary>tf_crop_and_resize of x [1,2,4,5] over a region reaching past the image (extrapolated there).</summary>
    [Theory]
    [InlineData("linear", new long[] { 1, 2, 3, 6 }, null)]
    [InlineData("nearest", new long[] { 1, 2, 5, 4 }, null)]
    [InlineData("cubic", new long[] { 1, 2, 3, 3 }, null)]
    [InlineData("linear", null, new float[] { 1, 1, 1.5f, 2 })]
    public void ResizeTfCropAndResize(string mode, long[]? sizes, float[]? scales)
    {
        var graph = new TestGraph(13).Input("x", 1, 2, 4, 5)
            .Initializer("roi", new float[] { 0, 0, 0.4f, -0.2f, 1, 1, 0.9f, 1.3f }, 8)
            .Initializer("scales", scales ?? [], scales?.Length ?? 0);
        if (sizes is not null) graph.Initializer("sizes", sizes, sizes.Length);
        graph.Node("Resize", sizes is null ? ["x", "roi", "scales"] : ["x", "roi", "scales", "sizes"], ["y"],
                ("mode", mode), ("coordinate_transformation_mode", "tf_crop_and_resize"), ("extrapolation_value", 7.5f))
            .Output("y")
            .AssertMatchesOrt(name: "Resize");
    }
}
