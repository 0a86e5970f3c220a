using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>
/// A quantized graph as the float network its dequantized weights describe, which is what scoring needs: integer arithmetic has
/// no gradient. Activation quantization is the identity (a QuantizeLinear→DequantizeLinear pair passes its input on, as a
/// straight-through estimator does backwards), and an integer layer — DynamicQuantizeLinear or QuantizeLinear feeding
/// MatMulInteger/ConvInteger, then Cast to float and Mul by the product of scales, as onnx.quantize and ONNX Runtime's quantizer
/// write it — becomes MatMul/Conv of the float input with the weight (W_q − zero point)·scale, a float initializer that the
/// importer makes a trainable layer weight like any other. A weight behind DequantizeLinear folds into such a constant anyway.
/// `verify` imports the graph as it is, integer arithmetic included.
/// </summary>
public static class Dequantization
{
    private static readonly HashSet<string> QuantizationOps =
        ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearMatMul", "QLinearConv"];

    public static bool IsQuantized(OnnxModel model) => model.Nodes.Any(n => QuantizationOps.Contains(n.OpType));

    /// <summary>The rule `inspect` states for a quantized model.</summary>
    public const string Rule = "quantized: scored as its dequantized float network (each integer or DequantizeLinear-fed weight a float layer " +
        "weight of the dequantized shape, freshly initialized; activation quantization the identity); `verify` runs the quantized graph";

    /// <summary>The float network of a quantized model, or the model itself when there is nothing to rewrite.</summary>
    public static OnnxModel FloatNetwork(OnnxModel model)
    {
        if (!IsQuantized(model)) return model;
        var nodes = model.Nodes.Select(n => n.Clone()).ToList();
        var producers = new Dictionary<string, NodeProto>();
        foreach (var node in nodes)
            foreach (var output in node.Output.Where(o => o.Length > 0)) producers[output] = node;
        var consumers = nodes.SelectMany(n => n.Input.Where(i => i.Length > 0).Distinct().Select(i => (i, n)))
            .ToLookup(p => p.i, p => p.n);
        var taken = new HashSet<string>(producers.Keys.Concat(model.Initializers.Keys).Concat(model.Inputs.Select(i => i.Name)));
        var weights = new List<TensorProto>();
        int rewritten = 0;

        for (int k = 0; k < nodes.Count; k++)
        {
            var node = nodes[k];
            if (node.OpType == "DequantizeLinear" && producers.GetValueOrDefault(node.Input[0]) is { OpType: "QuantizeLinear" } quantize)
            {
                nodes[k] = Identity(node, quantize.Input[0]);
                rewritten++;
            }
            else if (node.OpType == "DequantizeLinear" && node.Input.All(i => i.Length == 0 || model.ConstantProto(i) is not null)
                && Dequantized(model, node.Input[0], node.Input[1], node.Input.Count > 2 ? node.Input[2] : "",
                    node.Attribute.FirstOrDefault(a => a.Name == "axis")?.I ?? 1, FreeName(WeightName(node.Input[0]), taken)) is { } storedWeight)
            {
                // A stored weight: its float value as an initializer of its own, so that the importer folds no arithmetic on a
                // learned scale (a named float initializer) into the run and the weight reaches its layer as a constant.
                weights.Add(storedWeight);
                nodes[k] = Identity(node, storedWeight.Name);
                rewritten++;
            }
            else if (node.OpType is "MatMulInteger" or "ConvInteger" && IntegerLayer(model, node, producers, consumers) is { } layer
                // MatMul B [.., K, N] is quantized per column, Conv W [M, C, k...] per output channel.
                && Dequantized(model, node.Input[1], layer.WeightScale, node.Input.Count > 3 ? node.Input[3] : "",
                    node.OpType == "MatMulInteger" ? -1 : 0, FreeName(WeightName(node.Input[1]), taken)) is { } layerWeight)
            {
                weights.Add(layerWeight);
                var floatLayer = new NodeProto { Name = node.Name, OpType = node.OpType == "MatMulInteger" ? "MatMul" : "Conv" };
                floatLayer.Input.Add(layer.FloatInput);
                floatLayer.Input.Add(layerWeight.Name);
                floatLayer.Output.Add(layer.Rescale.Output[0]);
                if (floatLayer.OpType == "Conv") floatLayer.Attribute.AddRange(node.Attribute);
                nodes[nodes.IndexOf(layer.Rescale)] = floatLayer;
                rewritten++;
            }
        }
        if (rewritten == 0) return model;

        var proto = model.Proto.Clone();
        proto.Functions.Clear(); // model.Nodes has them inlined already
        proto.Graph.Node.Clear();
        proto.Graph.Node.AddRange(WithoutDeadNodes(nodes, proto.Graph.Output.Select(o => o.Name)));
        proto.Graph.Initializer.AddRange(weights);
        return OnnxModel.FromProto(proto, model.Path);
    }

    /// <summary>The pieces of DynamicQuantizeLinear/QuantizeLinear → {MatMul,Conv}Integer → Cast(float) → Mul(·, x_scale·w_scale).</summary>
    private sealed record IntegerLayerPattern(string FloatInput, string WeightScale, NodeProto Rescale);

    private static IntegerLayerPattern? IntegerLayer(OnnxModel model, NodeProto layer, Dictionary<string, NodeProto> producers, ILookup<string, NodeProto> consumers)
    {
        if (layer.Input.Count < 2 || model.ConstantProto(layer.Input[1]) is null) return null;
        if (layer.Input.Count > 3 && layer.Input[3].Length > 0 && model.ConstantProto(layer.Input[3]) is null) return null;
        var quantize = producers.GetValueOrDefault(layer.Input[0]);
        string? inputScale = quantize?.OpType switch
        {
            "DynamicQuantizeLinear" when quantize.Output.Count > 1 && layer.Input[0] == quantize.Output[0] => quantize.Output[1],
            "QuantizeLinear" => quantize.Input[1],
            _ => null,
        };
        if (inputScale is null || Only(consumers, layer.Output[0]) is not { OpType: "Cast" } cast
            || cast.Attribute.FirstOrDefault(a => a.Name == "to")?.I != (long)TensorProto.Types.DataType.Float
            || Only(consumers, cast.Output[0]) is not { OpType: "Mul" } rescale) return null;
        var scale = rescale.Input[0] == cast.Output[0] ? rescale.Input[1] : rescale.Input[0];
        if (producers.GetValueOrDefault(scale) is not { OpType: "Mul" } scales || !scales.Input.Contains(inputScale)) return null;
        var weightScale = scales.Input[0] == inputScale ? scales.Input[1] : scales.Input[0];
        return model.ConstantProto(weightScale) is null ? null : new IntegerLayerPattern(quantize!.Input[0], weightScale, rescale);
    }

    private static NodeProto? Only(ILookup<string, NodeProto> consumers, string value) =>
        consumers[value].Count() == 1 ? consumers[value].First() : null;

    /// <summary>
    /// (W_q − zero point)·scale, with one scale and zero point per tensor or per slice along the axis; null when they do not fit
    /// the weight (the node is then left as it is, and its own kernel names the contradiction when it runs).
    /// </summary>
    private static TensorProto? Dequantized(OnnxModel model, string weightName, string scaleName, string zeroPointName, long axis, string name)
    {
        using var scope = NewDisposeScope();
        if (scaleName.Length == 0 || model.ConstantProto(scaleName) is null) return null;
        var weight = model.ReadTensor(model.ConstantProto(weightName)!).to_type(ScalarType.Float64);
        var storedScale = model.ReadTensor(model.ConstantProto(scaleName)!);
        var scale = storedScale.to_type(ScalarType.Float64);
        var zeroPoint = zeroPointName.Length > 0 ? model.ReadTensor(model.ConstantProto(zeroPointName)!).to_type(ScalarType.Float64) : zeros(1, ScalarType.Float64);
        if (axis < 0) axis += weight.dim();
        bool Fits(Tensor t) => t.NumberOfElements == 1 || (axis >= 0 && axis < weight.dim() && t.NumberOfElements == weight.shape[axis]);
        if (!Fits(scale) || !Fits(zeroPoint)) return null;
        var along = Enumerable.Repeat(1L, (int)weight.dim()).ToArray();
        if (scale.NumberOfElements > 1 || zeroPoint.NumberOfElements > 1) along[axis] = -1;
        Tensor Along(Tensor t) => t.NumberOfElements == 1 ? t.reshape([]) : t.reshape(along);
        return TensorData.FromTensor(((weight - Along(zeroPoint)) * Along(scale)).to_type(storedScale.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32), name);
    }

    /// <summary>The float weight is named as the quantizer named it before quantizing: "W_quantized" → "W".</summary>
    private static string WeightName(string quantized) =>
        quantized.EndsWith("_quantized") && quantized.Length > "_quantized".Length ? quantized[..^"_quantized".Length] : quantized + "_dequantized";

    private static NodeProto Identity(NodeProto replaced, string input)
    {
        var identity = new NodeProto { Name = replaced.Name, OpType = "Identity" };
        identity.Input.Add(input);
        identity.Output.Add(replaced.Output[0]);
        return identity;
    }

    private static string FreeName(string wanted, HashSet<string> taken)
    {
        var name = wanted;
        for (int n = 1; !taken.Add(name); n++) name = $"{wanted}_{n}";
        return name;
    }

    /// <summary>The nodes some graph output still depends on (the quantizers and integer layers replaced above drop out).</summary>
    private static List<NodeProto> WithoutDeadNodes(List<NodeProto> nodes, IEnumerable<string> outputs)
    {
        var live = new List<NodeProto>(nodes);
        while (true)
        {
            var used = new HashSet<string>(outputs.Concat(live.SelectMany(n => n.Input)));
            int before = live.Count;
            live.RemoveAll(n => n.Output.All(o => !used.Contains(o)));
            if (live.Count == before) return live;
        }
    }
}
