using OnnxGradSign.Cli.Commands;
using OnnxGradSign.Data;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Tests.Proxies;

public class ScoreCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-score").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static int Run(params string[] args) => ScoreCommand.Create().Parse(args).Invoke();

    [Fact]
    public void A_mistyped_option_is_a_usage_error_not_a_missing_file()
    {
        var error = new StringWriter();
        var previous = Console.Error;
        Console.SetError(error);
        try
        {
            Assert.Equal(ExitCodes.Usage, Run("--proxi", "snip", TestPaths.Model("resnet_tiny.onnx")));
        }
        finally { Console.SetError(previous); }
        Assert.Contains("--proxi: not an option of 'score' (did you mean --proxy?)", error.ToString());
    }

    [Fact]
    public void A_bad_model_is_an_error_row_and_the_run_goes_on()
    {
        foreach (var f in new[] { "resnet_tiny.onnx", "nb201_c.onnx" }) File.Copy(TestPaths.Model(f), Path.Combine(_dir, f));
        File.WriteAllText(Path.Combine(_dir, "broken.onnx"), "not a model");
        var csv = Path.Combine(_dir, "scores.csv");
        Assert.Equal(ExitCodes.Ok, Run(_dir, "--data", TestPaths.Model("fashion-mnist-sample.npz"), "--batch-size", "8", "--format", "csv", "-o", csv));
        var lines = File.ReadAllLines(csv);
        Assert.Equal("model,sha256,status,error,gradsign,params,seconds,engine_used,loss_used,data_used,output_used,proxy,init,seeds,engine,data,batch_size,mean,std,reduce," +
            "param_scope,loss,output_name,outputs,input_shape,input_value,device,max_memory,per_layer,float64", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.Contains(lines, l => l.Contains("broken.onnx") && l.Contains(",error,"));
        Assert.Equal(2, lines.Count(l => l.Contains(",ok,")));

        Assert.Equal(ExitCodes.ModelFailed, Run(_dir, "--data", TestPaths.Model("fashion-mnist-sample.npz"), "--batch-size", "8", "--fail-fast", "-o", csv));
    }

    [Fact]
    public void Seeds_give_a_mean_and_a_spread()
    {
        var data = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 8);
        var settings = new ScoreOptions { BatchSize = 8 };
        var one = new Scorer(settings with { Seeds = [0] }).Score(TestPaths.Model("resnet_tiny.onnx"), data);
        var two = new Scorer(settings with { Seeds = [1] }).Score(TestPaths.Model("resnet_tiny.onnx"), data);
        var both = new Scorer(settings with { Seeds = [0, 1] }).Score(TestPaths.Model("resnet_tiny.onnx"), data);
        double a = one.Score("gradsign")!.Value, b = two.Score("gradsign")!.Value;
        Assert.Equal((a + b) / 2, both.Score("gradsign")!.Value, 6);
        Assert.Equal(Math.Abs(a - b) / Math.Sqrt(2), both.Score("gradsign_std")!.Value, 6);
        Assert.Null(one.Score("gradsign_std"));
    }

    [Fact]
    public void Mismatched_data_names_the_model_the_input_and_both_shapes()
    {
        var rgb = new Dataset(TorchSharp.torch.zeros(4, 3, 32, 32), TorchSharp.torch.zeros(4, TorchSharp.torch.ScalarType.Int64), "rgb");
        var record = new Scorer(new ScoreOptions { BatchSize = 4 }).Score(TestPaths.Model("resnet_tiny.onnx"), rgb);
        Assert.Equal(ScoreRecord.Failed, record.Status);
        Assert.Contains("resnet_tiny.onnx", record.Error);
        Assert.Contains("'input'", record.Error);
        Assert.Contains("[3,32,32]", record.Error);
    }

    [Fact]
    public void Per_layer_report_shares_add_up_and_flags_nothing_on_healthy_networks()
    {
        var data = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 16);
        var record = new Scorer(new ScoreOptions { BatchSize = 16, PerLayer = true }).Score(TestPaths.Model("mobilenet_tiny.onnx"), data);
        Assert.Equal(1.0, record.Layers!.Sum(l => l.Share), 9);
        Assert.All(record.Layers!, l => Assert.InRange(l.SignAgreement, 0, 1));
        Assert.Empty(record.Warnings);
    }

    [Fact]
    public void A_folder_of_image_and_text_models_scores_each_on_its_own_sample()
    {
        File.Copy(TestPaths.Model("fashion-mnist-sample.npz"), Path.Combine(_dir, "images.npz"));
        File.Copy(TestPaths.Model("resnet_tiny.onnx"), Path.Combine(_dir, "resnet_tiny.onnx"));
        Directory.CreateDirectory(Path.Combine(_dir, "text"));
        foreach (var f in new[] { "text_classifier.onnx", "sample.npz" }) File.Copy(TestPaths.Model($"text/{f}"), Path.Combine(_dir, "text", f));
        var json = Path.Combine(_dir, "scores.json");
        Assert.Equal(ExitCodes.Ok, Run(_dir, "--proxy", "all", "--batch-size", "16", "--format", "json", "-o", json));

        var records = System.Text.Json.JsonSerializer.Deserialize<List<ScoreRecord>>(File.ReadAllText(json), OnnxGradSign.Reporting.Json.Options)!;
        var text = Assert.Single(records, r => r.Model.EndsWith("text_classifier.onnx"));
        var image = Assert.Single(records, r => r.Model.EndsWith("resnet_tiny.onnx"));
        Assert.EndsWith(Path.Combine("text", "sample.npz"), text.DataUsed);
        Assert.EndsWith("images.npz", image.DataUsed);
        Assert.Equal(ScoreRecord.Ok, text.Status);
        Assert.True(text.Score("gradsign") > 0);
        // Proxies that need a float input say so; the others score the token-id model.
        foreach (var proxy in new[] { "synflow", "jacob_cov", "meco" })
            Assert.Contains(text.Warnings, w => w.StartsWith($"{proxy}: ") && w.Contains("token ids"));
        Assert.NotNull(text.Score("grad_norm"));
        Assert.NotNull(image.Score("synflow"));
    }
}

public class ExitCodeTests
{
    [Theory]
    [InlineData("")]
    [InlineData("score")]
    [InlineData("scroe models")]
    [InlineData("score models/nb201_a.onnx --format xml")]
    [InlineData("score models/nb201_a.onnx --loss hinge")]
    [InlineData("score models/nb201_a.onnx --batch-size 0")]
    public void A_command_line_that_is_wrong_exits_with_the_usage_code(string line)
    {
        var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var previous = Console.Error;
        Console.SetError(new StringWriter());
        try { Assert.Equal(ExitCodes.Usage, App.Run(args.Select(a => a.StartsWith("models") ? Path.Combine(TestPaths.RepoRoot, a) : a).ToArray())); }
        finally { Console.SetError(previous); }
    }

    [Fact]
    public void An_empty_folder_is_a_usage_error()
    {
        var empty = Directory.CreateTempSubdirectory("onnx-gradsign-empty").FullName;
        var previous = Console.Error;
        Console.SetError(new StringWriter());
        try { Assert.Equal(ExitCodes.Usage, App.Run(["score", empty])); }
        finally
        {
            Console.SetError(previous);
            Directory.Delete(empty);
        }
    }
}
