using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>What a converter may know about its node at import time: attributes, the opset, constant inputs and their producers.</summary>
public sealed class NodeContext
{
    private readonly OnnxModel _model;
    private readonly Func<string, Tensor?> _constant;
    private readonly Func<string, NodeProto?> _producer;
    private readonly Dictionary<string, AttributeProto> _attributes;

    public NodeProto Node { get; }
    public long Opset { get; }
    public string Name => OnnxModel.Describe(Node);
    /// <summary>Weight declarations made by the converter, by input index.</summary>
    public Dictionary<int, ParameterDeclaration> Declarations { get; } = new();
    /// <summary>The parameters the importer made of declared inputs; kernels read them at run time to report weight-layer calls.</summary>
    internal Dictionary<int, ParameterInfo> Parameters { get; } = new();

    /// <summary>Imports a subgraph whose outer-scope reads are reported, as slots of the enclosing graph, to the callback.</summary>
    internal Func<GraphProto, Action<int>, GraphProgram>? ImportGraph { get; init; }
    /// <summary>Slots of the enclosing graph that the node's subgraphs read: the step passes them after the node's own inputs.</summary>
    internal List<int> CapturedSlots { get; } = new();

    internal NodeContext(OnnxModel model, NodeProto node, long opset, Func<string, Tensor?> constant, Func<string, NodeProto?> producer)
    {
        _model = model;
        Node = node;
        Opset = opset;
        _constant = constant;
        _producer = producer;
        _attributes = new Dictionary<string, AttributeProto>();
        foreach (var a in node.Attribute) _attributes[a.Name] = a;
    }

    public int InputCount => Node.Input.Count;
    public int OutputCount => Node.Output.Count;
    public bool HasInput(int i) => i < Node.Input.Count && Node.Input[i].Length > 0;
    public bool IsConstant(int i) => HasInput(i) && _constant(Node.Input[i]) is not null;
    public Tensor? Constant(int i) => HasInput(i) ? _constant(Node.Input[i]) : null;
    public NodeProto? Producer(int i) => HasInput(i) ? _producer(Node.Input[i]) : null;
    /// <summary>The constant value of any value of the graph by name (e.g. the weight input of a producer node).</summary>
    public Tensor? ConstantOf(string valueName) => _constant(valueName);

    /// <summary>A constant integer input as longs (shapes, axes, pads), or null when the input is omitted or only known at run time.</summary>
    public long[]? ConstantLongs(int i) => Constant(i) is { } t ? ToLongs(t) : null;

    public static long[] ToLongs(Tensor t)
    {
        using var l = t.to_type(ScalarType.Int64).cpu().contiguous();
        return l.data<long>().ToArray();
    }

    /// <summary>Says that input i is a weight of the given kind; the importer makes it a parameter (or a buffer for running statistics).</summary>
    public void Declare(int i, ParameterDeclaration declaration)
    {
        if (IsConstant(i) && Constant(i)!.is_floating_point()) Declarations[i] = declaration;
    }

    public ParameterInfo? DeclaredParameter(int i) => Parameters.GetValueOrDefault(i);

    public bool Has(string name) => _attributes.ContainsKey(name);
    public long Int(string name, long fallback) => _attributes.TryGetValue(name, out var a) ? a.I : fallback;
    public float Float(string name, float fallback) => _attributes.TryGetValue(name, out var a) ? a.F : fallback;
    public string String(string name, string fallback) => _attributes.TryGetValue(name, out var a) ? a.S.ToStringUtf8() : fallback;
    public long[]? Ints(string name) => _attributes.TryGetValue(name, out var a) ? a.Ints.ToArray() : null;
    public float[]? Floats(string name) => _attributes.TryGetValue(name, out var a) ? a.Floats.ToArray() : null;
    public Tensor? TensorAttribute(string name) => _attributes.TryGetValue(name, out var a) && a.T is not null ? _model.ReadTensor(a.T) : null;
    public IEnumerable<string> AttributeNames => _attributes.Keys;

    /// <summary>The graph in an attribute (an If branch, a Loop or Scan body), imported as a program the kernel runs.</summary>
    public SubgraphCall Subgraph(string attribute, int formalInputs)
    {
        var graph = _attributes.GetValueOrDefault(attribute)?.G ?? throw Unsupported($"attribute '{attribute}' holds no graph");
        if (graph.Input.Count != formalInputs)
            throw Unsupported($"subgraph '{attribute}' takes {graph.Input.Count} input(s); {formalInputs} expected");
        var captured = new List<int>();
        var program = ImportGraph!(graph, slot =>
        {
            int index = CapturedSlots.IndexOf(slot);
            if (index < 0) { index = CapturedSlots.Count; CapturedSlots.Add(slot); }
            captured.Add(Node.Input.Count + index);
        });
        return new SubgraphCall(program, graph.Output, captured.ToArray());
    }

    public UnsupportedNodeException Unsupported(string what) => new($"{Node.OpType}-{Opset}: {what}");
}

/// <summary>A subgraph a kernel runs: its program, its declared outputs, and which of the step's inputs are the values it captured.</summary>
public sealed record SubgraphCall(GraphProgram Program, IReadOnlyList<ValueInfoProto> Outputs, int[] Captured)
{
    public int OutputCount => Outputs.Count;

    /// <summary>
    /// A scan output of no iterations: empty along the new axis, the rest as the subgraph declares its element (ONNX Runtime
    /// does the same); an element without a declared shape has nothing to stack on, so [0].
    /// </summary>
    public Tensor EmptyStack(int output, Device device)
    {
        var type = Outputs[output].Type?.TensorType;
        var element = type?.Shape?.Dim.Select(d => d.DimValue > 0 ? d.DimValue : 0L) ?? [];
        var dtype = Onnx.TensorData.TorchType((TensorProto.Types.DataType)(type?.ElemType ?? (int)TensorProto.Types.DataType.Float));
        return empty([0, .. element], dtype, device);
    }

    public Tensor[] Run(RunContext run, IEnumerable<Tensor?> formal, Tensor?[] stepInputs) =>
        run.RunGraph!(Program, [.. formal, .. Captured.Select(i => stepInputs[i])]);
}
