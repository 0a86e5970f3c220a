using System.Text.Json;
using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Onnx;

/// <summary>
/// The structural rules of ONNX's own checker that a file can break without failing to import, checked before anything runs so
/// that a broken graph is refused with the node at fault instead of being scored as if nothing were wrong: opset imports (each
/// domain once, at least one from IR version 3 on), a graph with nodes, each attribute once per node, input and output counts
/// of common one-input ops, and convolution kernels consistent with their weights.
/// </summary>
public static class ModelChecker
{
    private sealed record Schema(long Since, int[] Inputs, int[] Outputs, Dictionary<string, JsonElement> Attributes);

    private sealed record Schemas(string Onnx, long Opset, Dictionary<string, Schema[]> Ops);

    /// <summary>ONNX's own operator schemas (tools/make_op_schemas.py), for the default domain up to the opset they cover.</summary>
    private static readonly Lazy<Schemas> Known = new(() =>
    {
        using var stream = typeof(ModelChecker).Assembly.GetManifestResourceStream("op_schemas.json")!;
        return JsonSerializer.Deserialize<Schemas>(stream, new JsonSerializerOptions { PropertyNameCaseInsensitive = true })!;
    });

    public static void Check(string path, ModelProto proto, IReadOnlyDictionary<string, TensorProto> initializers)
    {
        var domains = new HashSet<string>();
        foreach (var import in proto.OpsetImport)
            if (!domains.Add(OnnxModel.NormalizeDomain(import.Domain)))
                throw new OnnxModelException(path, $"opset_import names the domain '{import.Domain}' twice");
        if (proto.IrVersion >= 3 && proto.OpsetImport.Count == 0)
            throw new OnnxModelException(path, $"IR version {proto.IrVersion} requires opset_import, and the file has none");
        if (proto.Graph.Node.Count == 0)
            throw new OnnxModelException(path, "the graph has no nodes");
        long opset = proto.OpsetImport.Where(o => OnnxModel.NormalizeDomain(o.Domain) == "").Select(o => o.Version).DefaultIfEmpty(0).Max();
        CheckNodes(path, proto.Graph, initializers, opset, 0);
    }

    /// <summary>Far beyond any exporter's nesting of If/Loop/Scan bodies; deeper is a hostile file, refused before anything recurses.</summary>
    public const int MaxSubgraphDepth = 16;

    private static void CheckNodes(string path, GraphProto graph, IReadOnlyDictionary<string, TensorProto> initializers, long opset, int depth)
    {
        foreach (var node in graph.Node)
        {
            CheckNode(path, node, initializers, opset);
            foreach (var (attribute, subgraph) in Subgraphs.Of(node))
            {
                if (depth + 1 > MaxSubgraphDepth)
                    throw new OnnxModelException(path, $"subgraph '{attribute}' nests deeper than {MaxSubgraphDepth} graphs", OnnxModel.Describe(node));
                if (subgraph.Output.Count == 0)
                    throw new OnnxModelException(path, $"subgraph '{attribute}' declares no outputs", OnnxModel.Describe(node));
                var own = new Dictionary<string, TensorProto>(initializers);
                foreach (var init in subgraph.Initializer) own[init.Name] = init;
                CheckNodes(path, subgraph, own, opset, depth + 1);
            }
        }
    }

    private static void CheckNode(string path, NodeProto node, IReadOnlyDictionary<string, TensorProto> initializers, long opset)
    {
        var name = OnnxModel.Describe(node);
        if (node.Attribute.GroupBy(a => a.Name).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new OnnxModelException(path, $"attribute '{twice.Key}' is given {twice.Count()} times", name);
        if (node.Domain is not ("" or "ai.onnx")) return;
        CheckSchema(path, node, name, opset);
        if (node.OpType is "Conv" or "ConvTranspose") CheckKernel(path, node, name, initializers);
        if (node.OpType == "Gemm" && node.Attribute.FirstOrDefault(a => a.Name is "transA" or "transB" && a.I is not (0 or 1)) is { } flag)
            throw new OnnxModelException(path, $"{flag.Name} is {flag.I}; it is a flag, 0 or 1", name);
        if (node.OpType is "Conv" or "ConvTranspose" or "MaxPool" or "AveragePool" or "LpPool") CheckWindow(path, node, name);
    }

    /// <summary>
    /// Input and output counts, attribute types and required attributes, as ONNX's checker holds the node to the schema of its
    /// opset. Opsets newer than the schemas' (and operators they lack) are left to the importer.
    /// </summary>
    private static void CheckSchema(string path, NodeProto node, string name, long opset)
    {
        var known = Known.Value;
        if (opset > known.Opset || !known.Ops.TryGetValue(node.OpType, out var versions)) return;
        var schema = versions.LastOrDefault(v => v.Since <= opset);
        if (schema is null) return;
        string Range(int[] r) => r[0] == r[1] ? $"{r[0]}" : r[1] == int.MaxValue ? $"at least {r[0]}" : $"{r[0]} to {r[1]}";
        if (node.Input.Count < schema.Inputs[0] || node.Input.Count > schema.Inputs[1])
            throw new OnnxModelException(path, $"{node.OpType}-{schema.Since} takes {Range(schema.Inputs)} input(s), this node has {node.Input.Count}", name);
        if (node.Output.Count < schema.Outputs[0] || node.Output.Count > schema.Outputs[1])
            throw new OnnxModelException(path, $"{node.OpType}-{schema.Since} gives {Range(schema.Outputs)} output(s), this node has {node.Output.Count}", name);
        foreach (var attribute in node.Attribute)
        {
            // An untyped attribute (some old exporters leave the type unset) is read by its value field, as ONNX Runtime does.
            if (attribute.Type == AttributeProto.Types.AttributeType.Undefined || !schema.Attributes.TryGetValue(attribute.Name, out var expected)) continue;
            var type = (AttributeProto.Types.AttributeType)expected[0].GetInt32();
            if (attribute.Type != type)
                throw new OnnxModelException(path, $"attribute '{attribute.Name}' of {node.OpType} must be {type}, it is {attribute.Type}", name);
        }
        foreach (var (attribute, spec) in schema.Attributes)
            if (spec[1].GetBoolean() && node.Attribute.All(a => a.Name != attribute))
                throw new OnnxModelException(path, $"{node.OpType}-{schema.Since} requires attribute '{attribute}'", name);
    }

    /// <summary>Beyond any real network's window, and where libtorch's size arithmetic overflows (a SIGFPE no handler can catch).</summary>
    private const long MaxWindow = 1 << 24;

    /// <summary>Strides, dilations, pads and group in range: libtorch divides by them and sizes buffers with them unchecked.</summary>
    private static void CheckWindow(string path, NodeProto node, string name)
    {
        foreach (var attribute in node.Attribute)
        {
            long low = attribute.Name switch { "strides" or "dilations" or "kernel_shape" or "group" => 1, "pads" or "output_padding" => 0, _ => -1 };
            if (low < 0) continue;
            var values = attribute.Name == "group" ? [attribute.I] : attribute.Ints.ToArray();
            if (attribute.Type != (attribute.Name == "group" ? AttributeProto.Types.AttributeType.Int : AttributeProto.Types.AttributeType.Ints))
                throw new OnnxModelException(path, $"{attribute.Name} has the wrong type ({attribute.Type})", name);
            if (values.Any(v => v < low || v > MaxWindow))
                throw new OnnxModelException(path, $"{attribute.Name} [{string.Join(",", values)}] must lie in [{low}, {MaxWindow}]", name);
        }
    }

    private static void CheckKernel(string path, NodeProto node, string name, IReadOnlyDictionary<string, TensorProto> initializers)
    {
        if (node.Input.Count < 2)
            throw new OnnxModelException(path, $"{node.OpType} needs an input and a weight, this node has {node.Input.Count} input(s)", name);
        var kernel = node.Attribute.FirstOrDefault(a => a.Name == "kernel_shape");
        if (kernel is not null && (kernel.Type != AttributeProto.Types.AttributeType.Ints || kernel.Ints.Count == 0))
            throw new OnnxModelException(path, $"kernel_shape must be a list of integers (it is {kernel.Type})", name);
        if (kernel is not null && kernel.Ints.Any(k => k <= 0))
            throw new OnnxModelException(path, $"kernel_shape [{string.Join(",", kernel.Ints)}] must be positive", name);
        if (!initializers.TryGetValue(node.Input[1], out var weight)) return; // a computed weight is checked when it runs
        if (weight.Dims.Count < 3)
            throw new OnnxModelException(path, $"weight '{weight.Name}' [{string.Join(",", weight.Dims)}] needs [out, in, k...] dims", name);
        if (weight.Dims.Take(2).Any(d => d <= 0))
            throw new OnnxModelException(path, $"weight '{weight.Name}' [{string.Join(",", weight.Dims)}] has no channels", name);
        if (kernel is not null && !kernel.Ints.SequenceEqual(weight.Dims.Skip(2)))
            throw new OnnxModelException(path,
                $"kernel_shape [{string.Join(",", kernel.Ints)}] contradicts weight '{weight.Name}' [{string.Join(",", weight.Dims)}]", name);
    }
}
