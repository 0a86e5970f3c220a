using OnnxGradSign.Import;
using Xunit;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

/// <summary>Which constants the importer turns into parameters or buffers, how fresh initialization treats them, and registry lookup.</summary>
public class ImporterTests
{
    private static ParameterInfo Single(ImportedModel model, ParameterRole role) => Assert.Single(model.ParameterInfos, p => p.Role == role);

    private static bool IsParameter(ImportedModel model, ParameterInfo info) => model.named_parameters().Any(p => p.name == info.Key);

    private static bool IsBuffer(ImportedModel model, ParameterInfo info) => model.named_buffers().Any(b => b.name == info.Key);

    private static bool SameValues(Tensor a, Tensor b) => a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();

    [Fact]
    public void ConvWeightFromAConstantNodeIsATrainableConvParameter()
    {
        var weight = randn([4, 3, 3, 3], generator: new Generator(1));
        var graph = new TestGraph(13).Input("x", 1, 3, 8, 8)
            .Node("Constant", [], ["w"], ("value", weight))
            .Node("Conv", ["x", "w"], ["y"])
            .Output("y");

        using var kept = graph.Import(WeightInit.Keep);
        var info = Single(kept, ParameterRole.Weight);
        Assert.Equal(LayerKind.Conv, info.Kind);
        Assert.True(info.Trainable);
        Assert.True(IsParameter(kept, info));
        Assert.Equal(27, info.FanIn);
        Assert.True(SameValues(weight, kept.TensorOf(info)));

        using var fresh = graph.Import(WeightInit.Fresh);
        var freshWeight = fresh.TensorOf(Single(fresh, ParameterRole.Weight));
        Assert.False(SameValues(weight, freshWeight));
        Assert.True(freshWeight.abs().max().item<float>() <= 1 / MathF.Sqrt(27)); // kaiming_uniform(a=√5) bound 1/√fan_in
    }

    /// <summary>PyTorch writes Linear on a 3-D input as MatMul by a constant [in,out] plus Add of the bias.</summary>
    private static TestGraph MatMulAdd() =>
        new TestGraph(13, "pytorch").Input("x", 2, 3, 4)
            .RandomInitializer("onnx::MatMul_7", 4, 5).RandomInitializer("fc.bias", 5)
            .Node("MatMul", ["x", "onnx::MatMul_7"], ["h"])
            .Node("Add", ["fc.bias", "h"], ["y"])
            .Output("y");

    [Fact]
    public void MatMulByConstantDeclaresALinearWeight()
    {
        using var model = MatMulAdd().Import();
        var weight = Single(model, ParameterRole.Weight);
        Assert.Equal((LayerKind.Linear, 4L, 5L), (weight.Kind, weight.FanIn, weight.FanOut));
        Assert.True(IsParameter(model, weight));
    }

    [Fact]
    public void AddOfAVectorAfterMatMulIsTheLinearBias()
    {
        using var model = MatMulAdd().Import();
        var bias = Single(model, ParameterRole.Bias);
        Assert.Equal(LayerKind.Linear, bias.Kind);
        Assert.Equal("fc.bias", bias.Name);
        Assert.True(IsParameter(model, bias));
    }

    [Fact]
    public void BatchNormStatisticsAreBuffersAndAffineParametersAreTrainable()
    {
        using var model = new TestGraph(15).Input("x", 2, 3, 4, 4)
            .RandomInitializer("scale", 3).RandomInitializer("bias", 3).RandomInitializer("mean", 3).Initializer("var", [1f, 2f, 3f], 3)
            .Node("BatchNormalization", ["x", "scale", "bias", "mean", "var"], ["y"])
            .Output("y")
            .Import();
        foreach (var role in new[] { ParameterRole.RunningMean, ParameterRole.RunningVar })
        {
            var info = Single(model, role);
            Assert.False(info.Trainable);
            Assert.True(IsBuffer(model, info));
            Assert.False(IsParameter(model, info));
        }
        foreach (var role in new[] { ParameterRole.NormScale, ParameterRole.NormBias })
        {
            var info = Single(model, role);
            Assert.Equal(LayerKind.Normalization, info.Kind);
            Assert.True(info.Trainable);
            Assert.True(IsParameter(model, info));
        }
    }

    /// <summary>PyTorch exports Linear on a 3-D input as MatMul(x, Transpose(weight)); the transposed weight is still the layer's parameter.</summary>
    [Fact]
    public void WeightReachedThroughTransposeOfAnInitializerIsAParameter()
    {
        var graph = new TestGraph(13, "pytorch").Input("x", 2, 3, 4)
            .RandomInitializer("fc.weight", 5, 4)
            .Node("Transpose", "fc.weight", "wt", ("perm", new long[] { 1, 0 }))
            .Node("MatMul", ["x", "wt"], ["y"])
            .Output("y");
        graph.AssertMatchesOrt();

        using var kept = graph.Import();
        var info = Assert.Single(kept.ParameterInfos);
        Assert.Equal((LayerKind.Linear, ParameterRole.Weight), (info.Kind, info.Role));
        Assert.Equal([4L, 5L], info.Shape);
        Assert.True(IsParameter(kept, info));
        Assert.Single(kept.parameters());

        using var fresh = graph.Import(WeightInit.Fresh);
        Assert.False(SameValues(kept.TensorOf(info), fresh.TensorOf(Assert.Single(fresh.ParameterInfos))));
    }

    [Fact]
    public void RegistryPicksTheLargestSinceVersionNotAboveTheOpset()
    {
        var registry = OpRegistry.Default;
        var pre13 = registry.Find("", "Softmax", 1);
        var from13 = registry.Find("", "Softmax", 13);
        Assert.NotNull(pre13);
        Assert.NotSame(pre13, from13);
        Assert.Same(pre13, registry.Find("", "Softmax", 12));
        Assert.Same(from13, registry.Find("ai.onnx", "Softmax", 18));
        Assert.Null(registry.Find("", "HardSwish", 13));
    }

    /// <summary>The registry's choice shows in the numbers: axis=1 at opset 12 normalizes over C·H·W, at 18 over C alone.</summary>
    [Theory]
    [InlineData(12, new long[] { 1, 2, 3 })]
    [InlineData(18, new long[] { 1 })]
    public void SoftmaxSemanticsFollowTheOpset(long opset, long[] normalizedAxes)
    {
        using var model = new TestGraph(opset).Input("x", 2, 3, 4, 5).Node("Softmax", "x", "y", ("axis", 1L)).Output("y").Import();
        var x = randn([2, 3, 4, 5], generator: new Generator(3));
        var y = model.forward([x])[0];
        var sums = y.sum(normalizedAxes);
        Assert.True(sums.allclose(ones_like(sums)));
        Assert.True(y.allclose(x.flatten(1).softmax(1).reshape(x.shape)) == (opset == 12));
    }

    [Fact]
    public void UnknownOpsAndOpsetsBelowAnOpsFirstVersionAreReportedTogether()
    {
        var graph = new TestGraph(13).Input("x", 2, 3)
            .Node("Frobnicate", "x", "a")
            .Node("Relu", "a", "b")
            .Node("HardSwish", "b", "y") // HardSwish is new in opset 14
            .Output("y");
        var e = Assert.Throws<UnsupportedOpsException>(() => graph.Import());
        Assert.Equal(["Frobnicate", "HardSwish"], e.Nodes.Select(n => n.OpType));
        Assert.All(e.Nodes, n => Assert.Equal(13, n.Opset));
        Assert.Contains("Frobnicate_0", e.Message);
        Assert.Contains("HardSwish_2", e.Message);
    }

    [Fact]
    public void A_learned_table_read_through_constant_indices_stays_a_trainable_parameter()
    {
        // Swin's relative_position_bias_table pattern: Gather(named table, constant index) added to activations.
        var graph = new TestGraph(13).Input("x", 2, 4)
            .Initializer("bias_table", [0.5f, -1, 2, 3, -4, 6], 3, 2)
            .Initializer("onnx::index", [2L, 0L], 2)
            .Node("Gather", ["bias_table", "onnx::index"], ["bias"], ("axis", 0L))
            .Node("Reshape", ["bias", "shape"], ["bias_row"])
            .Initializer("shape", [1L, 4L], 2)
            .Node("Add", ["x", "bias_row"], ["y"])
            .Output("y");
        using var model = graph.Import();
        var table = Assert.Single(model.ParameterInfos, p => p.Name == "bias_table");
        Assert.True(table.Trainable);
        Assert.Equal(6, table.Count);
        Assert.Contains(model.Steps, s => s.Node.OpType == "Gather");
        graph.AssertMatchesOrt();
    }
}
