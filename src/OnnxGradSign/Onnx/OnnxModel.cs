using Google.Protobuf;
using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Onnx;

/// <summary>An ONNX file read and checked: its opsets, weights, real inputs, outputs and nodes in an order that respects data flow.</summary>
public sealed class OnnxModel
{
    public const string DefaultDomain = "";

    public string Path { get; }
    public string Directory { get; }
    public ModelProto Proto { get; }
    public GraphProto Graph => Proto.Graph;
    public string ProducerName => Proto.ProducerName ?? "";
    public string ProducerVersion => Proto.ProducerVersion ?? "";
    public IReadOnlyDictionary<string, long> Opsets { get; }
    public IReadOnlyDictionary<string, TensorProto> Initializers { get; }

    /// <summary>Whether some weights live in files beside the model (TensorProto.data_location EXTERNAL).</summary>
    public bool HasExternalData => Initializers.Values.Any(t => t.DataLocation == TensorProto.Types.DataLocation.External);
    /// <summary>Graph inputs a caller must feed (initializers listed among the inputs are weights, not inputs).</summary>
    public IReadOnlyList<ValueInfoProto> Inputs { get; }
    /// <summary>The exporter the file came from (its producer_name, else its naming traits): it picks the fresh initialization's rules.</summary>
    public Exporter Exporter { get; }
    public IReadOnlyList<ValueInfoProto> Outputs => Graph.Output;
    /// <summary>Nodes in topological order, computed from the graph rather than trusted from the file; calls of model-local functions are expanded.</summary>
    public IReadOnlyList<NodeProto> Nodes { get; }

    private OnnxModel(string path, ModelProto proto)
    {
        Path = path;
        Directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path)) ?? ".";
        Proto = proto;
        if (proto.Graph is null)
            throw new OnnxModelException(path, "the file holds no graph (not an ONNX model, or truncated)");
        var opsets = ReadOpsets(proto);
        Initializers = ReadInitializers(path, proto.Graph);
        ModelChecker.Check(path, proto, Initializers);
        Exporter = Exporter.Recognize(proto);
        Inputs = proto.Graph.Input.Where(i => !Initializers.ContainsKey(i.Name)).ToList();
        if (proto.Graph.Output.Count == 0)
            throw new OnnxModelException(path, "the graph declares no outputs (not an ONNX model, or truncated)");
        var nodes = proto.Functions.Count == 0 ? proto.Graph.Node.ToList() : FunctionInliner.Expand(path, proto, opsets);
        Opsets = opsets;
        Nodes = SortTopologically(path, proto.Graph, nodes, Inputs.Select(i => i.Name).Concat(Initializers.Keys).ToHashSet());
        SortSubgraphs(Nodes, Inputs.Select(i => i.Name).Concat(Initializers.Keys).Concat(Nodes.SelectMany(n => n.Output)).ToHashSet());
    }

    private readonly Dictionary<GraphProto, IReadOnlyList<NodeProto>> _subgraphNodes = new(ReferenceEqualityComparer.Instance);

    /// <summary>A subgraph's nodes (an If branch, a Loop or Scan body) in topological order, checked at load like the main graph's.</summary>
    public IReadOnlyList<NodeProto> NodesOf(GraphProto subgraph) => _subgraphNodes[subgraph];

    /// <summary>
    /// Orders every subgraph of these nodes, where names of the enclosing graphs (<paramref name="visible"/>) count as available;
    /// a subgraph that redefines one of them breaks ONNX's single assignment across scopes and is refused.
    /// </summary>
    private void SortSubgraphs(IEnumerable<NodeProto> nodes, HashSet<string> visible)
    {
        foreach (var node in nodes)
            foreach (var (attribute, graph) in Subgraphs.Of(node))
            {
                var own = Subgraphs.Defined(graph);
                if (own.FirstOrDefault(visible.Contains) is { } shadowed)
                    throw new OnnxModelException(Path, $"subgraph '{attribute}' redefines '{shadowed}', a value of an enclosing graph", Describe(node));
                var sorted = SortTopologically(Path, graph, graph.Node.ToList(),
                    graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)).Concat(visible).ToHashSet(), $"subgraph '{attribute}' of '{Describe(node)}'");
                _subgraphNodes[graph] = sorted;
                SortSubgraphs(sorted, visible.Concat(own).ToHashSet());
            }
    }

    public static OnnxModel Load(string path)
    {
        try
        {
            InputFiles.CheckReadable(path, "model", InputFiles.MaxProtobufBytes);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            throw new OnnxModelException(path, e.Message, inner: e);
        }
        ModelProto proto;
        try
        {
            // Parsed from the stream, not a byte array: a file that is not protobuf fails at its first bytes, not after 2 GB are read.
            using var stream = File.OpenRead(path);
            proto = ModelProto.Parser.ParseFrom(stream);
        }
        catch (InvalidProtocolBufferException e)
        {
            throw new OnnxModelException(path, $"not a valid ONNX protobuf (truncated or corrupt file): {e.Message}", inner: e);
        }
        return new OnnxModel(path, proto);
    }

    public static OnnxModel FromProto(ModelProto proto, string path) => new(path, proto);

    /// <summary>The opset version the model imports for a domain ("" and "ai.onnx" are the same domain); 0 when it imports none.</summary>
    public long OpsetFor(string domain) => Opsets.TryGetValue(NormalizeDomain(domain), out var v) ? v : 0;

    public static string NormalizeDomain(string? domain) => domain is null or "ai.onnx" ? DefaultDomain : domain;

    public static string Describe(NodeProto node) => string.IsNullOrEmpty(node.Name) ? $"{node.OpType}->{string.Join(",", node.Output)}" : node.Name;

    public TorchSharp.torch.Tensor ReadInitializer(string name) => ReadTensor(Initializers[name]);

    private Dictionary<string, TensorProto>? _constantNodes;

    /// <summary>The stored value of a graph value that is constant as written, an initializer or a Constant node's `value`, or null.</summary>
    public TensorProto? ConstantProto(string name)
    {
        _constantNodes ??= Nodes.Where(n => n.OpType == "Constant" && n.Output.Count == 1)
            .Select(n => (n.Output[0], n.Attribute.FirstOrDefault(a => a.Name == "value")?.T)).Where(c => c.T is not null)
            .ToDictionary(c => c.Item1, c => c.T!);
        return Initializers.GetValueOrDefault(name) ?? _constantNodes.GetValueOrDefault(name);
    }

    /// <summary>
    /// How many rows the smallest table has that a Gather looks up with this input (a token-id input indexing its embedding),
    /// or null when no Gather reads a constant table with it: integer inputs drawn below this bound are valid indices.
    /// </summary>
    public long? IndexRange(string input)
    {
        long? range = null;
        foreach (var gather in Nodes.Where(n => n.OpType == "Gather" && n.Input.Count == 2 && n.Input[1] == input))
        {
            var table = ConstantProto(gather.Input[0]);
            if (table is null || table.Dims.Count == 0) continue;
            long axis = gather.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 0;
            long rows = table.Dims[(int)(axis < 0 ? axis + table.Dims.Count : axis)];
            range = range is null ? rows : Math.Min(range.Value, rows);
        }
        return range;
    }

    public TorchSharp.torch.Tensor ReadTensor(TensorProto proto)
    {
        try
        {
            return TensorData.ToTensor(proto, Directory);
        }
        catch (Exception e) when (e is InvalidDataException or IOException or FormatException or OverflowException)
        {
            throw new OnnxModelException(Path, e.Message, inner: e);
        }
    }

    private static Dictionary<string, long> ReadOpsets(ModelProto proto)
    {
        var opsets = new Dictionary<string, long>();
        foreach (var opset in proto.OpsetImport)
            opsets[NormalizeDomain(opset.Domain)] = opset.Version;
        // IR version 1-2 files may omit opset_import; the default domain then means opset 1.
        opsets.TryAdd(DefaultDomain, 1);
        return opsets;
    }

    private static Dictionary<string, TensorProto> ReadInitializers(string path, GraphProto graph)
    {
        var initializers = new Dictionary<string, TensorProto>();
        foreach (var init in graph.Initializer)
            if (!initializers.TryAdd(init.Name, init))
                throw new OnnxModelException(path, $"initializer '{init.Name}' is defined twice");
        foreach (var sparse in graph.SparseInitializer)
            throw new OnnxModelException(path, $"sparse initializer '{sparse.Values?.Name}' is not supported");
        return initializers;
    }

    /// <param name="available">Names defined before any node runs: graph inputs, initializers, and for a subgraph the enclosing graphs' values.</param>
    /// <param name="scope">How errors name a subgraph; null for the main graph.</param>
    private static List<NodeProto> SortTopologically(string path, GraphProto graph, List<NodeProto> nodes, HashSet<string> available, string? scope = null)
    {
        string In(string message) => scope is null ? message : $"{scope}: {message}";
        var producer = new Dictionary<string, int>();
        for (int n = 0; n < nodes.Count; n++)
            foreach (var output in nodes[n].Output.Where(o => o.Length > 0))
                if (!producer.TryAdd(output, n) || available.Contains(output))
                    throw new OnnxModelException(path, In($"value '{output}' has more than one producer"), Describe(nodes[n]));

        var pending = new int[nodes.Count];
        var consumers = new List<int>[nodes.Count];
        for (int n = 0; n < nodes.Count; n++)
        {
            consumers[n] = new List<int>();
            // A node waits for the values its subgraphs read from this graph, too.
            foreach (var input in Subgraphs.Reads(nodes[n]).Distinct())
            {
                if (producer.TryGetValue(input, out var p)) pending[n]++;
                else if (!available.Contains(input))
                    throw new OnnxModelException(path,
                        In($"input '{input}' is not produced by any node, initializer or graph input (missing initializer?)"), Describe(nodes[n]));
            }
        }
        for (int n = 0; n < nodes.Count; n++)
            foreach (var input in Subgraphs.Reads(nodes[n]).Distinct())
                if (producer.TryGetValue(input, out var p)) consumers[p].Add(n);

        // Kahn's algorithm; a min-heap on file position keeps the file's order wherever it is already valid.
        var ready = new PriorityQueue<int, int>();
        for (int n = 0; n < pending.Length; n++)
            if (pending[n] == 0) ready.Enqueue(n, n);
        var order = new List<NodeProto>(nodes.Count);
        while (ready.TryDequeue(out var n, out _))
        {
            order.Add(nodes[n]);
            foreach (var c in consumers[n])
                if (--pending[c] == 0) ready.Enqueue(c, c);
        }
        if (order.Count < nodes.Count)
        {
            var stuck = Enumerable.Range(0, pending.Length).Where(n => pending[n] > 0).Select(n => Describe(nodes[n])).Take(10);
            throw new OnnxModelException(path, In($"the graph has a cycle through nodes {string.Join(", ", stuck.Select(s => $"'{s}'"))}"));
        }

        foreach (var output in graph.Output)
            if (!producer.ContainsKey(output.Name) && !available.Contains(output.Name))
                throw new OnnxModelException(path, In($"graph output '{output.Name}' is not produced by any node"));
        return order;
    }
}
