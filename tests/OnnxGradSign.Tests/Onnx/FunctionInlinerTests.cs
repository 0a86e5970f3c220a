using Google.Protobuf;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using OnnxGradSign.Proxies;
using OnnxGradSign.Tests.Import;

namespace OnnxGradSign.Tests.Onnx;

/// <summary>Model-local functions (how the newer PyTorch exporter writes modules) are expanded into plain nodes.</summary>
public class FunctionInlinerTests
{
    private const string Domain = "pkg.test";

    private static NodeProto Call(string op, string domain, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Domain = domain, Name = $"{op}_{string.Join("_", outputs)}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    private static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    private static AttributeProto Reference(string name, string to) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, RefAttrName = to };

    private static FunctionProto Function(string name, string[] inputs, string[] outputs, string[] attributes, params NodeProto[] body)
    {
        var f = new FunctionProto { Name = name, Domain = Domain };
        f.Input.AddRange(inputs);
        f.Output.AddRange(outputs);
        f.Attribute.AddRange(attributes);
        f.Node.AddRange(body);
        f.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 18 });
        f.OpsetImport.Add(new OperatorSetIdProto { Domain = Domain, Version = 1 });
        return f;
    }

    /// <summary>Block(x, w, b?; alpha) = ScaledTanh(Conv(x, w, b); alpha), ScaledTanh(x; alpha = 2) = alpha·tanh(x), called twice.</summary>
    private static TestGraph Model()
    {
        var graph = new TestGraph(18).Opset(Domain, 1).Input("x", 1, 2, 5, 5)
            .RandomInitializer("w1", 3, 2, 3, 3).RandomInitializer("b1", 3).RandomInitializer("w2", 3, 3, 1, 1).Output("y");
        graph.Proto.Graph.Node.Add(Call("Block", Domain, ["x", "w1", "b1"], ["h"], Float("alpha", 0.5f)));
        graph.Proto.Graph.Node.Add(Call("Block", Domain, ["h", "w2", ""], ["z"])); // no bias, alpha left to ScaledTanh's default
        graph.Node("GlobalAveragePool", "z", "pooled").Node("Flatten", "pooled", "y");
        var scaledTanh = Function("ScaledTanh", ["x"], ["y"], ["alpha"],
            Call("Tanh", "", ["x"], ["t"]),
            Call("Constant", "", [], ["a"], Reference("value_float", "alpha")),
            Call("Mul", "", ["t", "a"], ["y"]));
        scaledTanh.AttributeProto.Add(Float("alpha", 2f));
        graph.Proto.Functions.Add(scaledTanh);
        graph.Proto.Functions.Add(Function("Block", ["x", "w", "b"], ["y"], ["alpha"],
            Call("Conv", "", ["x", "w", "b"], ["c"], new AttributeProto { Name = "pads", Type = AttributeProto.Types.AttributeType.Ints, Ints = { 1, 1, 1, 1 } }),
            Call("ScaledTanh", Domain, ["c"], ["y"], Reference("alpha", "alpha"))));
        return graph;
    }

    [Fact]
    public void Nested_calls_with_attribute_references_defaults_and_omitted_inputs_match_onnx_runtime()
    {
        var graph = Model();
        graph.AssertMatchesOrt();
        Assert.DoesNotContain(graph.Build().Nodes, n => n.Domain == Domain);
        using var model = graph.Import();
        Assert.Equal(["w1", "b1", "w2"], model.ParameterInfos.Select(p => p.Name));
        Assert.All(model.ParameterInfos, p => Assert.Equal(LayerKind.Conv, p.Kind));
    }

    [Fact]
    public void A_model_written_as_functions_scores()
    {
        var path = Path.Combine(Path.GetTempPath(), $"functions-{Guid.NewGuid():N}.onnx");
        try
        {
            var proto = Model().Proto;
            // The 3 classes synthetic labels are drawn over come from the output's declared shape.
            proto.Graph.Output[0].Type.TensorType.Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimParam = "N" },
                new TensorShapeProto.Types.Dimension { DimValue = 3 } } };
            File.WriteAllBytes(path, proto.ToByteArray());
            var record = new Scorer(new ScoreOptions { BatchSize = 4 }).Score(path, null);
            Assert.True(record.Status == ScoreRecord.Ok, record.Error);
            Assert.True(record.Score("gradsign") > 0);
            Assert.Equal(2 * 9 * 3 + 3 + 3 * 3, record.Params);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void A_function_calling_itself_is_a_clear_error()
    {
        var graph = new TestGraph(18).Opset(Domain, 1).Input("x", 1, 2).Output("y");
        graph.Proto.Graph.Node.Add(Call("Loop", Domain, ["x"], ["y"]));
        graph.Proto.Functions.Add(Function("Loop", ["x"], ["y"], [], Call("Loop", Domain, ["x"], ["y"])));
        var e = Assert.Throws<OnnxModelException>(() => graph.Build());
        Assert.Contains("'Loop' calls itself", e.Message);
    }

    [Fact]
    public void Functions_that_would_expand_exponentially_are_a_clear_error_not_an_out_of_memory()
    {
        // F0 calls F1 twice, F1 calls F2 twice, ... 40 levels deep: 2^40 Relus if expanded, within the nesting limit.
        const int levels = 40;
        var graph = new TestGraph(18).Opset(Domain, 1).Input("x", 1, 2).Output("y");
        graph.Proto.Graph.Node.Add(Call("F0", Domain, ["x"], ["y"]));
        for (int k = 0; k < levels; k++)
        {
            var inner = k + 1 < levels ? $"F{k + 1}" : "Relu";
            graph.Proto.Functions.Add(Function($"F{k}", ["x"], ["y"], [],
                Call(inner, inner == "Relu" ? "" : Domain, ["x"], ["h"]), Call(inner, inner == "Relu" ? "" : Domain, ["h"], ["y"])));
        }
        var e = Assert.Throws<OnnxModelException>(() => graph.Build());
        Assert.Contains("more than 1,000,000 nodes", e.Message);
    }

    [Fact]
    public void A_function_importing_another_version_of_a_domain_is_a_clear_error()
    {
        var graph = Model();
        graph.Proto.Functions[0].OpsetImport[0].Version = 13;
        var e = Assert.Throws<OnnxModelException>(() => graph.Build());
        Assert.Contains("function 'ScaledTanh' imports opset 13", e.Message);
    }
}
