using Google.Protobuf;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;
using Xunit;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Import;

/// <summary>
/// Graphs whose contradictions show only once shapes are known: each is refused when it runs, naming the node, as ONNX's shape
/// inference would refuse it. None may abort the process (libtorch's matmul and autograd are called without its error guard).
/// </summary>
public class ShapeContradictionTests
{
    public static IEnumerable<object[]> Cases()
    {
        yield return [new TestGraph(13).Input("x", 2, 4).RandomInitializer("w", 5, 3).Node("Gemm", ["x", "w"], ["y"]).Output("y"),
            "shapes [2,4] and [5,3] cannot be multiplied", "Gemm_0"];
        yield return [new TestGraph(13).Input("x", 2, 4).RandomInitializer("w", 3, 3).Node("MatMul", ["x", "w"], ["y"]).Output("y"),
            "cannot be multiplied", "MatMul_0"];
        yield return [new TestGraph(13).Input("x", 2, 4).Initializer("i", [0L, 1], 2).Node("Gather", ["x", "i"], ["y"], ("axis", 5L)).Output("y"),
            "axis 5 is out of range for rank 2", "Gather_0"];
        yield return [new TestGraph(13).Input("x", 2, 4).Initializer("a", [1L], 1).Node("Squeeze", ["x", "a"], ["y"]).Output("y"),
            "axis 1, whose size is 4, not 1", "Squeeze_0"];
        yield return [new TestGraph(13).Input("x", 2, 4).Initializer("a", [1L, 1], 2).Node("Unsqueeze", ["x", "a"], ["y"]).Output("y"),
            "repeat an axis", "Unsqueeze_0"];
        yield return [new TestGraph(13).Input("x", 1, 1, 2, 2).Initializer("s", [1f, 1, float.NaN, 2], 4)
            .Node("Resize", ["x", "", "s"], ["y"]).Output("y"), "must be finite and positive", "Resize_0"];
        yield return [new TestGraph(13).Input("x", 1, 1, 2, 2).Initializer("s", [1f, 2], 2)
            .Node("Resize", ["x", "", "s"], ["y"]).Output("y"), "2 values for a rank-4 input", "Resize_0"];
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Contradictions_are_refused_when_the_graph_runs_naming_the_node(TestGraph graph, string expected, string node)
    {
        using var scope = NewDisposeScope();
        var model = graph.Build();
        using var imported = graph.Import();
        var e = Assert.Throws<OnnxModelException>(() => imported.forward(TestGraph.RandomInputs(model).ToArray()));
        Assert.Contains(expected, e.Message);
        Assert.Contains(node, e.Node);
        Assert.DoesNotContain("frame #", e.Message);
    }

    [Fact]
    public void Inspect_runs_the_graph_once_and_reports_a_contradiction_naming_the_node()
    {
        var graph = new TestGraph(13).Input("x", -1, 4).RandomInitializer("w", 5, 3).Node("Gemm", ["x", "w"], ["y"]).Output("y");
        var path = Path.Combine(Path.GetTempPath(), $"contradiction-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, graph.Proto.ToByteArray());
        try
        {
            var report = OnnxGradSign.Reporting.ModelInspector.Inspect(path);
            Assert.Contains("node 'Gemm_0'", report.Error);
            Assert.Contains("cannot be multiplied", report.Error);
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void A_loss_that_no_weight_reaches_is_scored_without_aborting()
    {
        // The output is a constant: nothing trainable reaches the loss, which libtorch's autograd would refuse by terminating.
        var graph = new TestGraph(13).Input("x", 2, 4).Initializer("c", [1f, 2, 3], 1, 3)
            .Node("Shape", "x", "s").Node("Slice", ["s", "zero", "one"], ["n"]).Initializer("zero", [0L], 1).Initializer("one", [1L], 1)
            .Initializer("three", [3L], 1).Node("Concat", ["n", "three"], ["shape"], ("axis", 0L))
            .Node("Expand", ["c", "shape"], ["y"]).Output("y");
        var path = Path.Combine(Path.GetTempPath(), $"constant-output-{Guid.NewGuid():N}.onnx");
        File.WriteAllBytes(path, graph.Proto.ToByteArray());
        try
        {
            var record = new Scorer(new ScoreOptions { BatchSize = 4 }).Score(path, null);
            Assert.True(record.Status == ScoreRecord.Ok ? record.Score("gradsign") == 0 : record.Error!.Contains(path), record.Error);
        }
        finally { File.Delete(path); }
    }
}
