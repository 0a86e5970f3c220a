using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Tests.Verification;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Gradients;

/// <summary>The vectorized engine computes the loop engine's per-weight sign sums: exactly in float64; in float32 at most 0.01% of per-sample signs differ.</summary>
public class EngineAgreementTests
{
    private static readonly Dataset Sample = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 32);

    private static (Tensor Loop, Tensor Vectorized) SignSums(string file, ScalarType type)
    {
        Tensor Run(EngineKind engine)
        {
            using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Fresh, 11));
            model.to(type);
            var sums = PerSampleGradients.Compute(model, Sample.X.to_type(type), Sample.Y, new GradientSettings(), engine);
            Assert.Equal(engine, sums.Engine);
            return cat(sums.Parameters.Select(a => a.SignSum.flatten()).ToArray());
        }
        return (Run(EngineKind.Loop), Run(EngineKind.Vectorized));
    }

    [Theory]
    [MemberData(nameof(ExampleModelTests.Files), MemberType = typeof(ExampleModelTests))]
    public void Engines_agree_exactly_in_float64(string file)
    {
        var (loop, vectorized) = SignSums(file, ScalarType.Float64);
        Assert.True(loop.eq(vectorized).all().item<bool>(), $"{file}: {loop.ne(vectorized).sum().item<long>()} of {loop.NumberOfElements} sign sums differ");
    }

    [Theory]
    [MemberData(nameof(ExampleModelTests.Files), MemberType = typeof(ExampleModelTests))]
    public void Engines_agree_on_almost_every_weight_in_float32(string file)
    {
        var (loop, vectorized) = SignSums(file, ScalarType.Float32);
        // Each per-sample sign that differs moves its weight's sum by 1 or 2, so Σ|ΔS| bounds the number of differing signs.
        double differing = (loop - vectorized).abs().sum().item<double>() / (loop.NumberOfElements * Sample.Count);
        Assert.True(differing <= 1e-4, $"{file}: up to {differing:P4} of per-sample signs differ");
    }

    [Fact]
    public void A_small_memory_limit_chunks_the_batch_without_changing_the_result()
    {
        using var model = OnnxImporter.Import(TestPaths.Model("resnet_tiny.onnx"), new ImportOptions(WeightInit.Fresh, 2));
        model.to(ScalarType.Float64);
        var x = Sample.X.to_type(ScalarType.Float64);
        var whole = PerSampleGradients.Compute(model, x, Sample.Y, new GradientSettings(), EngineKind.Vectorized);
        var chunked = PerSampleGradients.Compute(model, x, Sample.Y, new GradientSettings(MaxMemoryBytes: 1), EngineKind.Vectorized);
        for (int k = 0; k < whole.Parameters.Count; k++)
            Assert.True(whole.Parameters[k].SignSum.eq(chunked.Parameters[k].SignSum).all().item<bool>());
    }
}
