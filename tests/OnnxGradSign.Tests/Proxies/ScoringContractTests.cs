using Google.Protobuf;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Onnx.Proto;
using OnnxGradSign.Proxies;
using OnnxGradSign.Tests.Import;
using Xunit;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Proxies;

/// <summary>
/// What gets fed in and what loss is taken from what comes out, on hand-built graphs of the kinds real exporters write: a batch
/// fixed inside the graph, several outputs, one-logit and regression heads.
/// </summary>
public sealed class ScoringContractTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("scoring-contract-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static readonly ScoreOptions Exact = new ScoreOptions { Float64 = true, BatchSize = 8 };

    /// <summary>x [batch,4] → Reshape(target) → Gemm(3 classes, or `classes`); the batch axis declared or symbolic (−1).</summary>
    private string Classifier(string name, long declaredBatch, long[] target, long classes = 3)
    {
        var graph = new TestGraph(13).Input("x", declaredBatch, 4).Initializer("shape", target, target.Length)
            .RandomInitializer("w", classes, 4).Node("Reshape", ["x", "shape"], ["flat"]).Node("Gemm", ["flat", "w"], ["y"], ("transB", 1L)).Output("y");
        return Save(graph, name);
    }

    private string Save(TestGraph graph, string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, graph.Proto.ToByteArray());
        return path;
    }

    private static ScoreRecord Scored(string path, ScoreOptions settings, Dataset? data = null)
    {
        var record = new Scorer(settings).Score(path, data);
        Assert.True(record.Status == ScoreRecord.Ok, record.Error);
        return record;
    }

    [Theory]
    [InlineData(1, new long[] { 1, 4 }, "declares a batch of 1")]
    [InlineData(-1, new long[] { 1, 4 }, "a batch of 2 fails and a batch of 1 runs")]
    public void A_graph_fixing_its_batch_at_one_is_scored_one_sample_at_a_time(long declared, long[] target, string evidence)
    {
        var any = Scored(Classifier("any.onnx", -1, [-1, 4]), Exact with { Engine = EngineKind.Loop });
        var fixedAtOne = Scored(Classifier("fixed.onnx", declared, target), Exact);
        Assert.Equal("loop", fixedAtOne.EngineUsed);
        Assert.Contains(fixedAtOne.Warnings, w => w.Contains("fixes its batch at 1") && w.Contains(evidence));
        Assert.Equal(any.Score("gradsign"), fixedAtOne.Score("gradsign"));
    }

    [Fact]
    public void A_larger_fixed_batch_runs_in_whole_passes_of_that_size()
    {
        // Reshape to [3, 4]: only a batch of 3 runs; 8 samples make two whole passes, the first 6 samples.
        var data = new Dataset(randn(8, 4, generator: new Generator(1)), tensor(new long[] { 0, 1, 2, 0, 1, 2, 0, 1 }), "labelled");
        var fixedAtThree = Scored(Classifier("three.onnx", -1, [3, 4]), Exact with { Proxy = "gradsign,snip" }, data);
        var any = Scored(Classifier("any.onnx", -1, [-1, 4]), Exact with { BatchSize = 6 }, data);
        Assert.Equal("vectorized", fixedAtThree.EngineUsed);
        Assert.Contains(fixedAtThree.Warnings, w => w.Contains("fixes its batch at 3") && w.Contains("6 of the 8 samples"));
        Assert.Equal(any.Score("gradsign"), fixedAtThree.Score("gradsign"));
        Assert.True(fixedAtThree.Score("snip") > 0);
    }

    [Fact]
    public void Weights_of_an_unscored_head_are_reported_not_crashed_on()
    {
        var graph = new TestGraph(13).Input("x", -1, 4).RandomInitializer("w1", 3, 4).RandomInitializer("w2", 2, 4)
            .Node("Gemm", ["x", "w1"], ["classes"], ("transB", 1L)).Node("Gemm", ["x", "w2"], ["boxes"], ("transB", 1L))
            .Output("classes").Output("boxes");
        var path = Save(graph, "two-heads.onnx");
        var first = Scored(path, Exact);
        Assert.True(first.Score("gradsign") > 0);
        Assert.Contains(first.Warnings, w => w.Contains("zero gradient") && w.Contains("w2"));
        var second = Scored(path, Exact with { OutputName = "boxes" });
        Assert.Contains(second.Warnings, w => w.Contains("w1"));
        // Every head scored: both weights are reached, and the sum of the two heads' own scores is what GradSign sees.
        var all = Scored(path, Exact with { Outputs = OutputSelection.All });
        Assert.Contains(all.Warnings, w => w.Contains("sums 2 outputs' per-sample losses"));
        Assert.DoesNotContain(all.Warnings, w => w.Contains("zero gradient"));
        Assert.Equal("all", all.OutputUsed);
    }

    [Fact]
    public void One_logit_is_scored_with_binary_cross_entropy_and_cross_entropy_over_it_is_refused()
    {
        var path = Classifier("one-logit.onnx", -1, [-1, 4], classes: 1);
        var record = Scored(path, Exact);
        Assert.Equal("bce", record.LossUsed);
        Assert.Equal(LossKind.Auto, record.Settings.Loss);
        Assert.True(record.Score("gradsign") > 0);
        var refused = new Scorer(Exact with { Loss = LossKind.CrossEntropy }).Score(path, null);
        Assert.Contains("constant", refused.Error);
    }

    [Fact]
    public void Float_targets_are_scored_with_mean_squared_error()
    {
        var path = Classifier("regression.onnx", -1, [-1, 4]);
        var data = new Dataset(randn(8, 4, generator: new Generator(1)), randn(8, 3, generator: new Generator(2)), "targets");
        var record = Scored(path, Exact, data);
        Assert.Equal("mse", record.LossUsed);
        Assert.True(record.Score("gradsign") > 0);
        var wrongShape = new Dataset(data.X, randn(8, 2), "targets");
        Assert.Contains("2 value(s) per sample", new Scorer(Exact).Score(path, wrongShape).Error);
    }

    [Fact]
    public void Every_input_is_fed_masks_as_ones_states_as_zeros_scalars_as_compared()
    {
        // x·mask + Σ state, with sr compared to 16000: fed ones, zeros and 16000, the network is plain Gemm(x), score for score.
        var graph = new TestGraph(13).Input("x", -1, 4).Input("attention_mask", -1, 4).Input("state", 2, -1, 4).Input("sr", TensorProto.Types.DataType.Int64)
            .RandomInitializer("w", 3, 4).Initializer("rate", [16000L], 1).Initializer("axes", [0L], 1)
            .Node("Mul", ["x", "attention_mask"], ["masked"]).Node("ReduceSum", ["state", "axes"], ["carried"], ("keepdims", 0L))
            .Node("Add", ["masked", "carried"], ["h"]).Node("Equal", ["sr", "rate"], ["is16k"]).Node("Where", ["is16k", "h", "x"], ["picked"])
            .Node("Gemm", ["picked", "w"], ["y"], ("transB", 1L)).Output("y");
        var fed = Scored(Save(graph, "fed.onnx"), Exact);
        var plain = Scored(Save(new TestGraph(13).Input("x", -1, 4).RandomInitializer("w", 3, 4).Node("Gemm", ["x", "w"], ["y"], ("transB", 1L)).Output("y"),
            "plain.onnx"), Exact);
        Assert.Equal(plain.Score("gradsign"), fed.Score("gradsign"));
        var noValue = new TestGraph(13).Input("x", -1, 4).Input("gain", TensorProto.Types.DataType.Float).RandomInitializer("w", 3, 4)
            .Node("Mul", ["x", "gain"], ["g"]).Node("Gemm", ["g", "w"], ["y"], ("transB", 1L)).Output("y");
        var path = Save(noValue, "gain.onnx");
        Assert.Contains("`input_value gain=V`", new Scorer(Exact).Score(path, null).Error);
        Assert.True(Scored(path, Exact with { InputValue = new Dictionary<string, double> { ["gain"] = 2 } }).Score("gradsign") > 0);
    }

    [Fact]
    public void A_tf2onnx_export_that_folded_most_batchnorms_says_so_in_its_score_record()
    {
        // Two biased Convs feed Relus directly (folded), one kept its BatchNorm: tf2onnx folds where it can.
        var graph = new TestGraph(13, producer: "tf2onnx").Input("x", -1, 3, 8, 8)
            .RandomInitializer("w1", 4, 3, 3, 3).RandomInitializer("b1", 4).RandomInitializer("w2", 4, 4, 3, 3).RandomInitializer("b2", 4)
            .RandomInitializer("w3", 4, 4, 1, 1).Initializer("scale", [1f, 1, 1, 1], 4).Initializer("shift", [0f, 0, 0, 0], 4)
            .Initializer("mean", [0f, 0, 0, 0], 4).Initializer("var", [1f, 1, 1, 1], 4).RandomInitializer("wf", 3, 4)
            .Node("Conv", ["x", "w1", "b1"], ["c1"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Relu", "c1", "r1")
            .Node("Conv", ["r1", "w2", "b2"], ["c2"], ("pads", new long[] { 1, 1, 1, 1 })).Node("Relu", "c2", "r2")
            .Node("Conv", ["r2", "w3"], ["c3"]).Node("BatchNormalization", ["c3", "scale", "shift", "mean", "var"], ["n3"]).Node("Relu", "n3", "r3")
            .Node("GlobalAveragePool", "r3", "p").Node("Flatten", "p", "f").Node("Gemm", ["f", "wf"], ["y"], ("transB", 1L)).Output("y");
        var record = Scored(Save(graph, "tf2onnx-folded.onnx"), Exact);
        Assert.Contains(record.Warnings, w => w.Contains("BatchNorm looks folded into 2 convolution(s)") && w.Contains("only 1 BatchNorm(s) remain"));
    }
}
