using System.Text;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

public enum WeightInit { Fresh, Keep }

/// <param name="FoldShapes">Fold shape arithmetic on runtime tensors into constants or batch-size functions (see <see cref="ShapeFolding"/>).</param>
/// <param name="Dequantize">Import a quantized graph as its dequantized float network (see <see cref="Dequantization"/>), as scoring does.</param>
public sealed record ImportOptions(WeightInit Init = WeightInit.Fresh, long Seed = 0, bool FoldShapes = true, bool Dequantize = false)
{
    /// <summary>
    /// Inputs without a batch axis that hold the same value on every run (a sample rate): folded at import like constants, so an
    /// If on such an input keeps only the branch it takes. The model must then be fed that value.
    /// </summary>
    public IReadOnlyDictionary<string, double>? InputValues { get; init; }
}

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
        if (options.Dequantize) model = Dequantization.FloatNetwork(model);

        var imported = ImportPass.Main(model, registry, new Dictionary<string, ShapeValue>(), options.InputValues);
        if (options.FoldShapes && ShapeFolding.Analyze(imported) is { Count: > 0 } known)
        {
            imported.Dispose();
            imported = ImportPass.Main(model, registry, known, options.InputValues);
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

    /// <summary>What every graph of one import shares: the parameters and buffers of the module, and the nodes it could not convert.</summary>
    private sealed class ImportState(OnnxModel model, OpRegistry registry, IReadOnlyDictionary<string, ShapeValue> known)
    {
        public OnnxModel Model { get; } = model;
        public OpRegistry Registry { get; } = registry;
        /// <summary>Shape values ShapeFolding found constant or batch-affine in the main graph, by value name.</summary>
        public IReadOnlyDictionary<string, ShapeValue> Known { get; } = known;
        public List<ParameterInfo> Parameters { get; } = new();
        public Dictionary<string, (Tensor Tensor, bool IsParameter)> Tensors { get; } = new();
        public List<UnsupportedNode> Unsupported { get; } = new();
        public RunContext Fold { get; } = new();
        /// <summary>Main-graph nodes that lay a recurrent module's parameters out as W, R and B (see GateReorders).</summary>
        public HashSet<NodeProto> GateReorders { get; init; } = [];
    }

    /// <summary>
    /// One walk over a graph, building its slots, steps, parameters and buffers: the main graph, or a subgraph run at run time
    /// (<paramref name="outer"/> is the enclosing graph's pass; the values read from it are reported to <paramref name="onCapture"/>).
    /// An If whose condition is known at import is replaced by its taken branch, imported into the same graph in a scope of its own.
    /// </summary>
    private sealed class ImportPass(ImportState state, ImportPass? outer = null, Action<int>? onCapture = null)
    {
        private static readonly HashSet<string> WeightLayouts = ["Identity", "Transpose", "Reshape", "Cast", "Unsqueeze", "Squeeze", "Flatten"];

        /// <summary>What PyTorch's export does to an RNN module's parameters to lay them out as ONNX's W, R and B.</summary>
        private static readonly HashSet<string> GateLayouts = ["Slice", "Concat", "Split", .. WeightLayouts];

        private static readonly HashSet<string> NeverFolded = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli",
            "If", "Loop", "Scan"];

        private static readonly IReadOnlyDictionary<string, ShapeValue> NoneKnown = new Dictionary<string, ShapeValue>();

        private OnnxModel Model => state.Model;
        /// <summary>Value names by scope, innermost last: the graph's own, then one per If branch being imported in place.</summary>
        private readonly List<Dictionary<string, Value>> _scopes = [new()];
        private readonly List<ImportedStep> _steps = new();
        private readonly List<ConstantSlot> _constants = new();
        private readonly List<int> _captureSlots = new();
        private int[] _inputSlots = [];
        private int _slotCount;

        public static ImportedModel Main(OnnxModel model, OpRegistry registry, IReadOnlyDictionary<string, ShapeValue> known, IReadOnlyDictionary<string, double>? inputValues)
        {
            var state = new ImportState(model, registry, known) { GateReorders = GateReorders(model) };
            var pass = new ImportPass(state);
            pass._inputSlots = model.Inputs.Select(input =>
            {
                pass.Define(input.Name, new Value { Origin = input.Name, Slot = pass._slotCount, Constant = FixedValue(input, inputValues) });
                return pass._slotCount++;
            }).ToArray();
            foreach (var name in model.Initializers.Keys)
                pass.Define(name, new Value { Origin = name, Constant = model.ReadInitializer(name), IsInitializer = true });
            foreach (var node in model.Nodes) pass.ImportNode(node);

            if (state.Unsupported.Count > 0) throw new UnsupportedOpsException(model.Path, state.Unsupported);
            var outputSlots = model.Outputs.Select(o => pass.Materialize(pass.Get(o.Name), null, null)).ToArray();
            var program = new GraphProgram(pass._slotCount, pass._inputSlots, outputSlots, pass._steps, pass._constants);
            return new ImportedModel(model, program, state.Parameters, state.Tensors);
        }

        /// <summary>An input given a value for every run (and no symbolic axis), as the constant it then is; null otherwise.</summary>
        private static Tensor? FixedValue(ValueInfoProto input, IReadOnlyDictionary<string, double>? values)
        {
            if (values?.TryGetValue(input.Name, out var given) != true) return null;
            var shape = Data.InputPreparation.DeclaredShape(input);
            if (shape.Any(d => d < 0)) return null;
            var type = TensorData.TorchType((TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? (int)TensorProto.Types.DataType.Float));
            return full(shape, given, type);
        }

        /// <summary>A subgraph's program: its formal inputs, then the values it reads from enclosing graphs, as input slots.</summary>
        private GraphProgram Subgraph(GraphProto graph)
        {
            var formal = graph.Input.Select(input => { Define(input.Name, new Value { Origin = input.Name, Slot = _slotCount }); return _slotCount++; }).ToList();
            DefineInitializers(graph);
            foreach (var node in Model.NodesOf(graph)) ImportNode(node);
            var outputSlots = graph.Output.Select(o => Materialize(Get(o.Name), null, null)).ToArray();
            return new GraphProgram(_slotCount, [.. formal, .. _captureSlots], outputSlots, _steps, _constants);
        }

        private void DefineInitializers(GraphProto graph)
        {
            foreach (var init in graph.Initializer)
                Define(init.Name, new Value { Origin = init.Name, Constant = Model.ReadTensor(init), IsInitializer = true });
        }

        private Value Define(string name, Value value) => _scopes[^1][name] = value;

        private Value Get(string name) => Lookup(name) ?? throw new OnnxModelException(Model.Path, $"value '{name}' is not defined in any enclosing graph");

        private Value? Lookup(string name)
        {
            for (int s = _scopes.Count - 1; s >= 0; s--)
                if (_scopes[s].TryGetValue(name, out var own)) return own;
            if (outer?.Lookup(name) is not { } found) return null;
            // A value of an enclosing graph: a constant is copied in (it stays foldable), a run-time value becomes an input that the
            // node running this subgraph passes on.
            Value value;
            if (found.Constant is not null)
                value = new Value { Origin = found.Origin, Constant = found.Constant, Producer = found.Producer, IsInitializer = found.IsInitializer };
            else
            {
                onCapture!(outer.Materialize(found, null, null));
                value = new Value { Origin = found.Origin, Slot = _slotCount++, Producer = found.Producer };
                _captureSlots.Add(value.Slot);
            }
            return _scopes[0][name] = value;
        }

        private void ImportNode(NodeProto node)
        {
            // Shape folding probes the main graph only; a subgraph run at run time keeps its shape arithmetic.
            var known = outer is null ? state.Known : NoneKnown;
            if (node.Output.Where(o => o.Length > 0).All(known.ContainsKey))
            {
                foreach (var output in node.Output.Where(o => o.Length > 0))
                    Define(output, known[output].IsConstant
                        ? new Value { Origin = output, Constant = known[output].Offset, Producer = node }
                        : new Value { Origin = output, BatchAffine = known[output], Producer = node });
                return;
            }
            if (node.OpType == "If" && OnnxModel.NormalizeDomain(node.Domain) == OnnxModel.DefaultDomain && node.Input.Count == 1
                && Get(node.Input[0]).Constant is { } condition)
            {
                InlineBranch(node, condition);
                return;
            }
            long opset = Model.OpsetFor(node.Domain);
            var context = new NodeContext(Model, node, opset, name => Lookup(name)?.Constant, name => Lookup(name)?.Producer)
            {
                ImportGraph = (graph, capture) => new ImportPass(state, this, capture).Subgraph(graph),
            };
            OpKernel kernel;
            try
            {
                var converter = state.Registry.Find(node.Domain, node.OpType, opset)
                    ?? throw new UnsupportedNodeException(opset == 0 ? $"the model imports no opset for domain '{node.Domain}'" : "no converter for this op and opset");
                kernel = converter(context);
            }
            catch (UnsupportedNodeException e)
            {
                state.Unsupported.Add(new UnsupportedNode(context.Name, node.Domain, node.OpType, opset, e.Message));
                foreach (var output in node.Output) Define(output, new Value { Origin = output, Producer = node });
                return;
            }

            bool foldable = context.Declarations.Count == 0 && !NeverFolded.Contains(node.OpType)
                && node.Input.Where(i => i.Length > 0).All(i => Get(i).Constant is not null)
                // A lookup or arithmetic on a learned tensor (Swin's bias table read through a constant index) runs at run
                // time with the tensor as a parameter; only re-layouts fold, so weights still reach their slots as constants.
                && (WeightLayouts.Contains(node.OpType) || state.GateReorders.Contains(node) || !node.Input.Any(i => i.Length > 0 && IsLearned(Get(i))));
            if (foldable) Fold(node, kernel);
            else AddStep(node, kernel, context);
        }

        /// <summary>
        /// An If whose condition is known at import (computed from shapes, or from an input given a value for the run such as a
        /// sample rate) is its taken branch: imported in place, in a scope of its own, so its weights are the model's like any other.
        /// </summary>
        private void InlineBranch(NodeProto node, Tensor condition)
        {
            if (condition.NumberOfElements != 1)
                throw new OnnxModelException(Model.Path, $"If condition has {condition.NumberOfElements} elements; it must be a single boolean", OnnxModel.Describe(node));
            var attribute = condition.to_type(ScalarType.Bool).item<bool>() ? "then_branch" : "else_branch";
            var branch = Subgraphs.Of(node).Where(s => s.Attribute == attribute).Select(s => s.Graph).FirstOrDefault()
                ?? throw new OnnxModelException(Model.Path, $"If has no {attribute}", OnnxModel.Describe(node));
            if (branch.Output.Count != node.Output.Count)
                throw new OnnxModelException(Model.Path, $"If's {attribute} gives {branch.Output.Count} output(s) for the node's {node.Output.Count}", OnnxModel.Describe(node));
            _scopes.Add(new());
            DefineInitializers(branch);
            foreach (var inner in Model.NodesOf(branch)) ImportNode(inner);
            var results = branch.Output.Select(o => Get(o.Name)).ToList();
            _scopes.RemoveAt(_scopes.Count - 1);
            for (int k = 0; k < node.Output.Count; k++)
                if (node.Output[k].Length > 0) Define(node.Output[k], results[k]);
        }

        private void AddStep(NodeProto node, OpKernel kernel, NodeContext context)
        {
            var inputs = new int[node.Input.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                if (node.Input[i].Length == 0) { inputs[i] = -1; continue; }
                var value = Get(node.Input[i]);
                inputs[i] = Materialize(value, context.Declarations.GetValueOrDefault(i), context);
                if (context.Declarations.ContainsKey(i) && value.Parameter is not null) context.Parameters[i] = value.Parameter;
            }
            var outputs = node.Output.Select(name =>
            {
                if (name.Length == 0) return -1;
                Define(name, new Value { Origin = name, Slot = _slotCount, Producer = node });
                return _slotCount++;
            }).ToArray();
            _steps.Add(new ImportedStep(node, [.. inputs, .. context.CapturedSlots], outputs, kernel));
        }

        private void Fold(NodeProto node, OpKernel kernel)
        {
            // Identity keeps the value itself, so a weight tied through Identity stays one parameter.
            if (node.OpType == "Identity")
            {
                Define(node.Output[0], Get(node.Input[0]));
                return;
            }
            var inputs = node.Input.Select(i => i.Length == 0 ? null : Get(i)).ToArray();
            Tensor[] results;
            try
            {
                results = kernel(inputs.Select(v => v?.Constant).ToArray(), state.Fold);
            }
            catch (Exception e)
            {
                throw new OnnxModelException(Model.Path, $"{node.OpType} failed while folding constants: {NativeErrors.Describe(e)}", OnnxModel.Describe(node), e);
            }
            // A weight reshaped, transposed or cast at export keeps its name: the origin of the input it re-lays out (as many
            // elements), else the node's own name (a ConstantOfShape weight is named after itself, not its shape vector).
            var source = inputs.Where(v => v is not null).MaxBy(v => v!.Constant!.NumberOfElements);
            for (int o = 0; o < node.Output.Count; o++)
            {
                if (node.Output[o].Length == 0) continue;
                bool relayout = source is { Constant.NumberOfElements: > 1 } && node.Output.Count == 1
                    && source.Constant.NumberOfElements == results[o].NumberOfElements;
                string origin = state.GateReorders.Contains(node) ? GateOrigin(inputs)
                    : relayout ? source!.Origin : node.Output.Count == 1 && node.Name.Length > 0 ? node.Name : node.Output[o];
                Define(node.Output[o], new Value { Origin = origin, Constant = results[o], Producer = node });
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
                state.Parameters.Add(info);
                value.Parameter = info;
                isParameter = info.Trainable;
            }
            // Parameters must own their storage: a folded constant may share it with another value.
            state.Tensors[key] = (isParameter ? tensor.clone() : tensor, isParameter);
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
            for (int n = 1; state.Tensors.ContainsKey(unique); n++) unique = $"{key}_{n}";
            return unique;
        }
    }
}
