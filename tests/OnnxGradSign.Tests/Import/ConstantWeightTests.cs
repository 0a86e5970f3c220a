using System.Text.Json;
using OnnxGradSign.Data;
using OnnxGradSign.Import;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using OnnxGradSign.Verification;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import;

/// <summary>
/// Weights that are not initializers: models/paddle (paddle2onnx-style Constant-node parameters, conv biases added through
/// Reshape/Unsqueeze, a float16 weight behind a Cast) and models/light (ONNX's "light" form: ConstantOfShape placeholders),
/// both written by tools/export_constant_weight_models.py. They import as trainable parameters, verify, re-initialize and score.
/// </summary>
public class ConstantWeightTests
{
    private const string Paddle = "paddle/paddle_cnn.onnx";
    private const string Light = "light/resnet_tiny_light.onnx";

    private sealed record Entry(string File, string Producer, long Params);

    private static long ManifestParams(string file) => JsonSerializer.Deserialize<List<Entry>>(
        File.ReadAllText(TestPaths.Model(Path.Combine(Path.GetDirectoryName(file)!, "manifest.json"))),
        new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower })!.Single(e => e.File == Path.GetFileName(file)).Params;

    private static float[] Values(ImportedModel model, ParameterInfo p) => model.TensorOf(p).detach().flatten().data<float>().ToArray();

    [Theory]
    [InlineData(Paddle)]
    [InlineData(Light)]
    public void Verify_matches_onnx_runtime_and_every_weight_is_a_trainable_parameter(string file)
    {
        foreach (long batch in new long[] { 1, 3 })
        {
            var result = ModelVerifier.Verify(TestPaths.Model(file), new Tolerance(), new InputSpec(batch), seed: 5);
            Assert.True(result.Passed, $"{file} (batch {batch}): {result.Error}");
        }
        using var model = OnnxImporter.Import(TestPaths.Model(file), new ImportOptions(WeightInit.Keep));
        Assert.Equal(ManifestParams(file), model.ParameterInfos.Where(p => p.Trainable).Sum(p => p.Count));
        Assert.All(model.ParameterInfos.Where(p => p.Trainable), p => Assert.True(model.Parameter(p).requires_grad, p.Name));
    }

    [Fact]
    public void Paddle_conv_biases_added_after_the_conv_belong_to_their_layer()
    {
        using var model = OnnxImporter.Import(TestPaths.Model(Paddle), new ImportOptions(WeightInit.Keep));
        var convs = model.ParameterInfos.Where(p => p.Kind == LayerKind.Conv).ToList();
        Assert.Equal(["conv2d_0.w_0", "conv2d_1.w_0", "conv2d_2.w_0"], convs.Where(p => p.Role == ParameterRole.Weight).Select(p => p.Name));
        Assert.Equal(["conv2d_0.b_0", "conv2d_1.b_0", "conv2d_2.b_0"], convs.Where(p => p.Role == ParameterRole.Bias).Select(p => p.Name));
        Assert.Contains(model.ParameterInfos, p => (p.Name, p.Kind, p.Role) == ("linear_0.b_0", LayerKind.Linear, ParameterRole.Bias));
    }

    [Fact]
    public void Paddle_fresh_init_follows_paddles_defaults()
    {
        using var model = OnnxImporter.Import(TestPaths.Model(Paddle), new ImportOptions(WeightInit.Fresh, 4));
        foreach (var p in model.ParameterInfos.Where(p => p.Trainable))
        {
            var t = model.TensorOf(p).detach();
            switch (p.Kind, p.Role)
            {
                case (_, ParameterRole.Bias):
                    Assert.All(Values(model, p), v => Assert.Equal(0f, v));
                    break;
                case (LayerKind.Conv, ParameterRole.Weight):
                    // Normal(0, √(2/(in_channels·∏k))): conv2d_2 (128 values, std 0.5) is large enough to measure.
                    double std = Math.Sqrt(2.0 / (p.FanIn * p.Groups));
                    if (p.Count >= 128) Assert.InRange(t.std().item<float>(), 0.8 * std, 1.2 * std);
                    Assert.True(t.abs().max().item<float>() < 5 * std);
                    break;
                case (LayerKind.Linear, ParameterRole.Weight):
                    double bound = Math.Sqrt(6.0 / (16 + 10)); // Xavier-uniform over [16, 10]
                    Assert.InRange(t.abs().max().item<float>(), 0.9 * bound, bound);
                    break;
            }
        }
    }

    [Fact]
    public void Paddle_style_embeddings_and_transposed_convs_draw_xavier_uniform()
    {
        using var model = new TestGraph(13, "PaddlePaddle").Input("ids", DataType.Int64, 2, 5).Input("x", 1, 4, 5, 5)
            .RandomInitializer("embedding_0.w_0", 50, 8).RandomInitializer("conv2d_transpose_0.w_0", 4, 3, 3, 3)
            .Node("Gather", ["embedding_0.w_0", "ids"], ["e"])
            .Node("ConvTranspose", ["x", "conv2d_transpose_0.w_0"], ["y"])
            .Output("e").Output("y")
            .Import(WeightInit.Fresh);
        var embedding = model.ParameterInfos.Single(p => p.Kind == LayerKind.Embedding);
        Assert.InRange(Values(model, embedding).Max(Math.Abs), 0.9 * Math.Sqrt(6.0 / 58), Math.Sqrt(6.0 / 58));
        // paddle's fans of [in, out/g, k, k]: fan_in = out/g·k², fan_out = in·k².
        var transposed = model.ParameterInfos.Single(p => p.Kind == LayerKind.ConvTranspose);
        Assert.InRange(Values(model, transposed).Max(Math.Abs), 0.9 * Math.Sqrt(6.0 / (27 + 36)), Math.Sqrt(6.0 / (27 + 36)));
    }

    [Fact]
    public void Light_placeholders_keep_their_names_and_fresh_init_restores_the_network()
    {
        using var kept = OnnxImporter.Import(TestPaths.Model(Light), new ImportOptions(WeightInit.Keep));
        using var original = OnnxImporter.Import(TestPaths.Model("resnet_tiny.onnx"), new ImportOptions(WeightInit.Keep));
        Assert.Equal(original.ParameterInfos.Select(p => (p.Name, p.Kind, p.Role)), kept.ParameterInfos.Select(p => (p.Name, p.Kind, p.Role)));
        // As ONNX's tool does, only tensors of more than 128 values became placeholders.
        Assert.All(kept.ParameterInfos.Where(p => p.Count > 128), p => Assert.All(Values(kept, p), v => Assert.Equal(0.5f, v)));

        // Fresh weights are drawn per (seed, name): the light file scores exactly like the network it was made from.
        var data = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 16);
        var settings = new ScoreOptions { BatchSize = 16, Seeds = [3] };
        var light = new Scorer(settings).Score(TestPaths.Model(Light), data);
        var full = new Scorer(settings).Score(TestPaths.Model("resnet_tiny.onnx"), data);
        Assert.Equal(ScoreRecord.Ok, light.Status);
        Assert.Equal(full.Score("gradsign"), light.Score("gradsign"));
    }

    [Fact]
    public void Paddle_model_scores_on_the_sample_its_folder_inherits()
    {
        var run = new OnnxGradSign.Runs.ScoreRun(new ScoreOptions { BatchSize = 16 }, [TestPaths.Models + "/paddle", TestPaths.Model(Paddle)]);
        var record = run.Score([TestPaths.Model(Paddle)]).Single();
        Assert.Equal(ScoreRecord.Ok, record.Status);
        Assert.True(record.Score("gradsign") > 0);
        Assert.Equal(522, record.Params);
    }

    [Fact]
    public void A_paddle_file_without_producer_name_is_recognized_by_its_names()
    {
        // Some paddle2onnx versions leave producer_name empty; Paddle's parameter names (conv2d_0.w_0) still say where it came from.
        var proto = OnnxGradSign.Onnx.Proto.ModelProto.Parser.ParseFrom(File.ReadAllBytes(TestPaths.Model(Paddle)));
        Assert.Equal(OnnxGradSign.Onnx.ExporterFamily.Paddle, OnnxGradSign.Onnx.Exporter.Recognize(proto).Family);
        proto.ProducerName = "";
        proto.ProducerVersion = "";
        var exporter = OnnxGradSign.Onnx.Exporter.Recognize(proto);
        Assert.Equal(OnnxGradSign.Onnx.ExporterFamily.Paddle, exporter.Family);
        Assert.Contains("no producer_name", exporter.Evidence);
        Assert.Equal(InitStyle.Paddle, Initialization.StyleFor(exporter));
        proto.Graph.Initializer.Clear();
        proto.Graph.Node.Clear();
        Assert.Equal(OnnxGradSign.Onnx.ExporterFamily.Unknown, OnnxGradSign.Onnx.Exporter.Recognize(proto).Family);
    }

    [Fact]
    public void Inspect_names_the_family_and_the_rules_it_applies()
    {
        var paddle = ModelInspector.Inspect(TestPaths.Model(Paddle));
        Assert.Equal("PaddlePaddle (paddle2onnx)", paddle.Family);
        Assert.Equal(nameof(InitStyle.Paddle), paddle.InitStyle);
        Assert.Contains(paddle.Rules, r => r.StartsWith("fresh init: Paddle defaults"));
        Assert.Contains(paddle.Rules, r => r.StartsWith("12 parameter tensor(s) come from Constant"));
        Assert.Contains(paddle.Rules, r => r.StartsWith("input 'x': NCHW images"));

        var light = ModelInspector.Inspect(TestPaths.Model(Light));
        Assert.Equal("PyTorch (torch.onnx)", light.Family);
        Assert.Contains(light.Warnings, w => w.StartsWith("7 layer weight(s) hold one repeated value"));

        var text = ModelInspector.Inspect(TestPaths.Model("text/text_classifier.onnx"));
        Assert.Contains(text.Rules, r => r.Contains("token ids") && r.Contains("below 1000"));
        var keras = ModelInspector.Inspect(TestPaths.Model("tf2onnx/keras_cnn.onnx"));
        Assert.Contains(keras.Rules, r => r.StartsWith("input 'input_1': NHWC images"));
    }
}
