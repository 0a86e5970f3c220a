using OnnxGradSign.Import;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

/// <summary>Shape arithmetic on runtime tensors folds into constants or one batch-size step, and the model still runs at any batch size.</summary>
public class ShapeFoldingTests
{
    /// <summary>x.view(x.size(0), -1) as PyTorch exports it, with a symbolic batch axis, plus a batch-invariant Shape→Slice chain.</summary>
    private static TestGraph ViewChain()
    {
        var graph = new TestGraph(13).Input("x", 1, 3, 4, 5)
            .Initializer("zero", [0L]).Initializer("minusOne", [-1L], 1).Initializer("axes", [0L], 1)
            .Initializer("one", [1L], 1).Initializer("four", [4L], 1)
            .Node("Shape", "x", "shape")
            .Node("Gather", ["shape", "zero"], ["batch"], ("axis", 0L))
            .Node("Unsqueeze", ["batch", "axes"], ["batch1"])
            .Node("Concat", ["batch1", "minusOne"], ["target"], ("axis", 0L))
            .Node("Reshape", ["x", "target"], ["flat"])
            .Node("Slice", ["shape", "one", "four"], ["chw"])
            .Node("ReduceProd", "chw", "features", ("keepdims", 0L))
            .Node("Cast", "features", "scale", ("to", (long)TensorProto.Types.DataType.Float))
            .Node("Div", ["flat", "scale"], ["y"])
            .Output("y");
        graph.Proto.Graph.Input[0].Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        return graph;
    }

    [Fact]
    public void View_chain_becomes_one_batch_step_and_the_rest_constants()
    {
        var model = ViewChain().Build();
        using var folded = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
        Assert.Equal(["BatchAffineShape", "Reshape", "Div"], folded.Steps.Select(s => s.Node.OpType));

        using var unfolded = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, FoldShapes: false));
        Assert.Contains(unfolded.Steps, s => s.Node.OpType == "Shape");
        foreach (long batch in new long[] { 1, 4, 7 })
        {
            var x = randn(batch, 3, 4, 5);
            var expected = unfolded.forward([x])[0];
            var actual = folded.forward([x])[0];
            Assert.Equal([batch, 60L], actual.shape);
            Assert.True(actual.eq(expected).all().item<bool>(), $"batch {batch}");
        }
    }

    /// <summary>
    /// class_token.expand(x.size(0), -1, -1) as PyTorch exports it (torchvision's VisionTransformer): the -1s of the target shape
    /// are found by Equal and replaced by Where, so a boolean value lies on the shape chain. It folds to a constant; the batch
    /// size still flows through.
    /// </summary>
    [Fact]
    public void Expand_with_minus_ones_folds_its_boolean_guard()
    {
        var graph = new TestGraph(13).Input("x", 1, 3, 4)
            .RandomInitializer("class_token", 1, 1, 4)
            .Initializer("zero", [0L]).Initializer("axes", [0L], 1).Initializer("minusOnes", [-1L, -1L], 2)
            .Initializer("allMinusOne", [-1L, -1L, -1L], 3).Initializer("ones", [1L, 1L, 1L], 3)
            .Node("Shape", "x", "shape")
            .Node("Gather", ["shape", "zero"], ["batch"], ("axis", 0L))
            .Node("Unsqueeze", ["batch", "axes"], ["batch1"])
            .Node("Concat", ["batch1", "minusOnes"], ["target"], ("axis", 0L))
            .Node("Equal", ["target", "allMinusOne"], ["keep"])
            .Node("Where", ["keep", "ones", "target"], ["expandShape"])
            .Node("Expand", ["class_token", "expandShape"], ["tokens"])
            .Node("Concat", ["tokens", "x"], ["y"], ("axis", 1L))
            .Output("y");
        graph.Proto.Graph.Input[0].Type.TensorType.Shape.Dim[0] = new TensorShapeProto.Types.Dimension { DimParam = "batch" };
        var model = graph.Build();

        using var folded = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
        Assert.Equal(["BatchAffineShape", "Expand", "Concat"], folded.Steps.Select(s => s.Node.OpType));
        using var unfolded = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, FoldShapes: false));
        foreach (long batch in new long[] { 1, 4 })
        {
            var x = randn(batch, 3, 4);
            var actual = folded.forward([x])[0];
            Assert.Equal([batch, 4L, 4L], actual.shape);
            Assert.True(actual.eq(unfolded.forward([x])[0]).all().item<bool>(), $"batch {batch}");
        }
    }

    [Fact]
    public void Attention_reshapes_of_the_vit_example_fold_and_still_match()
    {
        var path = TestPaths.Model("vit_tiny.onnx");
        using var folded = OnnxImporter.Import(path, new ImportOptions(WeightInit.Keep));
        using var unfolded = OnnxImporter.Import(path, new ImportOptions(WeightInit.Keep, FoldShapes: false));
        Assert.DoesNotContain(folded.Steps, s => s.Node.OpType == "Shape");
        Assert.True(folded.Steps.Count < unfolded.Steps.Count);
        using var noGrad = no_grad();
        foreach (long batch in new long[] { 1, 5 })
        {
            var x = randn(batch, 1, 28, 28);
            Assert.True(folded.forward([x])[0].allclose(unfolded.forward([x])[0], 1e-6, 1e-6), $"batch {batch}");
        }
    }
}
