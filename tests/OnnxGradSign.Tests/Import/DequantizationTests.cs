using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using Xunit;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

/// <summary>Quantized graphs scored as the float network their dequantized weights describe (Import.Dequantization).</summary>
public class DequantizationTests
{
    private static readonly string MlpFile = Path.Combine(TestPaths.RealWorld, "cls__mlp_torch251_quantized.onnx");

    [RealWorldFact("cls__mlp_torch251_quantized.onnx")]
    public void The_scored_weights_of_a_dynamically_quantized_mlp_are_its_dequantized_float_weights()
    {
        var model = OnnxModel.Load(MlpFile);
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, Dequantize: true));
        var weights = imported.ParameterInfos.Where(p => p.IsLayerWeight).ToList();
        Assert.Equal(["onnx::MatMul_13", "onnx::MatMul_14", "onnx::MatMul_15"], weights.Select(w => w.Name));
        foreach (var weight in weights)
        {
            Assert.Equal(LayerKind.Linear, weight.Kind);
            var quantized = model.ReadInitializer(weight.Name + "_quantized").to_type(ScalarType.Float32);
            var expected = (quantized - model.ReadInitializer(weight.Name + "_zero_point").to_type(ScalarType.Float32))
                * model.ReadInitializer(weight.Name + "_scale");
            Assert.Equal(quantized.shape, weight.Shape);
            Assert.True(imported.TensorOf(weight).allclose(expected), weight.Name);
        }
        Assert.DoesNotContain(imported.Steps, s => s.Node.OpType is "DynamicQuantizeLinear" or "MatMulInteger");

        // The float network computes what the quantized one approximates; without Dequantize the graph is the quantized one.
        var x = randn([4, 25], generator: new Generator(3));
        using var asQuantized = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
        using (no_grad())
        {
            var floatOutput = imported.forward([x])[0];
            var quantizedOutput = asQuantized.forward([x])[0];
            Assert.True((floatOutput - quantizedOutput).abs().max().item<float>() < 0.05 * quantizedOutput.abs().max().item<float>());
        }
        Assert.Contains(asQuantized.Steps, s => s.Node.OpType == "MatMulInteger");

        // Fresh weights follow the float layer's rule: PyTorch's U(±1/√fan_in), fan_in the 25 inputs of fc1.
        using var fresh = OnnxImporter.Import(model, new ImportOptions(WeightInit.Fresh, Dequantize: true));
        var fc1 = fresh.TensorOf(fresh.ParameterInfos.First(p => p.Name == "onnx::MatMul_13"));
        Assert.True(fc1.abs().max().item<float>() <= 0.2f);
        Assert.False(fc1.allclose(imported.TensorOf(weights[0])));
    }

    /// <summary>QDQ form: x → QuantizeLinear → DequantizeLinear → Conv whose weight is DequantizeLinear of int8 values.</summary>
    private static TestGraph QdqConv() =>
        new TestGraph(13).Input("x", 1, 2, 6, 6)
            .Initializer("x_scale", tensor(0.05f)).Initializer("x_zero_point", tensor((byte)128))
            .Initializer("w_quantized", tensor(new sbyte[] { -7, 3, 120, -128, 0, 5, 9, -2, 1, 4, -6, 8, 100, -50, 25, 12, -1, 2 }, [3, 2, 1, 3]))
            .Initializer("w_scale", tensor(new[] { 0.01f, 0.02f, 0.005f }))
            .Node("QuantizeLinear", ["x", "x_scale", "x_zero_point"], ["xq"])
            .Node("DequantizeLinear", ["xq", "x_scale", "x_zero_point"], ["xd"])
            .Node("DequantizeLinear", ["w_quantized", "w_scale"], ["w"], ("axis", 0L))
            .Node("Conv", ["xd", "w"], ["y"], ("kernel_shape", new long[] { 1, 3 }))
            .Output("y");

    [Fact]
    public void A_qdq_conv_scores_as_a_float_conv_with_its_dequantized_weight_and_verifies_quantized()
    {
        QdqConv().AssertMatchesOrt(); // the quantized forward, as verify runs it

        var model = QdqConv().Build();
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, Dequantize: true));
        var weight = Assert.Single(imported.ParameterInfos, p => p.IsLayerWeight);
        Assert.Equal(LayerKind.Conv, weight.Kind);
        var expected = model.ReadInitializer("w_quantized").to_type(ScalarType.Float32) * model.ReadInitializer("w_scale").reshape(3, 1, 1, 1);
        Assert.True(imported.TensorOf(weight).allclose(expected));

        // Activation quantization is the identity, so the gradient reaches the input and the weight.
        var x = randn([1, 2, 6, 6], generator: new Generator(5)).requires_grad_();
        var y = imported.forward([x])[0];
        Assert.True(y.allclose(nn.functional.conv2d(x, expected), 1e-5, 1e-6));
        y.sum().backward();
        Assert.True(x.grad!.abs().sum().item<float>() > 0);
    }

    /// <summary>ONNX Runtime's dynamic conv quantization: DynamicQuantizeLinear → ConvInteger → Cast → Mul(x_scale·w_scale).</summary>
    private static TestGraph DynamicConv() =>
        new TestGraph(13).Input("x", 1, 2, 5, 5)
            .Initializer("w_quantized", tensor(Enumerable.Range(0, 36).Select(v => (byte)(v * 7 % 256)).ToArray(), [2, 2, 3, 3]))
            .Initializer("w_zero_point", tensor((byte)100))
            .Initializer("w_scale", tensor(0.01f))
            .Node("DynamicQuantizeLinear", ["x"], ["xq", "x_scale", "x_zero_point"])
            .Node("Mul", ["x_scale", "w_scale"], ["scales"])
            .Node("ConvInteger", ["xq", "w_quantized", "x_zero_point", "w_zero_point"], ["yq"], ("kernel_shape", new long[] { 3, 3 }), ("pads", new long[] { 1, 1, 1, 1 }))
            .Node("Cast", ["yq"], ["yf"], ("to", (long)TensorProto.Types.DataType.Float))
            .Node("Mul", ["yf", "scales"], ["y"])
            .Output("y");

    [Fact]
    public void A_dynamically_quantized_conv_scores_as_a_float_conv_with_the_same_geometry()
    {
        DynamicConv().AssertMatchesOrt(); // the integer forward, as verify runs it

        var model = DynamicConv().Build();
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, Dequantize: true));
        var weight = Assert.Single(imported.ParameterInfos, p => p.IsLayerWeight);
        Assert.Equal(("w", LayerKind.Conv), (weight.Name, weight.Kind));
        var expected = (model.ReadInitializer("w_quantized").to_type(ScalarType.Float32) - 100) * 0.01f;
        Assert.True(imported.TensorOf(weight).allclose(expected));
        var x = randn([1, 2, 5, 5], generator: new Generator(6));
        using (no_grad())
            Assert.True(imported.forward([x])[0].allclose(nn.functional.conv2d(x, expected, padding: [1, 1]), 1e-5, 1e-5));
    }
}
