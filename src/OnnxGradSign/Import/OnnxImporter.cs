using System.Text;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

public enum WeightInit { Fresh, Keep }

public sealed record ImportOptions(WeightInit Init = WeightInit.Fresh, long Seed = 0);

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
/// by running their own kernels; constants that reach a weight slot become parameters, whatever produced them.
/// </summary>
public static class OnnxImporter
{
    private sealed class Value
    {
        public Tensor? Constant;
        public required string Origin;
        public int Slot = -1;
        public NodeProto? Producer;
        public ParameterInfo? Parameter;
        public bool IsInitializer;
    }

    private static readonly HashSet<string> NeverFolded = ["RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial", "Bernoulli"];

    public static ImportedModel Import(string path, ImportOptions? options = null) => Import(OnnxModel.Load(path), options);

    public static ImportedModel Import(OnnxModel model, ImportOptions? options = null, OpRegistry? registry = null)
    {
        options ??= new ImportOptions();
        registry ??= OpRegistry.Default;
        using var noGrad = no_grad();

        var values = new Dictionary<string, Value>();
        int slotCount = 0;
        var inputSlots = model.Inputs.Select(i => { values[i.Name] = new Value { Origin = i.Name, Slot = slotCount }; return slotCount++; }).ToArray();
        foreach (var name in model.Initializers.Keys)
            values[name] = new Value { Origin = name, Constant = model.ReadInitializer(name), IsInitializer = true };

        var steps = new List<ImportedStep>();
        var constants = new List<ConstantSlot>();
        var parameters = new List<ParameterInfo>();
        var tensors = new Dictionary<string, Tensor>();
        var unsupported = new List<UnsupportedNode>();
        var fold = new RunContext();

        foreach (var node in model.Nodes)
        {
            long opset = model.OpsetFor(node.Domain);
            var context = new NodeContext(model, node, opset,
                name => values.TryGetValue(name, out var v) ? v.Constant : null,
                name => values.TryGetValue(name, out var v) ? v.Producer : null);
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
                foreach (var output in node.Output) values[output] = new Value { Origin = output, Slot = -1, Producer = node };
                continue;
            }

            var present = node.Input.Where(i => i.Length > 0).ToList();
            bool foldable = context.Declarations.Count == 0 && !NeverFolded.Contains(node.OpType)
                && present.All(i => values[i].Constant is not null);
            if (foldable)
            {
                FoldNode(model, node, kernel, fold, values);
                continue;
            }

            var inputs = new int[node.Input.Count];
            for (int i = 0; i < inputs.Length; i++)
            {
                if (node.Input[i].Length == 0) { inputs[i] = -1; continue; }
                var value = values[node.Input[i]];
                inputs[i] = Materialize(value, context.Declarations.GetValueOrDefault(i), context, ref slotCount, constants, parameters, tensors);
                if (context.Declarations.ContainsKey(i) && value.Parameter is not null) context.Parameters[i] = value.Parameter;
            }
            var outputs = node.Output.Select(name =>
            {
                if (name.Length == 0) return -1;
                values[name] = new Value { Origin = name, Slot = slotCount, Producer = node };
                return slotCount++;
            }).ToArray();
            steps.Add(new ImportedStep(node, inputs, outputs, kernel));
        }

        if (unsupported.Count > 0) throw new UnsupportedOpsException(model.Path, unsupported);

        var outputSlots = model.Outputs.Select(o => Materialize(values[o.Name], null, null, ref slotCount, constants, parameters, tensors)).ToArray();
        var imported = new ImportedModel(model, slotCount, inputSlots, outputSlots, steps, constants, parameters, tensors);
        if (options.Init == WeightInit.Fresh) Initialization.Apply(imported, Initialization.StyleFor(model.ProducerName), options.Seed);
        return imported;
    }

    private static void FoldNode(OnnxModel model, NodeProto node, OpKernel kernel, RunContext fold, Dictionary<string, Value> values)
    {
        // Identity keeps the value itself, so a weight tied through Identity stays one parameter.
        if (node.OpType == "Identity")
        {
            values[node.Output[0]] = values[node.Input[0]];
            return;
        }
        Tensor[] results;
        try
        {
            results = kernel(node.Input.Select(i => i.Length == 0 ? null : values[i].Constant).ToArray(), fold);
        }
        catch (Exception e)
        {
            throw new OnnxModelException(model.Path, $"{node.OpType} failed while folding constants: {e.Message}", OnnxModel.Describe(node), e);
        }
        for (int o = 0; o < node.Output.Count; o++)
        {
            if (node.Output[o].Length == 0) continue;
            string origin = node.Output.Count == 1 && node.Name.Length > 0 ? node.Name : node.Output[o];
            values[node.Output[o]] = new Value { Origin = origin, Constant = results[o], Producer = node };
        }
    }

    /// <summary>The slot of a value; a constant gets one the first time a step reads it, as a parameter when declared a weight, else a buffer.</summary>
    private static int Materialize(Value value, ParameterDeclaration? declaration, NodeContext? context, ref int slotCount,
        List<ConstantSlot> constants, List<ParameterInfo> parameters, Dictionary<string, Tensor> tensors)
    {
        if (value.Slot >= 0 || value.Constant is null) return value.Slot;
        var key = UniqueKey(value.Origin, tensors);
        var tensor = value.Constant;
        bool isParameter = false;
        // PyTorch writes every nn.Parameter as a named initializer and its own constants as 'onnx::…' ones: a named float
        // initializer that reaches a data op is learned even when no weight slot claims it (position embeddings, class tokens).
        if (declaration is null && context is not null && value.IsInitializer && tensor.is_floating_point() && !value.Origin.StartsWith("onnx::"))
            declaration = new ParameterDeclaration(LayerKind.Other, ParameterRole.Learned);
        if (declaration is not null && context is not null)
        {
            var info = new ParameterInfo(value.Origin, key, declaration.Kind, declaration.Role, context.Name, tensor.shape,
                declaration.FanIn, declaration.FanOut, declaration.Groups);
            parameters.Add(info);
            value.Parameter = info;
            isParameter = info.Trainable;
        }
        // Parameters must own their storage: a folded constant may share it with another value.
        tensors[key] = isParameter ? tensor.clone() : tensor;
        value.Slot = slotCount++;
        constants.Add(new ConstantSlot(value.Slot, key, isParameter));
        return value.Slot;
    }

    /// <summary>Module keys allow no dots; keep names readable and unique.</summary>
    private static string UniqueKey(string origin, Dictionary<string, Tensor> taken)
    {
        var sb = new StringBuilder(origin.Length);
        foreach (var c in origin) sb.Append(char.IsLetterOrDigit(c) || c == '_' ? c : '_');
        var key = sb.Length == 0 ? "const" : sb.ToString();
        var unique = key;
        for (int n = 1; taken.ContainsKey(unique); n++) unique = $"{key}_{n}";
        return unique;
    }
}
