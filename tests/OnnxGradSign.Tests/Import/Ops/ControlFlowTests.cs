using Google.Protobuf;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Import.Ops;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;
using Xunit;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import.Ops;

/// <summary>If, Loop and Scan against ONNX Runtime; weights inside branches scored; hostile subgraphs refused naming the node.</summary>
public sealed class ControlFlowTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("control-flow-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A subgraph: no opset of its own (the model's applies), inputs and outputs as the test declares them.</summary>
    private static TestGraph Body() => new(16);

    /// <summary>Branches that read x, w and s of the enclosing graph; the else branch has an initializer and a Constant of its own.</summary>
    private static TestGraph OuterScopeIf(long opset)
    {
        var then = Body().Node("MatMul", ["x", "w"], ["then_out"]).Output("then_out");
        var otherwise = Body().Initializer("half", [0.5f], 1).Node("Constant", [], ["two"], ("value", tensor(2f)))
            .Node("Mul", ["s", "half"], ["scaled"]).Node("Add", ["scaled", "two"], ["else_out"]).Output("else_out");
        return new TestGraph(opset).Input("cond", DataType.Bool).Input("x", 3, 4).RandomInitializer("w", 4, 5).Input("s", 3, 5)
            .Node("If", ["cond"], ["y"], ("then_branch", then), ("else_branch", otherwise)).Output("y");
    }

    [Theory]
    [InlineData(7L, true)]
    [InlineData(11L, false)]
    [InlineData(13L, true)]
    [InlineData(16L, false)]
    public void If_branches_read_values_of_the_enclosing_graph(long opset, bool condition) =>
        OuterScopeIf(opset).AssertMatchesOrt(new Dictionary<string, Tensor> { ["cond"] = tensor(condition) });

    [Fact]
    public void If_on_a_runtime_condition_keeps_both_branches_as_programs()
    {
        using var imported = OuterScopeIf(16).Import();
        Assert.Equal(["If"], imported.Steps.Select(s => s.Node.OpType));
    }

    /// <summary>PyTorch's `if x.size(0) == 1` as exported: a condition on a shape, which shape folding makes a constant.</summary>
    [Theory]
    [InlineData(1L, "Identity")]
    [InlineData(3L, "Relu")]
    public void A_condition_on_a_declared_shape_folds_to_the_taken_branch(long batch, string taken)
    {
        var graph = new TestGraph(16).Input("x", batch, 4).Initializer("zero", [0L]).Initializer("one", [1L])
            .Node("Shape", "x", "shape").Node("Gather", ["shape", "zero"], ["n"]).Node("Equal", ["n", "one"], ["single"])
            .Node("If", ["single"], ["y"], ("then_branch", Body().Node("Identity", ["x"], ["t"]).Output("t")),
                ("else_branch", Body().Node("Relu", ["x"], ["e"]).Output("e")))
            .Output("y");
        using (var imported = graph.Import())
            Assert.Equal([taken], imported.Steps.Select(s => s.Node.OpType));
        graph.AssertMatchesOrt();
    }

    [Fact]
    public void A_condition_per_sample_is_refused_naming_the_node()
    {
        var graph = new TestGraph(16).Input("cond", DataType.Bool, 2).Input("x", 3, 4).RandomInitializer("w", 4, 5).Input("s", 3, 5);
        graph.Proto.Graph.Node.Add(OuterScopeIf(16).Proto.Graph.Node[0]);
        using var imported = graph.Output("y").Import();
        var error = Assert.Throws<OnnxModelException>(() => imported.forward([tensor(new[] { true, false }), randn(3, 4), randn(3, 5)]));
        Assert.Contains("If_0", error.Message);
        Assert.Contains("one boolean per run", error.Message);
    }

    /// <summary>x [batch,4] and a sample rate; at 16000 the then branch's Gemm runs, else another Gemm of other width.</summary>
    private static TestGraph SampleRateSwitch(long batch)
    {
        var then = Body().RandomInitializer("w16k", 3, 4).Node("Gemm", ["x", "w16k"], ["then_out"], ("transB", 1L)).Output("then_out");
        var otherwise = Body().RandomInitializer("w8k", 3, 4).Node("Gemm", ["x", "w8k"], ["else_out"], ("transB", 1L)).Output("else_out");
        return new TestGraph(16).Input("x", batch, 4).Input("sr", DataType.Int64).Initializer("rate", [16000L])
            .Node("Equal", ["sr", "rate"], ["is16k"])
            .Node("If", ["is16k"], ["y"], ("then_branch", then), ("else_branch", otherwise)).Output("y");
    }

    [Fact]
    public void A_condition_on_an_input_given_for_the_run_folds_to_the_taken_branch_whose_weight_is_a_layer_weight()
    {
        var model = SampleRateSwitch(2).Build();
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep) { InputValues = new Dictionary<string, double> { ["sr"] = 16000 } });
        Assert.Equal(["Gemm"], imported.Steps.Select(s => s.Node.OpType));
        var weight = Assert.Single(imported.ParameterInfos, p => p.IsLayerWeight);
        Assert.Equal("w16k", weight.Name);
        var inputs = TestGraph.RandomInputs(model, given: new Dictionary<string, Tensor> { ["sr"] = tensor(16000L) });
        Assert.All(OnnxGradSign.Verification.ModelVerifier.Compare(imported, inputs, TestGraph.Tolerance), c => Assert.True(c.WithinTolerance, c.Output));
    }

    [Fact]
    public void A_weight_in_the_branch_a_sample_rate_selects_is_scored()
    {
        var path = Path.Combine(_dir, "sample-rate.onnx");
        File.WriteAllBytes(path, SampleRateSwitch(-1).Proto.ToByteArray());
        var settings = new ScoreOptions { BatchSize = 8, Float64 = true, PerLayer = true };
        foreach (var engine in new[] { EngineKind.Loop, EngineKind.Vectorized })
        {
            // sr defaults to the 16000 the graph compares it with; 8000 takes the other branch.
            var at16k = new Scorer(settings with { Engine = engine }).Score(path, null);
            var at8k = new Scorer(settings with { Engine = engine, InputValue = new Dictionary<string, double> { ["sr"] = 8000 } }).Score(path, null);
            Assert.True(at16k.Status == ScoreRecord.Ok, at16k.Error);
            Assert.True(at8k.Status == ScoreRecord.Ok, at8k.Error);
            Assert.Equal(["w16k"], at16k.Layers!.Select(l => l.Parameter));
            Assert.Equal(["w8k"], at8k.Layers!.Select(l => l.Parameter));
            Assert.True(at16k.Score("gradsign") > 0);
        }
    }

    [Fact]
    public void A_weight_in_a_branch_chosen_at_run_time_is_a_parameter_with_a_gradient()
    {
        var then = Body().RandomInitializer("w_then", 3, 4).Node("Gemm", ["x", "w_then"], ["then_out"], ("transB", 1L)).Output("then_out");
        var otherwise = Body().Node("ReduceSum", ["x"], ["else_out"], ("keepdims", 1L)).Output("else_out");
        var model = new TestGraph(13).Input("cond", DataType.Bool).Input("x", 2, 4)
            .Node("If", ["cond"], ["y"], ("then_branch", then), ("else_branch", otherwise)).Output("y").Build();
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Fresh, Seed: 3));
        var weight = Assert.Single(imported.ParameterInfos);
        Assert.True(weight.IsLayerWeight);
        Assert.Equal(4, weight.FanIn);
        var seen = new List<string>();
        imported.Run.OnWeightLayer = call => seen.Add(call.Weight.Name);
        imported.forward([tensor(true), randn(2, 4)])[0].sum().backward();
        Assert.Equal(["w_then"], seen);
        Assert.True(imported.Parameter(weight).grad!.abs().sum().item<float>() > 0);
    }

    /// <summary>
    /// Loop(M, cond, y): y += x[i] each iteration (x read from the enclosing graph) until M or the body's cond says stop; with cond
    /// false at the start, no iteration runs and the scan output is empty in its declared shape.
    /// </summary>
    [Theory]
    [InlineData(11L, 3L, true)]
    [InlineData(16L, 5L, true)]
    [InlineData(13L, 4L, false)]
    public void Loop_with_carried_value_scan_output_and_outer_scope_read(long opset, long trips, bool condition)
    {
        var body = Body().Input("i", DataType.Int64).Input("cond_in", DataType.Bool).Input("y_in", 1, 3)
            .Initializer("limit", [3L])
            .Node("Reshape", ["i", "one"], ["start"]).Node("Add", ["start", "one"], ["end"])
            .Node("Slice", ["x", "start", "end"], ["row"]).Node("Add", ["y_in", "row"], ["y_out"])
            .Node("Less", ["i", "limit"], ["cond_out"]).Node("Identity", ["y_out"], ["scan"])
            .Output("cond_out", DataType.Bool).Output("y_out").Output("scan", shape: [1, 3]);
        new TestGraph(opset).Input("x", 6, 3).Input("y", 1, 3).Input("cond", DataType.Bool)
            .Initializer("m", [trips]).Initializer("one", [1L], 1)
            .Node("Loop", ["m", "cond", "y"], ["y_final", "rows"], ("body", body)).Output("y_final").Output("rows")
            .AssertMatchesOrt(new Dictionary<string, Tensor> { ["cond"] = tensor(condition) });
    }

    /// <summary>A recurrence as tf2onnx writes it: h = tanh(h·W) in a Loop body whose W is the body's own initializer.</summary>
    [Fact]
    public void A_weight_inside_a_loop_body_is_a_layer_weight_used_at_every_iteration()
    {
        var body = Body().Input("i", DataType.Int64).Input("cond_in", DataType.Bool).Input("h_in", 2, 3).RandomInitializer("w_rec", 3, 3)
            .Node("Identity", ["cond_in"], ["cond_out"]).Node("MatMul", ["h_in", "w_rec"], ["z"]).Node("Tanh", ["z"], ["h_out"])
            .Output("cond_out", DataType.Bool).Output("h_out");
        var graph = new TestGraph(16).Input("h", 2, 3).Initializer("m", [4L])
            .Node("Loop", ["m", "", "h"], ["h_final"], ("body", body)).Output("h_final");
        graph.AssertMatchesOrt();
        using var imported = OnnxImporter.Import(graph.Build(), new ImportOptions(WeightInit.Fresh, Seed: 1));
        var weight = Assert.Single(imported.ParameterInfos);
        Assert.True(weight.IsLayerWeight);
        int calls = 0;
        imported.Run.OnWeightLayer = _ => calls++;
        imported.forward([randn(2, 3)])[0].sum().backward();
        Assert.Equal(4, calls);
        Assert.True(imported.Parameter(weight).grad!.abs().sum().item<float>() > 0);
    }

    [Fact]
    public void Scan_over_two_inputs_along_other_axes_and_in_reverse()
    {
        var body = Body().Input("acc_in", 4).Input("a_t", 4).Input("b_t", 4)
            .Node("Mul", ["a_t", "b_t"], ["ab"]).Node("Add", ["acc_in", "ab"], ["acc_out"]).Node("Tanh", ["acc_out"], ["element"])
            .Output("acc_out").Output("element");
        new TestGraph(16).Input("acc", 4).Input("a", 5, 4).Input("b", 4, 5)
            .Node("Scan", ["acc", "a", "b"], ["acc_final", "elements"], ("body", body), ("num_scan_inputs", 2L),
                ("scan_input_axes", new long[] { 0, -1 }), ("scan_input_directions", new long[] { 0, 1 }),
                ("scan_output_axes", new long[] { 1 }), ("scan_output_directions", new long[] { 1 }))
            .Output("acc_final").Output("elements")
            .AssertMatchesOrt();
    }

    [Fact]
    public void An_absurd_trip_count_is_refused_at_once()
    {
        var body = Body().Input("i", DataType.Int64).Input("cond_in", DataType.Bool).Input("y_in", 2)
            .Node("Identity", ["cond_in"], ["cond_out"]).Node("Neg", ["y_in"], ["y_out"]).Output("cond_out", DataType.Bool).Output("y_out");
        using var imported = new TestGraph(16).Input("y", 2).Initializer("m", [long.MaxValue])
            .Node("Loop", ["m", "", "y"], ["y_final"], ("body", body)).Output("y_final").Import();
        var error = Assert.Throws<OnnxModelException>(() => imported.forward([randn(2)]));
        Assert.Contains("Loop_0", error.Message);
        Assert.Contains($"exceeds the bound of {ControlFlowOps.MaxIterations}", error.Message);
    }

    /// <summary>An If nested in the then branch of an If, depth times over.</summary>
    private static TestGraph Nested(int depth, string innermostReads)
    {
        var inner = Body().Node("Identity", [innermostReads], ["out0"]).Output("out0");
        for (int d = 1; d <= depth; d++)
            inner = Body().Node("If", ["cond"], [$"out{d}"], ("then_branch", inner), ("else_branch", Body().Node("Identity", ["x"], [$"e{d}"]).Output($"e{d}")))
                .Output($"out{d}");
        var graph = new TestGraph(16).Input("cond", DataType.Bool).Input("x", 2);
        graph.Proto.Graph.Node.AddRange(inner.Proto.Graph.Node);
        return graph.Output($"out{depth}");
    }

    [Fact]
    public void Nested_branches_run()
    {
        using var imported = Nested(3, "x").Import();
        var x = randn(2);
        Assert.True(imported.forward([tensor(true), x])[0].eq(x).all().item<bool>());
    }

    [Theory]
    [InlineData(ModelChecker.MaxSubgraphDepth + 1, "x", "nests deeper than")]
    [InlineData(2, "nowhere", "input 'nowhere' is not produced")]
    [InlineData(2, "cond", "")]
    public void Hostile_subgraphs_are_refused_naming_the_node(int depth, string reads, string expected)
    {
        var graph = Nested(depth, reads);
        if (reads == "cond")
        {
            // The innermost branch redefines the outer input 'x': ONNX's single assignment holds across scopes.
            var innermost = graph.Proto.Graph.Node[^1].Attribute[0].G.Node[0].Attribute[0].G;
            innermost.Node[0].Output[0] = "x";
            innermost.Output[0].Name = "x";
            expected = "redefines 'x'";
        }
        var error = Assert.Throws<OnnxModelException>(() => graph.Build());
        Assert.Contains(expected, error.Message);
        Assert.Contains("If_0", error.Message);
    }

    [Fact]
    public void A_cycle_inside_a_body_is_refused_naming_its_nodes()
    {
        var then = Body().Node("Neg", ["b"], ["a"]).Node("Neg", ["a"], ["b"]).Output("b");
        var graph = new TestGraph(16).Input("cond", DataType.Bool).Input("x", 2)
            .Node("If", ["cond"], ["y"], ("then_branch", then), ("else_branch", Body().Node("Identity", ["x"], ["e"]).Output("e"))).Output("y");
        var error = Assert.Throws<OnnxModelException>(() => graph.Build());
        Assert.Contains("subgraph 'then_branch' of 'If_0'", error.Message);
        Assert.Contains("cycle", error.Message);
    }
}
