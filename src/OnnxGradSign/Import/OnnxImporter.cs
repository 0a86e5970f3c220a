using System.Text;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

public enum WeightInit { Fresh, Keep }

/// <param name="FoldShapes">Fold shape arithmetic on runtime tensors into constants or batch-size functions (see <see cref="ShapeFolding"/>).</param>
public sealed record ImportOptions(WeightInit Init = WeightInit.Fresh, long Seed = 0, bool FoldShapes = true);

public sealed record UnsupportedNode(string Node, string Domain, string OpType, long Opset, string Reason);

/// <summary>Every node the importer could not convert, reported for the whole model at once.</summary>
public sealed class UnsupportedOpsException(string file, IReadOnlyList<UnsupportedNode> nodes)
    : OnnxModelException(file, $"{nodes.Count} unsupported node(s): " +
        string.Join("; ", nodes.Select(n => $"'{n.Node}' ({(n.Domain.Length > 0 ? n.Domain + "." : "")}{n.OpType}, opset {n.Opset}): {n.Reason}")))
{
    public IReadOnlyList<UnsupportedNode> Nodes { get; } = nodes;
}

/// <summary>
/// Builds an <see cref="ImportedModel"/> from an ONNX graph. Nodes whose inputs are all known at import time are folded into constants
/// by running their own kernels; constants that reach a weight slot become parameters, whatever produced them. Shape arithmetic on
/// runtime tensors is then probed and folded too, and the graph imported once more with those values known.
/// </summary>
public static class OnnxImporter
{
    public static ImportedModel Import(string path, ImportOptions? options = null) => Import(OnnxModel.Load(path), options);

    public static ImportedModel Import(OnnxModel model, ImportOptions? options = null, OpRegistry? registry = null)
    {
        options ??= new ImportOptions();
        registry ??= OpRegistry.Default;
        using var noGrad = no_grad();

        var imported = new ImportPass(model, registry, new Dictionary<string, ShapeValue>()).Build();
        if (options.FoldShapes && ShapeFolding.Analyze(imported) is { Count: > 0 } known)
        {
            imported.Dispose();
            imported = new ImportPass(model, registry, known).Build();
        }
        if (options.Init == WeightInit.Fresh) Initialization.Apply(imported, Initialization.StyleFor(model.Exporter), options.Seed);
        return imported;
    }

    private sealed class Value
    {
        public Tensor? Constant;
        public ShapeValue? BatchAffine;
        public required string Origin;
        public int Slot = -1;
        public NodeProto? Producer;
        public ParameterInfo? Parameter;
        public bool IsInitializer;
    }

    /// <summary>One walk over the graph, building slots, steps, parameters and buffers.</summary>
    private sealed class ImportPass(OnnxModel model, OpRegistry registry, IReadOnlyDictionary<string, ShapeValue> known)
    {
        private static readonly HashSet<string> WeightLayouts = ["Identity", "Transpose", "Reshape", "Cast", "Unsqueeze", "Squeeze", "Flatten"];

        /// <summary>What PyTorch's export does to an RNN module's parameters to lay them out as ONNX's W, R and B.</summary>
        private static readonly HashSet<string> GateLayouts = ["Slice", "Concat", "Split", .. WeightLayouts];

        private static readonly HashSet<string> NeverFolded = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"];

        private readonly Dictionary<string, Value> _values = new();
        private readonly List<ImportedStep> _steps = new();
        private readonly List<ConstantSlot> _constants = new();
        private readonly List<ParameterInfo> _parameters = new();
        private readonly Dictionary<string, Tensor> _tensors = new();
        private readonly RunContext _fold = new();
        private readonly HashSet<NodeProto> _gateReorders = GateReorders(model);
        private int[] _inputSlots = [];
        private int _slotCount;

        public ImportedModel Build()
        {
            _inputSlots = model.Inputs.Select(i => { _values[i.Name] = new Value { Origin = i.Name, Slot = _slotCount }; return _slotCount++; }).ToArray();
            foreach (var name in model.Initializers.Keys)
                _values[name] = new Value { Origin = name, Constant = model.ReadInitializer(name), IsInitializer = true };

            var unsupported = new List<UnsupportedNode>();
            foreach (var node in model.Nodes)
            {
                if (node.Output.Where(o => o.Length > 0).All(known.ContainsKey))
                {
                    foreach (var output in node.Output.Where(o => o.Length > 0))
                        _values[output] = known[output].IsConstant
                            ? new Value { Origin = output, Constant = known[output].Offset, Producer = node }
                            : new Value { Origin = output, BatchAffine = known[output], Producer = node };
                    continue;
                }
                long opset = model.OpsetFor(node.Domain);
                var context = new NodeContext(model, node, opset,
                    name => _values.TryGetValue(name, out var v) ? v.Constant : null,
                    name => _values.TryGetValue(name, out var v) ? v.Producer : null);
                OpKernel kernel;
                try
                {
                    var converter = registry.Find(node.Domain, node.OpType, opset)
                        ?? throw new UnsupportedNodeException(opset == 0 ? $"the model imports no opset for domain '{node.Domain}'" : "no converter for this op and opset");
                    kernel = converter(context);
                }
                catch (UnsupportedNodeException e)
                {
                    unsupported.Add(new UnsupportedNode(context.Name, node.Domain, node.OpType, opset, e.Message));
                    foreach (var output in node.Output) _values[output] = new Value { Origin = output, Producer = node };
                    continue;
                }

                bool foldable = context.Declarations.Count == 0 && !NeverFolded.Contains(node.OpType)
                    && node.Input.Where(i => i.Length > 0).All(i => _values[i].Constant is not null)
                    // A lookup or arithmetic on a learned tensor (Swin's bias table read through a constant index) runs at run
                    // time with the tensor as a parameter; only re-layouts fold, so weights still reach their slots as constants.
                    && (WeightLayouts.Contains(node.OpType) || _gateReorders.Contains(node) || !node.Input.Any(i => i.Length > 0 && IsLearned(_values[i])));
                if (foldable) Fold(node, kernel);
                else AddStep(node, kernel, context);
            }

            if (unsupported.Count > 0) throw new UnsupportedOpsException(model.Path, unsupported);
            var outputSlots = model.Outputs.Select(o => Materialize(_values[o.Name], null, null)).ToArray();
            return new ImportedModel(model, _slotCount, _inputSlots, outputSlots, _steps, _constants, _parameters, _tensors);
        }

        private void AddStep(NodeProto node, OpKernel kernel, NodeContext context)
        {
            var inputs = new int[node.Input.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                if (node.Input[i].Length == 0) { inputs[i] = -1; continue; }
                var value = _values[node.Input[i]];
                inputs[i] = Materialize(value, context.Declarations.GetValueOrDefault(i), context);
                if (context.Declarations.ContainsKey(i) && value.Parameter is not null) context.Parameters[i] = value.Parameter;
            }
            var outputs = node.Output.Select(name =>
            {
                if (name.Length == 0) return -1;
                _values[name] = new Value { Origin = name, Slot = _slotCount, Producer = node };
                return _slotCount++;
            }).ToArray();
            _steps.Add(new ImportedStep(node, inputs, outputs, kernel));
        }

        private void Fold(NodeProto node, OpKernel kernel)
        {
            // Identity keeps the value itself, so a weight tied through Identity stays one parameter.
            if (node.OpType == "Identity")
            {
                _values[node.Output[0]] = _values[node.Input[0]];
                return;
            }
            var inputs = node.Input.Select(i => i.Length == 0 ? null : _values[i]).ToArray();
            Tensor[] results;
            try
            {
                results = kernel(inputs.Select(v => v?.Constant).ToArray(), _fold);
            }
            catch (Exception e)
            {
                throw new OnnxModelException(model.Path, $"{node.OpType} failed while folding constants: {NativeErrors.Describe(e)}", OnnxModel.Describe(node), e);
            }
            // A weight reshaped, transposed or cast at export keeps its name: the origin of the input it re-lays out (as many
            // elements), else the node's own name (a ConstantOfShape weight is named after itself, not its shape vector).
            var source = inputs.Where(v => v is not null).MaxBy(v => v!.Constant!.NumberOfElements);
            for (int o = 0; o < node.Output.Count; o++)
            {
                if (node.Output[o].Length == 0) continue;
                bool relayout = source is { Constant.NumberOfElements: > 1 } && node.Output.Count == 1
                    && source.Constant.NumberOfElements == results[o].NumberOfElements;
                string origin = _gateReorders.Contains(node) ? GateOrigin(inputs)
                    : relayout ? source!.Origin : node.Output.Count == 1 && node.Name.Length > 0 ? node.Name : node.Output[o];
                _values[node.Output[o]] = new Value { Origin = origin, Constant = results[o], Producer = node };
            }
        }

        /// <summary>
        /// PyTorch's training-mode export builds an LSTM/GRU/RNN's W, R and B at run time from the module's parameters, slicing and
        /// concatenating their gate blocks into ONNX's order. Such nodes, whose values feed nothing but those slots (directly or
        /// through each other), fold like re-layouts, so the weights reach the layer as constants and become its parameters.
        /// </summary>
        private static HashSet<NodeProto> GateReorders(OnnxModel model)
        {
            var consumers = new Dictionary<string, List<(NodeProto Node, int Index)>>();
            foreach (var node in model.Nodes)
                for (int i = 0; i < node.Input.Count; i++)
                {
                    if (node.Input[i].Length == 0) continue;
                    if (!consumers.TryGetValue(node.Input[i], out var list)) consumers[node.Input[i]] = list = [];
                    list.Add((node, i));
                }
            var graphOutputs = model.Outputs.Select(o => o.Name).ToHashSet();
            var found = new HashSet<NodeProto>();
            foreach (var node in model.Nodes.Reverse()) // consumers come later in topological order, so they are decided first
            {
                if (!GateLayouts.Contains(node.OpType)) continue;
                var uses = node.Output.Where(o => o.Length > 0).SelectMany(o => consumers.GetValueOrDefault(o) ?? []).ToList();
                if (uses.Count > 0 && !node.Output.Any(graphOutputs.Contains)
                    && uses.All(u => found.Contains(u.Node) || (u.Node.OpType is "LSTM" or "GRU" or "RNN" && u.Index is >= 1 and <= 3)))
                    found.Add(node);
            }
            return found;
        }

        /// <summary>A recurrent weight gathered from a module's parameters is named after them: "rnn.weight_ih_l0+rnn.weight_ih_l0_reverse".</summary>
        private static string GateOrigin(Value?[] inputs) =>
            string.Join("+", inputs.Where(v => v?.Constant is { } t && t.is_floating_point()).Select(v => v!.Origin).Distinct());

        /// <summary>
        /// The slot of a value. A constant gets one the first time a step reads it, as a parameter when declared a weight, else a buffer;
        /// a batch-affine shape value gets a step computing it from the batch size.
        /// </summary>
        private int Materialize(Value value, ParameterDeclaration? declaration, NodeContext? context)
        {
            if (value.Slot >= 0) return value.Slot;
            if (value.BatchAffine is { } affine)
            {
                value.Slot = _slotCount++;
                var node = new NodeProto { Name = $"{value.Origin} (batch-size function)", OpType = "BatchAffineShape" };
                node.Output.Add(value.Origin);
                _steps.Add(new ImportedStep(node, [_inputSlots[affine.BatchInput]], [value.Slot], affine.Kernel));
                return value.Slot;
            }
            if (value.Constant is null) return value.Slot;
            var key = UniqueKey(value.Origin);
            var tensor = value.Constant;
            bool isParameter = false;
            if (declaration is null && context is not null && IsLearned(value))
                declaration = new ParameterDeclaration(LayerKind.Other, ParameterRole.Learned);
            if (declaration is not null && context is not null)
            {
                var info = new ParameterInfo(value.Origin, key, declaration.Kind, declaration.Role, context.Name, tensor.shape,
                    declaration.FanIn, declaration.FanOut, declaration.Groups);
                _parameters.Add(info);
                value.Parameter = info;
                isParameter = info.Trainable;
            }
            // Parameters must own their storage: a folded constant may share it with another value.
            _tensors[key] = isParameter ? tensor.clone() : tensor;
            value.Slot = _slotCount++;
            _constants.Add(new ConstantSlot(value.Slot, key, isParameter));
            return value.Slot;
        }

        /// <summary>
        /// PyTorch writes every nn.Parameter as a named initializer and its own constants as 'onnx::…' ones: a named float initializer
        /// is learned even where no weight slot claims it (position embeddings, class tokens, bias tables).
        /// </summary>
        private static bool IsLearned(Value value) =>
            value.IsInitializer && value.Constant is { } t && t.is_floating_point() && !value.Origin.StartsWith("onnx::");

        /// <summary>Module keys allow no dots; keep names readable and unique.</summary>
        private string UniqueKey(string origin)
        {
            var sb = new StringBuilder(origin.Length);
            foreach (var c in origin) sb.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
            var key = sb.Length == 0 ? "const" : sb.ToString();
            var unique = key;
            for (int n = 1; _tensors.ContainsKey(unique); n++) unique = $"{key}_{n}";
            return unique;
        }
    }
}
