using OnnxGradSign.Onnx.Proto;
using Xunit;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import.Ops;

/// <summary>NonMaxSuppression and RoiAlign against ONNX Runtime.</summary>
public class DetectionTests
{
    /// <summary>Boxes of 3 batches × 12 with heavy overlaps, on a coarse grid so that ties between scores and IoUs occur.</summary>
    private static Tensor Boxes(bool centerPoint, long seed = 3)
    {
        var g = new Generator((ulong)seed);
        var a = randint(0, 6, [3, 12, 2], generator: g).to_type(ScalarType.Float32);
        var b = randint(0, 6, [3, 12, 2], generator: g).to_type(ScalarType.Float32);
        return centerPoint ? cat([a, b.abs() + 1], 2) : cat([a, b], 2); // corner boxes in either diagonal order
    }

    [Theory]
    [InlineData(0L, 3L, 0.5f, null)]
    [InlineData(0L, 2L, 0.0f, 0.3f)]
    [InlineData(1L, 5L, 0.4f, 0.1f)]
    [InlineData(0L, 0L, 0.5f, null)] // no box at all
    [InlineData(0L, 100L, 1.0f, null)] // nothing suppressed
    public void NonMaxSuppression(long centerPointBox, long maxPerClass, float iouThreshold, float? scoreThreshold)
    {
        var graph = new TestGraph(11).Input("boxes", 3, 12, 4).Input("scores", 3, 2, 12)
            .Initializer("max_output", new[] { maxPerClass }, 1).Initializer("iou", new[] { iouThreshold }, 1);
        string[] inputs = ["boxes", "scores", "max_output", "iou"];
        if (scoreThreshold is { } s) { graph.Initializer("score_threshold", new[] { s }, 1); inputs = [.. inputs, "score_threshold"]; }
        var scores = randint(0, 5, [3, 2, 12], generator: new Generator(4)).to_type(ScalarType.Float32) / 5;
        graph.Node("NonMaxSuppression", inputs, ["selected"], ("center_point_box", centerPointBox))
            .Output("selected", TensorProto.Types.DataType.Int64)
            .AssertMatchesOrt(new Dictionary<string, Tensor> { ["boxes"] = Boxes(centerPointBox == 1), ["scores"] = scores });
    }

    [Theory]
    [InlineData(16L, "avg", "half_pixel", 0L, 0.5f)]
    [InlineData(16L, "avg", "output_half_pixel", 2L, 1.0f)]
    [InlineData(16L, "max", "half_pixel", 2L, 0.5f)]
    [InlineData(10L, "avg", null, 0L, 0.25f)]
    public void RoiAlign(long opset, string mode, string? transform, long samplingRatio, float spatialScale)
    {
        var rois = tensor(new float[] { 0, 0, 9, 9, 2.5f, 1, 7, 4.2f, -3, -2, 4, 16, 5, 5, 5, 5, 1, 1, 30, 30 }, [5, 4]) / spatialScale * 0.5f;
        var attributes = new List<(string, object)> { ("mode", mode), ("output_height", 3L), ("output_width", 2L), ("sampling_ratio", samplingRatio), ("spatial_scale", spatialScale) };
        if (transform is not null) attributes.Add(("coordinate_transformation_mode", transform));
        new TestGraph(opset).Input("x", 2, 3, 10, 12).Input("rois", 5, 4).Input("batch", TensorProto.Types.DataType.Int64, 5)
            .Node("RoiAlign", ["x", "rois", "batch"], ["y"], [.. attributes])
            .Output("y")
            .AssertMatchesOrt(new Dictionary<string, Tensor> { ["rois"] = rois, ["batch"] = tensor(new long[] { 0, 1, 1, 0, 1 }) });
    }

    [Fact]
    public void RoiAlign_refuses_a_hostile_output_size_naming_the_node()
    {
        using var imported = new TestGraph(16).Input("x", 1, 1, 4, 4).Input("rois", 1, 4).Input("batch", TensorProto.Types.DataType.Int64, 1)
            .Node("RoiAlign", ["x", "rois", "batch"], ["y"], ("output_height", 1L << 30), ("sampling_ratio", 4L))
            .Output("y").Import();
        var e = Assert.ThrowsAny<Exception>(() => imported.forward([zeros(1, 1, 4, 4), tensor(new float[] { 0, 0, 3, 3 }, [1, 4]), zeros(1, ScalarType.Int64)]));
        Assert.Contains("more than RoiAlign computes here", e.Message);
    }
}
