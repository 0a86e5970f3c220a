using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Tests.Verification;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Gradients;

/// <summary>The vectorized engine computes the loop engine's per-weight sign sums: exactly in float64; in float32 they differ only
/// where a per-sample gradient entry is within rounding of zero.</summary>
public class EngineAgreementTests
{
    private const long Seed = 11;

    private static readonly Dataset Sample = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 32);

    private static (Tensor Loop, Tensor Vectorized) SignSums(string file, ScalarType type)
    {
        Tensor Run(EngineKind engine)
        {
            using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Fresh, Seed));
            model.to(type);
            var sample = TestPaths.SampleFor(file, 32);
            var x = sample.X.is_floating_point() ? sample.X.to_type(type) : sample.X; // token ids stay integers
            var sums = PerSampleGradients.Compute(model, x, sample.Y, new GradientSettings(), engine);
            Assert.Equal(engine, sums.Engine);
            return cat(sums.Parameters.Select(a => a.SignSum.flatten()).ToArray());
        }
        return (Run(EngineKind.Loop), Run(EngineKind.Vectorized));
    }

    [Theory]
    [MemberData(nameof(ExampleModelTests.VectorizableFiles), MemberType = typeof(ExampleModelTests))]
    public void Engines_agree_exactly_in_float64(string file)
    {
        var (loop, vectorized) = SignSums(file, ScalarType.Float64);
        Assert.True(loop.eq(vectorized).all().item<bool>(), $"{file}: {loop.ne(vectorized).sum().item<long>()} of {loop.NumberOfElements} sign sums differ");
    }

    [Theory]
    [MemberData(nameof(ExampleModelTests.VectorizableFiles), MemberType = typeof(ExampleModelTests))]
    public void Engines_differ_in_float32_only_by_near_zero_sign_flips(string file)
    {
        var (loop, vectorized) = SignSums(file, ScalarType.Float32);
        // Only the F near-zero per-sample entries can take a different sign in the two engines, each moving its weight's sum by at
        // most 2, so Σ|ΔS| ≤ 2F whatever the CPU's rounding.
        using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Fresh, Seed));
        var sample = TestPaths.SampleFor(file, 32);
        long nearZero = NearZeroGradients.Count(model, sample.X, sample.Y);
        Assert.InRange((loop - vectorized).abs().sum().item<double>(), 0, 2.0 * nearZero);
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

/// <summary>Per-sample convolution gradients for every geometry the converter emits, against the loop engine in float64.</summary>
public class ConvolutionGeometryTests
{
    [Theory]
    [InlineData(new long[] { 3, 4, 9, 9 }, new long[] { 6, 4, 3, 3 }, 1, new long[] { 1, 1 }, new long[] { 1, 1, 1, 1 }, new long[] { 1, 1 })]
    [InlineData(new long[] { 3, 4, 9, 10 }, new long[] { 6, 4, 3, 2 }, 1, new long[] { 2, 3 }, new long[] { 0, 1, 2, 0 }, new long[] { 1, 1 })]
    [InlineData(new long[] { 3, 4, 11, 11 }, new long[] { 4, 2, 3, 3 }, 2, new long[] { 1, 2 }, new long[] { 2, 2, 2, 2 }, new long[] { 2, 3 })]
    [InlineData(new long[] { 3, 6, 8, 8 }, new long[] { 12, 1, 3, 3 }, 6, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, new long[] { 1, 1 })]
    [InlineData(new long[] { 3, 4, 12 }, new long[] { 5, 4, 3 }, 1, new long[] { 2 }, new long[] { 1, 0 }, new long[] { 2 })]
    [InlineData(new long[] { 2, 2, 5, 6, 5 }, new long[] { 3, 2, 2, 3, 2 }, 1, new long[] { 1, 2, 1 }, new long[] { 0, 1, 1, 1, 0, 0 }, new long[] { 1, 1, 2 })]
    public void Vectorized_equals_loop(long[] input, long[] weight, long group, long[] strides, long[] pads, long[] dilations)
    {
        int spatial = input.Length - 2;
        var axes = Enumerable.Range(2, spatial).Select(a => (long)a).ToArray();
        var graph = new OnnxGradSign.Tests.Import.TestGraph(13).Input("x", input).RandomInitializer("w", weight)
            .Node("Conv", ["x", "w"], ["y"], ("group", group), ("strides", strides), ("pads", pads), ("dilations", dilations))
            .Node("ReduceMean", "y", "logits", ("axes", axes), ("keepdims", 0L))
            .Output("logits");
        using var model = graph.Import();
        model.to(ScalarType.Float64);
        var x = randn(input, ScalarType.Float64, generator: new Generator(3));
        var y = randint(0, weight[0], [input[0]], generator: new Generator(4));
        var loop = PerSampleGradients.Compute(model, x, y, new GradientSettings(), EngineKind.Loop);
        var vectorized = PerSampleGradients.Compute(model, x, y, new GradientSettings(), EngineKind.Vectorized);
        Assert.Equal(EngineKind.Vectorized, vectorized.Engine);
        Assert.True(loop.Parameters[0].SignSum.eq(vectorized.Parameters[0].SignSum).all().item<bool>());
        Assert.Equal(loop.Parameters[0].Zeros, vectorized.Parameters[0].Zeros);
    }
}
