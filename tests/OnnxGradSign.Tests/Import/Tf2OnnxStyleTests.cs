using System.Diagnostics;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using OnnxGradSign.Verification;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

/// <summary>
/// Graphs shaped like tf2onnx exports of Keras models (tools/export_tf2onnx_style.py, committed in models/tf2onnx/): NHWC input
/// with the Transposes tf2onnx leaves, SAME padding as explicit asymmetric pads and as auto_pad, inference-form BatchNorm,
/// depthwise Conv, ReduceMean / GlobalAveragePool pooling and Dense as MatMul by an [in, out] kernel plus Add.
/// </summary>
public class Tf2OnnxStyleTests
{
    public static readonly string[] Files = ["keras_cnn.onnx", "keras_cnn_nhwc_conv.onnx", "keras_mlp.onnx"];

    public static IEnumerable<object[]> Models() => Files.Select(f => new object[] { f });

    private static string Model(string file) => Path.Combine(TestPaths.Models, "tf2onnx", file);

    private static readonly Dataset Sample = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 64);

    [PythonOnnxFact]
    public void The_script_regenerates_the_committed_files_byte_for_byte()
    {
        var dir = Directory.CreateTempSubdirectory("tf2onnx-style-");
        try
        {
            var (code, output) = PythonOnnxFactAttribute.Run($"\"{Path.Combine(TestPaths.Tools, "export_tf2onnx_style.py")}\" --out \"{dir.FullName}\"");
            Assert.True(code == 0, output);
            foreach (var file in Files)
                Assert.True(File.ReadAllBytes(Path.Combine(dir.FullName, file)).SequenceEqual(File.ReadAllBytes(Model(file))), $"{file} differs from models/tf2onnx/{file}");
        }
        finally
        {
            dir.Delete(true);
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Verify_matches_onnx_runtime(string file)
    {
        foreach (long batch in new long[] { 1, 3 })
        {
            var result = ModelVerifier.Verify(Model(file), new Tolerance(), new InputSpec(batch), seed: 7);
            Assert.True(result.Passed, $"{file} (batch {batch}): {result.Error} " +
                string.Join("; ", result.Outputs.Select(o => $"{o.Output} max abs {o.MaxAbsoluteError} max rel {o.MaxRelativeError}")));
        }
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Inspect_reports_keras_initialization_and_nothing_unsupported(string file)
    {
        var report = ModelInspector.Inspect(Model(file));
        Assert.Null(report.Error);
        Assert.Empty(report.Unsupported);
        Assert.Equal("tf2onnx", report.Producer);
        Assert.Equal(nameof(InitStyle.Keras), report.InitStyle);
        Assert.Equal(["unk__N", "28", "28", "1"], report.Inputs[0].Shape);
    }

    /// <summary>Keras' fans of a kernel, from its ONNX layout: Dense [in, out]; Conv [out, in, kh, kw]; depthwise [C·mult, 1, kh, kw].</summary>
    /// <remarks>With multiplier 1 the depthwise rule has the same fan_in + fan_out as the plain Conv rule (9·C + 9); keras_cnn_nhwc_conv's
    /// multiplier 2 is what tells them apart (72 + 18 against 9 + 144).</remarks>
    private static (long FanIn, long FanOut) KerasFans(ParameterInfo p)
    {
        if (p.Kind == LayerKind.Linear) return (p.Shape[0], p.Shape[1]);
        long receptive = p.Shape[2] * p.Shape[3];
        if (p.Groups > 1) return (receptive * p.Groups, receptive * (p.Shape[0] / p.Groups)); // kh·kw·in_channels, kh·kw·depth_multiplier
        return (receptive * p.Shape[1], receptive * p.Shape[0]);
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Fresh_init_follows_keras_rules(string file)
    {
        using var model = OnnxImporter.Import(Model(file), new ImportOptions(WeightInit.Fresh, 11));
        Assert.NotEmpty(model.ParameterInfos);
        foreach (var p in model.ParameterInfos)
        {
            var t = model.TensorOf(p).detach().to_type(ScalarType.Float64);
            switch (p.Role)
            {
                case ParameterRole.Weight:
                    var (fanIn, fanOut) = KerasFans(p);
                    double limit = Math.Sqrt(6.0 / (fanIn + fanOut)); // glorot_uniform
                    Assert.InRange(t.abs().max().item<double>(), 0.9 * limit, limit * (1 + 1e-6));
                    break;
                case ParameterRole.Bias or ParameterRole.NormBias or ParameterRole.RunningMean:
                    Assert.True(t.eq(0).all().item<bool>(), $"{p.Name} should be zeros");
                    break;
                case ParameterRole.NormScale or ParameterRole.RunningVar:
                    Assert.True(t.eq(1).all().item<bool>(), $"{p.Name} should be ones");
                    break;
                default:
                    Assert.Fail($"{p.Name}: unexpected role {p.Role}");
                    break;
            }
        }
        if (file != "keras_mlp.onnx")
        {
            var depthwise = model.ParameterInfos.Single(p => p.Name == "depthwise_conv2d/depthwise_kernel");
            Assert.Equal(8, depthwise.Groups);
        }
        if (file == "keras_cnn.onnx")
            Assert.Equal(4, model.ParameterInfos.Count(p => p.Kind == LayerKind.Normalization));
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Dense_matmul_kernel_and_add_bias_are_linear_parameters(string file)
    {
        using var model = OnnxImporter.Import(Model(file), new ImportOptions(WeightInit.Keep));
        foreach (var prefix in file == "keras_mlp.onnx" ? new[] { "dense", "dense_1" } : ["dense"])
        {
            var kernel = model.ParameterInfos.Single(p => p.Name == prefix + "/kernel");
            var bias = model.ParameterInfos.Single(p => p.Name == prefix + "/bias");
            Assert.Equal((LayerKind.Linear, ParameterRole.Weight), (kernel.Kind, kernel.Role));
            Assert.Equal((LayerKind.Linear, ParameterRole.Bias), (bias.Kind, bias.Role));
            Assert.Equal((kernel.Shape[0], kernel.Shape[1]), (kernel.FanIn, kernel.FanOut)); // [in, out]
            Assert.True(kernel.IsLayerWeight);
            Assert.True(model.Parameter(kernel).requires_grad);
            Assert.True(model.Parameter(bias).requires_grad);
        }
    }

    [Fact]
    public void Nchw_data_is_permuted_into_the_models_nhwc_layout()
    {
        var x = Sample.X.narrow(0, 0, 4);
        Assert.Equal([4L, 1, 28, 28], x.shape);
        var fitted = InputPreparation.Fit(x, [-1, 28, 28, 1], Normalization.None, "m", "input_1");
        Assert.Equal([4L, 28, 28, 1], fitted.shape);
        Assert.True(fitted.eq(x.permute(0, 2, 3, 1)).all().item<bool>());
    }

    [Theory]
    [MemberData(nameof(Models))]
    public void Scoring_on_nhwc_data_is_finite_and_both_engines_agree_in_float64(string file)
    {
        var settings = new ScoreOptions { BatchSize = 16, Float64 = true, PerLayer = true };
        var loop = new Scorer(settings with { Engine = EngineKind.Loop }).Score(Model(file), Sample);
        var vectorized = new Scorer(settings with { Engine = EngineKind.Vectorized }).Score(Model(file), Sample);
        Assert.True(loop.Status == ScoreRecord.Ok, loop.Error);
        Assert.True(vectorized.Status == ScoreRecord.Ok, vectorized.Error);
        Assert.Equal("loop", loop.EngineUsed);
        Assert.Equal("vectorized", vectorized.EngineUsed);
        double score = loop.Score("gradsign")!.Value;
        Assert.True(double.IsFinite(score) && score > 0, $"{file}: gradsign {score}");
        Assert.Equal(score, vectorized.Score("gradsign")!.Value);
        // Sign sums per layer, not only their total: every scored layer agrees exactly.
        Assert.Equal(loop.Layers!.Select(l => (l.Parameter, l.Score)), vectorized.Layers!.Select(l => (l.Parameter, l.Score)));
        Assert.Empty(loop.Warnings);
    }
}

/// <summary>A fact that needs /usr/bin/python3 with the onnx package; skipped, saying which is missing, where it is not.</summary>
public sealed class PythonOnnxFactAttribute : FactAttribute
{
    public const string Python = "/usr/bin/python3";

    public PythonOnnxFactAttribute()
    {
        if (!File.Exists(Python)) Skip = $"{Python} not found";
        else if (Run("-c \"import onnx, numpy\"").Code != 0) Skip = $"{Python} lacks the onnx or numpy package";
    }

    public static (int Code, string Output) Run(string arguments)
    {
        using var process = Process.Start(new ProcessStartInfo(Python, arguments) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }
}
