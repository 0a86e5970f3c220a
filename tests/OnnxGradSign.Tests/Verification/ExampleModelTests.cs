using System.Text.Json;
using OnnxGradSign.Import;
using OnnxGradSign.Verification;

namespace OnnxGradSign.Tests.Verification;

/// <summary>Every example network in models/ and models/text matches ONNX Runtime and has PyTorch's parameter count.</summary>
public class ExampleModelTests
{
    public sealed record ManifestEntry(string File, string Architecture, string ExportMode, int Opset, long TorchParams, long Seed);

    /// <summary>The image examples' manifest and the text classifier's (models/text), files named relative to models/.</summary>
    public static IReadOnlyList<ManifestEntry> Manifest { get; } = new[] { "", "text" }.SelectMany(folder =>
        JsonSerializer.Deserialize<List<ManifestEntry>>(File.ReadAllText(TestPaths.Model(Path.Combine(folder, "manifest.json"))),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!
        .Select(m => m with { File = Path.Combine(folder, m.File) })).ToList();

    public static IEnumerable<object[]> Files() => Manifest.Select(m => new object[] { m.File });

    public static IEnumerable<object[]> TrainingExports() => Manifest.Where(m => m.ExportMode == "training").Select(m => new object[] { m.File });

    /// <summary>Whether the vectorized engine serves the model's scored weights (a recurrent layer's are the loop engine's alone).</summary>
    public static bool Vectorizable(string file)
    {
        using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Keep));
        return OnnxGradSign.Gradients.PerSampleGradients.VectorizedUnsupported(
            OnnxGradSign.Gradients.PerSampleGradients.Scored(model, OnnxGradSign.Gradients.ParameterScope.Weights), new()) is null;
    }

    public static IEnumerable<object[]> VectorizableFiles() => Files().Where(f => Vectorizable((string)f[0]));

    [Theory]
    [MemberData(nameof(Files))]
    public void Verify_matches_onnx_runtime(string file)
    {
        foreach (long batch in new long[] { 1, 3 })
        {
            var result = ModelVerifier.Verify(TestPaths.Model(file), new Tolerance(), new InputSpec(batch), seed: 7);
            Assert.True(result.Passed, $"{file} (batch {batch}): {result.Error} " +
                string.Join("; ", result.Outputs.Select(o => $"{o.Output} max abs {o.MaxAbsoluteError} max rel {o.MaxRelativeError}")));
        }
    }

    [Theory]
    [MemberData(nameof(TrainingExports))]
    public void Trainable_parameter_count_equals_pytorch(string file)
    {
        using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Keep));
        var expected = Manifest.Single(m => m.File == file).TorchParams;
        Assert.Equal(expected, model.ParameterInfos.Where(p => p.Trainable).Sum(p => p.Count));
    }

    [Fact]
    public void Matmul_linear_weights_are_parameters_not_buffers()
    {
        using var model = OnnxImporter.Import(TestPaths.Model("mlp_matmul.onnx"), new ImportOptions(WeightInit.Keep));
        var linear = model.ParameterInfos.Where(p => p.Kind == LayerKind.Linear).ToList();
        Assert.Equal(2, linear.Count(p => p.Role == ParameterRole.Weight));
        Assert.Equal(2, linear.Count(p => p.Role == ParameterRole.Bias));
        Assert.All(linear, p => Assert.True(model.Parameter(p).requires_grad));
    }

    [Fact]
    public void Beyond_tolerance_verify_measures_both_engines_against_float64()
    {
        // A zero tolerance fails on float32 rounding alone; the float64 comparison must then say so.
        var result = ModelVerifier.Verify(TestPaths.Model("nb201_a.onnx"), new Tolerance(0, 0), new InputSpec(4), seed: 3);
        var output = Assert.Single(result.Outputs);
        Assert.False(output.WithinTolerance);
        Assert.NotNull(output.Noise);
        Assert.InRange(output.Noise!.Ours, 0, 1e-4);
        Assert.True(output.Noise.WithinRounding, $"ours {output.Noise.Ours}, ONNX Runtime {output.Noise.OnnxRuntime}");
        Assert.False(new Float32Noise(OnnxRuntime: 1e-6, Ours: 1e-3).WithinRounding);
        Assert.Null(Assert.Single(ModelVerifier.Verify(TestPaths.Model("nb201_a.onnx"), new Tolerance(), new InputSpec(4), seed: 3).Outputs).Noise);
    }
}
