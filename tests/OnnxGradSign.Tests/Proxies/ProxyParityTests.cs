using System.Text.Json;
using OnnxGradSign.Data;
using OnnxGradSign.Import;
using OnnxGradSign.Proxies;
using OnnxGradSign.Tests.Verification;

namespace OnnxGradSign.Tests.Proxies;

/// <summary>
/// Every peer proxy against tools/reference/proxies.py (our Python implementations of the published definitions, run on the PyTorch
/// modules that models/ holds, same weights and batch, float64): relative difference ≤ 1e-4, synflow ≤ 1e-9.
/// </summary>
public class ProxyParityTests
{
    private static readonly Dictionary<string, Dictionary<string, JsonElement>> Reference =
        JsonSerializer.Deserialize<Dictionary<string, Dictionary<string, JsonElement>>>(
            File.ReadAllText(Path.Combine(TestPaths.Tools, "reference", "expected_proxies.json")))!;

    private static readonly Dataset Sample = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 64);

    /// <summary>The image models: the proxy reference runs on the Fashion-MNIST sample (text has its own GradSign parity).</summary>
    public static IEnumerable<object[]> Models() => ExampleModelTests.TrainingExports().Where(f => Reference.ContainsKey((string)f[0]));

    [Theory]
    [MemberData(nameof(Models))]
    public void Every_proxy_matches_the_reference(string file)
    {
        var proxies = ProxyCatalog.All.Where(p => p.Name != "gradsign").ToList(); // gradsign has its own parity test
        var record = new Scorer(new ScoreOptions { Init = WeightInit.Keep, Float64 = true, Proxy = string.Join(",", proxies.Select(p => p.Name)) }).Score(TestPaths.Model(file), Sample);
        Assert.Equal(ScoreRecord.Ok, record.Status);
        var expected = Reference[file];
        foreach (var proxy in proxies.Select(p => p.Name))
        {
            double? ours = proxy == "params" ? record.Params : record.Score(proxy);
            Assert.True(ours is not null, $"{file}: {proxy} missing ({string.Join("; ", record.Warnings)})");
            if (expected[proxy].ValueKind == JsonValueKind.Null)
            {
                // The reference writes null for a non-finite value; ours must be that value, −∞ (a singular NASWOT kernel).
                Assert.Equal(double.NegativeInfinity, ours!.Value);
                continue;
            }
            double reference = expected[proxy].GetDouble();
            double tolerance = proxy == "synflow" ? 1e-9 : 1e-4;
            // meco of a rank-deficient correlation can be rounding noise around 0: compare it absolutely there.
            double allowed = tolerance * Math.Abs(reference) + (proxy == "meco" ? 1e-9 : 0);
            Assert.True(Math.Abs(ours!.Value - reference) <= allowed, $"{file}: {proxy} = {ours} but the reference says {reference}");
        }
    }

    [Theory]
    [InlineData("mobilenet_tiny.onnx")]
    [InlineData("vit_tiny.onnx")]
    public void Every_proxy_runs_in_the_default_float32_on_fresh_weights(string file)
    {
        var record = new Scorer(new ScoreOptions { BatchSize = 16, Proxy = "all" }).Score(TestPaths.Model(file), Sample);
        Assert.Equal(ScoreRecord.Ok, record.Status);
        Assert.Empty(record.Warnings);
        foreach (var proxy in ProxyCatalog.All.Where(p => p.Name != "params"))
            Assert.True(record.Score(proxy.Name) is { } v && !double.IsNaN(v), $"{file}: {proxy.Name} = {record.Score(proxy.Name)}");
    }
}
