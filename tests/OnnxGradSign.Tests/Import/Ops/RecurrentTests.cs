using OnnxGradSign.Import;
using Xunit;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import.Ops;

/// <summary>
/// LSTM, GRU and RNN against ONNX Runtime: directions, optional inputs, attributes, output subsets. ONNX Runtime implements neither
/// layout 1 nor the versions before 7, so batch-first tensors are checked against the sequence-first layout here and against ONNX's
/// own reference outputs in the conformance cases (test_*_batchwise).
/// </summary>
public class RecurrentTests
{
    private const long Seq = 5, Batch = 3, InputSize = 4, Hidden = 3;

    /// <summary>Each sample's own length, all within the sequence (ONNX Runtime refuses 0 and longer ones).</summary>
    private static readonly Dictionary<string, Tensor> Lengths = new() { ["lens"] = tensor(new[] { 5, 2, 4 }) };

    /// <param name="optional">Which optional inputs the node gets, comma-separated: b, lens, h0, c0, p.</param>
    /// <param name="outputs">Which of Y, Y_h, Y_c are outputs, comma-separated (an empty name leaves one out).</param>
    [Theory]
    [InlineData("LSTM", 7, "forward", 0, "b", "y,yh,yc")]
    [InlineData("LSTM", 7, "bidirectional", 0, "b,lens,h0,c0,p", "y,yh,yc", "clip", 2.5f)]
    [InlineData("LSTM", 7, "reverse", 0, "b,lens", ",yh", "input_forget", 1L,
        "activations", new[] { "HardSigmoid", "LeakyRelu", "ScaledTanh" }, "activation_alpha", new[] { 0.3f, 0.1f, 1.5f }, "activation_beta", new[] { 0.4f, 0.8f })]
    [InlineData("LSTM", 14, "bidirectional", 0, "b,h0,c0", "y,yh,yc")]
    [InlineData("GRU", 7, "forward", 0, "b", "y,yh")]
    [InlineData("GRU", 7, "bidirectional", 0, "b,lens,h0", "y,yh", "linear_before_reset", 1L, "clip", 1f)]
    [InlineData("GRU", 7, "reverse", 0, "lens", "y", "linear_before_reset", 1L, "activations", new[] { "Sigmoid", "Softsign" })]
    [InlineData("GRU", 14, "forward", 0, "b,lens,h0", "y,yh")]
    [InlineData("RNN", 7, "forward", 0, "", "y,yh")]
    [InlineData("RNN", 7, "bidirectional", 0, "b,lens,h0", "y,yh", "activations", new[] { "Relu", "Tanh" })]
    [InlineData("RNN", 14, "reverse", 0, "b,h0", ",yh", "clip", 0.5f, "activations", new[] { "Affine" }, "activation_alpha", new[] { 0.5f }, "activation_beta", new[] { 0.1f })]
    public void Matches_onnx_runtime(string op, long opset, string direction, long layout, string optional, string outputs, params object[] attributes) =>
        Graph(op, opset, direction, layout, optional, outputs, attributes).AssertMatchesOrt(Lengths);

    [Theory]
    [InlineData("LSTM", "bidirectional", "b,lens,h0,c0,p")]
    [InlineData("GRU", "reverse", "b,lens,h0")]
    [InlineData("RNN", "bidirectional", "h0")]
    public void Batch_first_layout_is_the_sequence_first_one_transposed(string op, string direction, string optional)
    {
        var outputs = op == "LSTM" ? "y,yh,yc" : "y,yh";
        var inputs = TestGraph.RandomInputs(Graph(op, 14, direction, 0, optional, outputs, []).Build(), given: Lengths);
        Tensor[] Run(long layout) // the same weights (each graph draws them from the same seed) and the same values
        {
            using var model = Graph(op, 14, direction, layout, optional, outputs, ["layout", layout]).Import();
            return model.forward([.. inputs.Select(t => layout == 1 && t.dim() == 3 ? t.transpose(0, 1) : t)]); // X and initial states
        }
        var (seqFirst, batchFirst) = (Run(0), Run(1));
        Assert.True(batchFirst[0].permute(1, 2, 0, 3).allclose(seqFirst[0]), "Y");
        for (int o = 1; o < seqFirst.Length; o++) Assert.True(batchFirst[o].transpose(0, 1).allclose(seqFirst[o]), $"output {o}");
    }

    private static TestGraph Graph(string op, long opset, string direction, long layout, string optional, string outputs, object[] attributes)
    {
        long gates = op switch { "LSTM" => 4, "GRU" => 3, _ => 1 }, dirs = direction == "bidirectional" ? 2 : 1;
        long[] state = layout == 0 ? [dirs, Batch, Hidden] : [Batch, dirs, Hidden];
        var graph = new TestGraph(opset).Input("x", layout == 0 ? [Seq, Batch, InputSize] : [Batch, Seq, InputSize])
            .RandomInitializer("w", dirs, gates * Hidden, InputSize).RandomInitializer("r", dirs, gates * Hidden, Hidden);
        var given = optional.Split(',', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
        if (given.Contains("b")) graph.RandomInitializer("b", dirs, 2 * gates * Hidden);
        if (given.Contains("lens")) graph.Input("lens", DataType.Int32, Batch);
        if (given.Contains("h0")) graph.Input("h0", state);
        if (given.Contains("c0")) graph.Input("c0", state);
        if (given.Contains("p")) graph.RandomInitializer("p", dirs, 3 * Hidden);
        string[] inputs = ["x", "w", "r", .. new[] { "b", "lens", "h0", "c0", "p" }.Select(i => given.Contains(i) ? i : "")];
        var names = outputs.Split(',');
        graph.Node(op, inputs[..(Array.FindLastIndex(inputs, i => i.Length > 0) + 1)], names,
            [("direction", direction), ("hidden_size", Hidden), .. TestGraph.Pairs(attributes)]);
        foreach (var name in names.Where(n => n.Length > 0)) graph.Output(name);
        return graph;
    }

    [Fact]
    public void Constant_weights_become_the_layers_scored_weights()
    {
        using var model = new TestGraph(14).Input("x", Seq, Batch, InputSize)
            .RandomInitializer("w", 1, 4 * Hidden, InputSize).RandomInitializer("r", 1, 4 * Hidden, Hidden).RandomInitializer("b", 1, 8 * Hidden)
            .Node("LSTM", ["x", "w", "r", "b"], ["y"], ("hidden_size", Hidden))
            .Output("y")
            .Import();
        var byName = model.ParameterInfos.ToDictionary(p => p.Name);
        Assert.Equal((LayerKind.Lstm, ParameterRole.Weight, InputSize, 4 * Hidden), (byName["w"].Kind, byName["w"].Role, byName["w"].FanIn, byName["w"].FanOut));
        Assert.Equal(ParameterRole.RecurrentWeight, byName["r"].Role);
        Assert.Equal(ParameterRole.Bias, byName["b"].Role);
        Assert.True(byName["w"].IsLayerWeight && byName["r"].IsLayerWeight && !byName["b"].IsLayerWeight);
    }

    [Theory]
    [InlineData("direction", "sideways", "direction 'sideways'")]
    [InlineData("activations", new[] { "Gelu", "Tanh", "Tanh" }, "activation 'Gelu'")]
    [InlineData("activations", new[] { "Sigmoid" }, "activations lists 1 functions")]
    [InlineData("layout", 2L, "layout 2")]
    public void Bad_attributes_are_refused_naming_them(string attribute, object value, string message)
    {
        var graph = new TestGraph(14).Input("x", Seq, Batch, InputSize)
            .RandomInitializer("w", 1, 4 * Hidden, InputSize).RandomInitializer("r", 1, 4 * Hidden, Hidden)
            .Node("LSTM", ["x", "w", "r"], ["y"], ("hidden_size", Hidden), (attribute, value))
            .Output("y");
        var error = Assert.Throws<UnsupportedOpsException>(() => graph.Import());
        Assert.Contains(message, error.Message);
    }

    [Fact]
    public void Weights_of_the_wrong_shape_fail_the_node_with_their_shapes()
    {
        var graph = new TestGraph(14).Input("x", Seq, Batch, InputSize)
            .RandomInitializer("w", 1, 4 * Hidden, InputSize + 1).RandomInitializer("r", 1, 4 * Hidden, Hidden)
            .Node("LSTM", ["x", "w", "r"], ["y"], ("hidden_size", Hidden))
            .Output("y");
        var error = Assert.ThrowsAny<Exception>(() =>
        {
            using var model = graph.Import(); // the shape probe may already run the node
            model.forward([randn(Seq, Batch, InputSize)]);
        });
        Assert.Contains("W is [1,12,5], expected [1,12,4]", error.Message);
    }
}
