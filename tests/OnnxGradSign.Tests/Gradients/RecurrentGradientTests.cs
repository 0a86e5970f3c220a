using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Tests.Import;
using TorchSharp;
using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Tests.Gradients;

/// <summary>
/// Recurrent layers' weight gradients: autograd through the unrolled cells equals central differences, and the loop engine's
/// per-sample sign sums equal those of each sample's gradient taken inside a whole-batch forward (samples never mix).
/// </summary>
public class RecurrentGradientTests
{
    private const long Batch = 4, Seq = 6, InputSize = 3, Hidden = 2;

    /// <summary>A batch-first classifier: the recurrent layer's last states, both directions, flattened into logits [batch, 2H].</summary>
    private static ImportedModel Classifier(string op, params (string Name, object Value)[] attributes)
    {
        long gates = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 };
        var model = new TestGraph(14).Input("x", Batch, Seq, InputSize)
            .RandomInitializer("w", 2, gates * Hidden, InputSize).RandomInitializer("r", 2, gates * Hidden, Hidden)
            .RandomInitializer("b", 2, 2 * gates * Hidden)
            .Node(op, ["x", "w", "r", "b"], ["", "h"], [("hidden_size", Hidden), ("direction", "bidirectional"), ("layout", 1L), .. attributes])
            .Node("Flatten", "h", "logits")
            .Output("logits")
            .Import();
        model.to(ScalarType.Float64);
        return model;
    }

    public static TheoryData<string, string, object> Cells() => new()
    {
        { "LSTM", "input_forget", 0L }, { "LSTM", "input_forget", 1L }, { "GRU", "linear_before_reset", 0L }, { "GRU", "linear_before_reset", 1L },
        { "RNN", "activations", new[] { "Tanh", "Softsign" } },
    };

    [Theory]
    [MemberData(nameof(Cells))]
    public void Weight_gradients_equal_central_differences(string op, string attribute, object value)
    {
        using var model = Classifier(op, (attribute, value));
        var x = randn([Batch, Seq, InputSize], ScalarType.Float64, generator: new TorchSharp.torch.Generator(5));
        var y = tensor(new long[] { 0, 1, 2, 3 });
        double Loss() => F.cross_entropy(model.forward([x])[0], y).item<double>();
        var weights = model.ParameterInfos.Select(model.TensorOf).ToList();
        var grads = Autograd.Grad(F.cross_entropy(model.forward([x])[0], y), weights);
        const double step = 1e-6;
        using var noGrad = no_grad();
        for (int k = 0; k < weights.Count; k++)
        {
            var flat = weights[k].view(-1);
            var analytic = grads[k]!.view(-1);
            for (long e = 0; e < flat.shape[0]; e++)
            {
                double original = flat[e].item<double>();
                flat[e].fill_(original + step);
                double up = Loss();
                flat[e].fill_(original - step);
                double down = Loss();
                flat[e].fill_(original);
                // float64: the difference quotient is within about 1e-10 of the derivative (step squared times the third
                // derivative, plus rounding over the step).
                Assert.InRange(Math.Abs((up - down) / (2 * step) - analytic[e].item<double>()), 0, 1e-6);
            }
        }
    }

    [Theory]
    [InlineData("LSTM")]
    [InlineData("GRU")]
    public void The_loop_engines_sign_sums_equal_per_sample_gradients_of_one_batched_forward(string op)
    {
        using var model = Classifier(op);
        var x = randn([Batch, Seq, InputSize], ScalarType.Float64, generator: new TorchSharp.torch.Generator(9));
        var y = tensor(new long[] { 3, 0, 2, 1 });
        var loop = PerSampleGradients.Compute(model, x, y, new GradientSettings(), EngineKind.Auto);
        Assert.Equal(EngineKind.Loop, loop.Engine); // auto: recurrent weights are the loop engine's

        var scored = loop.Parameters.Select(a => a.Parameter).ToList();
        Assert.Equal(["w", "r"], scored.Select(p => p.Name));
        var logits = model.forward([x])[0];
        var expected = scored.Select(p => zeros_like(model.TensorOf(p))).ToList();
        for (long i = 0; i < Batch; i++)
        {
            var grads = Autograd.Grad(F.cross_entropy(logits[i].unsqueeze(0), y[i].unsqueeze(0)), scored.Select(model.TensorOf).ToList(), retainGraph: true);
            for (int k = 0; k < grads.Length; k++) expected[k] += grads[k]!.sign();
        }
        for (int k = 0; k < scored.Count; k++)
            Assert.True(loop.Parameters[k].SignSum.eq(expected[k]).all().item<bool>(), scored[k].Name);
    }

    [Fact]
    public void The_vectorized_engine_refuses_recurrent_weights_naming_them()
    {
        using var model = Classifier("LSTM");
        var error = Assert.Throws<NotSupportedException>(() =>
            PerSampleGradients.Compute(model, randn(Batch, Seq, InputSize, ScalarType.Float64), tensor(new long[] { 0, 1, 2, 3 }), new GradientSettings(), EngineKind.Vectorized));
        Assert.Contains("LSTM weight 'w'", error.Message);
        Assert.Contains("only the loop engine", error.Message);
    }
}
