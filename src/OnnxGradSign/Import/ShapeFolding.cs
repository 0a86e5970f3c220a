using OnnxGradSign.Data;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>A value of shape arithmetic as a function of the batch size B: Offset + Slope·B (a constant when Slope is zero).</summary>
public sealed class ShapeValue(Tensor offset, Tensor slope, int batchInput)
{
    public Tensor Offset { get; } = offset;
    public Tensor Slope { get; } = slope;
    /// <summary>The graph input whose first axis is the batch.</summary>
    public int BatchInput { get; } = batchInput;
    public bool IsConstant { get; } = !slope.ne(0).any().item<bool>();

    public OpKernel Kernel => (inputs, _) => [(Offset + Slope * inputs[0]!.shape[0]).to(inputs[0]!.device)];
}

/// <summary>
/// Folds shape arithmetic on runtime tensors (Shape/Size and whatever computes only from their results, e.g. the
/// Shape→Gather→Unsqueeze→Concat→Reshape chain of x.view(x.size(0), -1)). The graph is probed with the declared input shape at
/// batch sizes 1, 2 and 3; a value that is the same each time becomes a constant, one that is affine in the batch size becomes
/// a single step computing it from the batch, and anything else stays as it is. Inputs with symbolic axes besides the batch are
/// not probed: their shape arithmetic runs at run time, which is always correct.
/// </summary>
public static class ShapeFolding
{
    private static readonly long[] ProbeBatches = [1, 2, 3];

    public static Dictionary<string, ShapeValue> Analyze(ImportedModel model)
    {
        var names = ShapeDerivedSlots(model);
        var folded = new Dictionary<string, ShapeValue>();
        if (names.Count == 0) return folded;

        var shapes = model.InputInfos.Select(InputPreparation.DeclaredShape).ToList();
        if (shapes.Any(s => s.Length == 0 || s.Skip(1).Any(d => d < 0))) return folded;
        int batchInput = shapes.FindIndex(s => s[0] < 0);
        var batches = batchInput >= 0 ? ProbeBatches : [shapes[0][0]];

        var probes = new List<Dictionary<int, Tensor>>();
        try
        {
            foreach (var b in batches)
            {
                var inputs = model.InputInfos.Select((info, i) => zeros(shapes[i].Select(d => d < 0 ? b : d).ToArray(), ElementType(info))).ToArray();
                probes.Add(model.Probe(inputs, names.Keys.ToHashSet()));
            }
        }
        catch (Exception e) when (e is Onnx.OnnxModelException or ArgumentException or NotSupportedException or InvalidOperationException)
        {
            return folded; // a graph that cannot run on zeros keeps its shape arithmetic at run time
        }

        foreach (var (slot, name) in names)
            if (Fit(probes.Select(p => p[slot]).ToList(), batches) is var (offset, slope))
                folded[name] = new ShapeValue(offset, slope, Math.Max(batchInput, 0));
        return folded;
    }

    /// <summary>Slots that Shape/Size produce, or that are computed from such slots and constants alone.</summary>
    private static Dictionary<int, string> ShapeDerivedSlots(ImportedModel model)
    {
        // Sibling If branches imported in place may reuse a name; such a name cannot say which value it is, so it is not folded.
        var reused = model.Steps.SelectMany(s => s.Node.Output).Where(o => o.Length > 0).GroupBy(o => o).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        var derived = new Dictionary<int, string>();
        foreach (var step in model.Steps)
        {
            var runtime = step.Inputs.Where(s => s >= 0 && !model.IsConstantSlot(s)).ToList();
            if (step.Node.OpType is "Shape" or "Size" || runtime.Count > 0 && runtime.All(derived.ContainsKey))
                for (int o = 0; o < step.Outputs.Length; o++)
                    if (step.Outputs[o] >= 0) derived[step.Outputs[o]] = step.Node.Output[o];
        }
        return derived.Where(d => !reused.Contains(d.Value)).ToDictionary();
    }

    /// <summary>v(B) = offset + slope·B through the probes, when it holds exactly at every probe.</summary>
    private static (Tensor Offset, Tensor Slope)? Fit(IReadOnlyList<Tensor> values, long[] batches)
    {
        if (values.Any(v => !v.shape.SequenceEqual(values[0].shape) || v.dtype != values[0].dtype)) return null;
        if (values.Count == 1) return (values[0], zeros_like(values[0]));
        // Booleans (Equal/Where guards, as in PyTorch's expand(n, -1, -1)) have no arithmetic: they fold only when constant.
        if (values[0].dtype == ScalarType.Bool)
            return values.All(v => v.eq(values[0]).all().item<bool>()) ? (values[0], zeros_like(values[0])) : null;
        var slope = (values[1] - values[0]) / (batches[1] - batches[0]);
        if (!values[0].is_floating_point()) slope = slope.to_type(values[0].dtype);
        var offset = values[0] - slope * batches[0];
        for (int k = 0; k < values.Count; k++)
            if (!(offset + slope * batches[k]).eq(values[k]).all().item<bool>()) return null;
        return (offset, slope);
    }

    private static ScalarType ElementType(ValueInfoProto input) =>
        Onnx.TensorData.TorchType((TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? (int)TensorProto.Types.DataType.Float));
}
