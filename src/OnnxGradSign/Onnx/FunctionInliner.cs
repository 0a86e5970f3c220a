using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Onnx;

/// <summary>
/// Expands calls of model-local functions (ModelProto.functions: the newer PyTorch exporter and onnxscript write them) into their
/// bodies, so the importer sees plain operators. Values inside a call get a prefix unique to it, the function's formal inputs and
/// outputs become the call's actual ones, and attribute references take the call's attributes or the function's defaults.
/// </summary>
internal static class FunctionInliner
{
    private const int MaxDepth = 64;

    /// <summary>The most nodes inlining may produce: calls nested a few dozen deep, each calling twice, would otherwise expand 2^depth times.</summary>
    private const int MaxNodes = 1_000_000;

    public static List<NodeProto> Expand(string path, ModelProto proto, Dictionary<string, long> opsets)
    {
        var functions = new Dictionary<(string, string, string), FunctionProto>();
        foreach (var function in proto.Functions)
        {
            if (!functions.TryAdd(Key(function.Domain, function.Name, function.Overload), function))
                throw new OnnxModelException(path, $"function '{function.Domain}.{function.Name}' is defined twice");
            foreach (var import in function.OpsetImport)
            {
                var domain = OnnxModel.NormalizeDomain(import.Domain);
                if (opsets.TryGetValue(domain, out var version) && version != import.Version)
                    throw new OnnxModelException(path, $"function '{function.Name}' imports opset {import.Version} of domain " +
                        $"'{domain}' but the model imports {version}; mixed versions of one domain are not supported");
                opsets[domain] = import.Version;
            }
        }

        var expanded = new List<NodeProto>();
        int calls = 0;
        void Add(NodeProto node)
        {
            if (!functions.TryGetValue(Key(node.Domain, node.OpType, node.Overload), out var function))
            {
                expanded.Add(node);
                return;
            }
            var prefix = $"{(node.Name.Length > 0 ? node.Name : function.Name)}#{calls++}/";
            var actual = new Dictionary<string, string>();
            for (int i = 0; i < function.Input.Count; i++) actual[function.Input[i]] = i < node.Input.Count ? node.Input[i] : "";
            for (int i = 0; i < function.Output.Count && i < node.Output.Count; i++) actual[function.Output[i]] = node.Output[i];
            string Rename(string name) => name.Length == 0 ? "" : actual.TryGetValue(name, out var a) ? a : prefix + name;

            foreach (var inner in function.Node)
            {
                var call = new NodeProto { Name = prefix + inner.Name, OpType = inner.OpType, Domain = inner.Domain };
                if (inner.HasOverload) call.Overload = inner.Overload;
                call.Input.AddRange(inner.Input.Select(Rename));
                call.Output.AddRange(inner.Output.Select(Rename));
                foreach (var attribute in inner.Attribute)
                {
                    if (attribute.RefAttrName.Length == 0) { call.Attribute.Add(attribute); continue; }
                    var value = node.Attribute.FirstOrDefault(a => a.Name == attribute.RefAttrName)
                        ?? function.AttributeProto.FirstOrDefault(a => a.Name == attribute.RefAttrName);
                    if (value is null) continue; // an optional attribute the call leaves unset
                    var bound = value.Clone();
                    bound.Name = attribute.Name;
                    call.Attribute.Add(bound);
                }
                Add(call);
            }
        }
        // Counted before anything is expanded, so a call tree that would fill the memory is refused at once.
        var sizes = new Dictionary<FunctionProto, long>();
        long Size(NodeProto node, int depth)
        {
            if (!functions.TryGetValue(Key(node.Domain, node.OpType, node.Overload), out var function)) return 1;
            if (sizes.TryGetValue(function, out var known)) return known;
            if (depth >= MaxDepth)
                throw new OnnxModelException(path, $"function '{function.Name}' calls itself, or calls nest deeper than {MaxDepth}", OnnxModel.Describe(node));
            return sizes[function] = Math.Min(function.Node.Sum(inner => Size(inner, depth + 1)), MaxNodes + 1L);
        }
        if (Math.Min(proto.Graph.Node.Sum(node => Size(node, 0)), MaxNodes + 1L) > MaxNodes)
            throw new OnnxModelException(path, $"inlining its functions gives more than {MaxNodes:N0} nodes");
        foreach (var node in proto.Graph.Node) Add(node);
        return expanded;
    }

    private static (string, string, string) Key(string domain, string name, string overload) => (OnnxModel.NormalizeDomain(domain), name, overload);
}
