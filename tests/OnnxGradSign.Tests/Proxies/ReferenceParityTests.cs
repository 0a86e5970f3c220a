using System.Text.Json;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using TorchSharp;
using static TorchSharp.torch;
using OnnxGradSign.Proxies;
using OnnxGradSign.Tests.Gradients;
using OnnxGradSign.Tests.Verification;

namespace OnnxGradSign.Tests.Proxies;

/// <summary>
/// `score --init keep` against tools/reference/gradsign.py (our Python implementation of the official algorithm, run on the same
/// PyTorch modules, weights and batch), image models and the token-id text classifier alike. The eval-mode export is a different network (BatchNorm folded), so it is not compared.
/// </summary>
public class ReferenceParityTests
{
    private sealed record Expected(double Sum, double SumFloat64, string ExportMode);

    /// <summary>The reference for models/ (on the Fashion-MNIST sample) and for models/text (on its token ids), keyed by path under models/.</summary>
    private static readonly Dictionary<string, Expected> Reference = new[] { ("expected_gradsign.json", ""), ("expected_gradsign_text.json", "text") }
        .SelectMany(r => JsonSerializer.Deserialize<Dictionary<string, Expected>>(File.ReadAllText(Path.Combine(TestPaths.Tools, "reference", r.Item1)),
            new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!.Select(e => (Path.Combine(r.Item2, e.Key), e.Value)))
        .ToDictionary();

    /// <summary>Each model's default data, the sample in its own folder, exactly as `score models/` picks it.</summary>
    private static readonly DataChoice Samples = DataChoice.Resolve(null, [TestPaths.Models],
        ExampleModelTests.TrainingExports().Select(f => TestPaths.Model((string)f[0])), 64);

    /// <summary>Each training export with the loop engine, and with the vectorized one where it serves the model (no recurrent layer).</summary>
    public static IEnumerable<object[]> Compared() =>
        ExampleModelTests.TrainingExports().SelectMany(f => ExampleModelTests.Vectorizable((string)f[0])
            ? new[] { new object[] { f[0], EngineKind.Loop }, [f[0], EngineKind.Vectorized] }
            : [[f[0], EngineKind.Loop]]);

    private static double Score(string file, EngineKind engine, bool float64) =>
        new Scorer(new ScoreOptions { Init = WeightInit.Keep, Engine = engine, Float64 = float64 }).Score(TestPaths.Model(file), Samples.For(TestPaths.Model(file)))
            .Score("gradsign") ?? throw new Xunit.Sdk.XunitException($"{file} did not score");

    [Theory]
    [MemberData(nameof(Compared))]
    public void Float64_scores_equal_the_reference(string file, EngineKind engine) =>
        Assert.Equal(Reference[file].SumFloat64, Score(file, engine, float64: true));

    [Theory]
    [MemberData(nameof(Compared))]
    public void Float32_scores_differ_from_the_exact_reference_only_by_near_zero_sign_flips(string file, EngineKind engine)
    {
        // float32 changes GradSign only by flipping near-zero per-sample entries (NearZeroGradients: F of them), each flip moving the
        // score by at most 2: |S32 − S64| ≤ 2F. PyTorch's float32 reference flips its own, so ours and it are within 4F, on any CPU.
        var expected = Reference[file];
        double ours = Score(file, engine, float64: false);
        long nearZero = NearZeroEntries(file);
        Assert.InRange(Math.Abs(ours - expected.SumFloat64), 0, 2.0 * nearZero);
        Assert.InRange(Math.Abs(ours - expected.Sum), 0, 4.0 * nearZero);
    }

    private static long NearZeroEntries(string file)
    {
        var path = TestPaths.Model(file);
        var model = OnnxModel.Load(path);
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep, 0));
        var (x, y) = InputPreparation.Batch(model, Samples.For(path), new ScoreOptions().BatchSize, Normalization.None, 0);
        return NearZeroGradients.Count(imported, x, y);
    }

    [Fact]
    public void Ranking_equals_the_reference_ranking()
    {
        var files = ExampleModelTests.TrainingExports().Select(f => (string)f[0]).ToList();
        var ours = files.OrderByDescending(f => Score(f, EngineKind.Auto, float64: true)).ToList();
        var theirs = files.OrderByDescending(f => Reference[f].SumFloat64).ToList();
        Assert.Equal(theirs, ours);
    }
}
