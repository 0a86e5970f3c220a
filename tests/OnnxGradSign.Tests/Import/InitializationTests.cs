using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

public class InitializationTests
{
    private static Dictionary<string, float[]> Weights(string file, WeightInit init, long seed)
    {
        using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(init, seed));
        return model.ParameterInfos.ToDictionary(p => p.Name, p => model.TensorOf(p).detach().cpu().data<float>().ToArray());
    }

    [Fact]
    public void Same_seed_gives_bit_identical_weights_whatever_the_thread_count()
    {
        int threads = get_num_threads();
        try
        {
            set_num_threads(1);
            var one = Weights("resnet_tiny.onnx", WeightInit.Fresh, 42);
            set_num_threads(2);
            var two = Weights("resnet_tiny.onnx", WeightInit.Fresh, 42);
            Assert.Equal(one.Keys, two.Keys);
            Assert.All(one, kv => Assert.Equal(kv.Value, two[kv.Key]));
        }
        finally
        {
            set_num_threads(threads);
        }
    }

    [Fact]
    public void Other_seeds_and_keep_give_other_weights()
    {
        var fresh = Weights("resnet_tiny.onnx", WeightInit.Fresh, 1);
        var other = Weights("resnet_tiny.onnx", WeightInit.Fresh, 2);
        var kept = Weights("resnet_tiny.onnx", WeightInit.Keep, 1);
        var conv = fresh.Keys.First(k => k.EndsWith("conv1.weight"));
        Assert.NotEqual(fresh[conv], other[conv]);
        Assert.NotEqual(fresh[conv], kept[conv]);
    }

    private static ImportedModel BidirectionalLstm(string producer) => new TestGraph(14, producer).Input("x", 5, 2, 6)
        .RandomInitializer("w", 2, 32, 6).RandomInitializer("r", 2, 32, 8).RandomInitializer("b", 2, 64)
        .Node("LSTM", ["x", "w", "r", "b"], ["y"], ("hidden_size", 8L), ("direction", "bidirectional"))
        .Output("y")
        .Import(WeightInit.Fresh);

    [Fact]
    public void PyTorch_style_draws_recurrent_weights_and_biases_within_one_over_root_hidden()
    {
        using var model = BidirectionalLstm("pytorch");
        double bound = 1 / Math.Sqrt(8);
        Assert.All(model.ParameterInfos, p => Assert.InRange(model.TensorOf(p).abs().max().item<float>(), 0.9 * bound, bound * (1 + 1e-6)));
    }

    [Fact]
    public void Keras_style_draws_glorot_kernels_orthogonal_recurrent_kernels_and_a_forget_bias_of_one()
    {
        using var model = BidirectionalLstm("keras2onnx");
        Tensor Of(string name) => model.TensorOf(model.ParameterInfos.Single(p => p.Name == name)).detach();
        double glorot = Math.Sqrt(6.0 / (6 + 32));
        Assert.InRange(Of("w").abs().max().item<float>(), 0.9 * glorot, glorot * (1 + 1e-6));
        for (int d = 0; d < 2; d++) // ONNX's R[d] is Keras' recurrent kernel transposed: orthonormal columns
            Assert.True(Of("r")[d].t().matmul(Of("r")[d]).allclose(eye(8), atol: 1e-5), $"direction {d}");
        var forget = zeros(2, 64);
        forget.narrow(1, 16, 8).fill_(1); // blocks i, o, f, c of the input half
        Assert.True(Of("b").eq(forget).all().item<bool>());
    }

    [Fact]
    public void PyTorch_style_follows_the_default_layer_initializers()
    {
        using var model = OnnxImporter.Import(TestPaths.Model("mobilenet_tiny.onnx"), new ImportOptions(WeightInit.Fresh, 3));
        foreach (var p in model.ParameterInfos)
        {
            var t = model.TensorOf(p).detach();
            switch (p.Role)
            {
                case ParameterRole.Weight or ParameterRole.Bias:
                    // U(±1/√fan_in) with fan_in = in/groups·∏kernel: every value inside, the extremes near the bound.
                    double bound = 1 / Math.Sqrt(p.FanIn);
                    double max = t.abs().max().item<float>();
                    Assert.InRange(max, p.Count > 100 ? 0.9 * bound : 0, bound * (1 + 1e-6));
                    Assert.InRange(Math.Abs(t.mean().item<float>()), 0, p.Count > 100 ? 0.2 * bound : bound);
                    break;
                case ParameterRole.NormScale or ParameterRole.RunningVar:
                    Assert.True(t.eq(1).all().item<bool>(), p.Name);
                    break;
                case ParameterRole.NormBias or ParameterRole.RunningMean:
                    Assert.True(t.eq(0).all().item<bool>(), p.Name);
                    break;
            }
        }
        var depthwise = model.ParameterInfos.First(p => p.Kind == LayerKind.Conv && p.Groups > 1 && p.Role == ParameterRole.Weight);
        Assert.Equal(depthwise.Shape[2] * depthwise.Shape[3], depthwise.FanIn); // one input channel per group
    }

    [Fact]
    public void Keras_producers_get_glorot_kernels_and_zero_biases()
    {
        static InitStyle For(string producer) =>
            Initialization.StyleFor(OnnxGradSign.Onnx.Exporter.Recognize(new OnnxGradSign.Onnx.Proto.ModelProto { ProducerName = producer, Graph = new() }));
        Assert.Equal(InitStyle.Keras, For("tf2onnx"));
        Assert.Equal(InitStyle.Keras, For("keras2onnx"));
        Assert.Equal(InitStyle.PyTorch, For("pytorch"));
        Assert.Equal(InitStyle.PyTorch, For("some-other-tool"));

        using var model = OnnxImporter.Import(TestPaths.Model("resnet_tiny.onnx"), new ImportOptions(WeightInit.Keep));
        Initialization.Apply(model, InitStyle.Keras, 5);
        foreach (var p in model.ParameterInfos.Where(p => p.Kind is LayerKind.Conv or LayerKind.Linear))
        {
            var t = model.TensorOf(p).detach();
            if (p.Role == ParameterRole.Bias) Assert.True(t.eq(0).all().item<bool>(), p.Name);
            else
            {
                double limit = Math.Sqrt(6.0 / (p.FanIn + p.FanOut));
                Assert.InRange(t.abs().max().item<float>(), 0.9 * limit, limit * (1 + 1e-6));
            }
        }
    }
}
