using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>How one graph input besides the first (which carries the samples) is fed, and its tensor for a pass of n samples.</summary>
/// <param name="Fixed">The value of an input without a batch axis that is the same on every pass (a sample rate): the importer may fold it.</param>
public sealed record SideInput(string Name, string How, Func<long, Tensor> Make, double? Fixed = null)
{
    /// <summary>The inputs the importer may treat as constants (ImportOptions.InputValues).</summary>
    public static Dictionary<string, double> FixedValues(IEnumerable<SideInput> inputs) =>
        inputs.Where(i => i.Fixed is not null).ToDictionary(i => i.Name, i => i.Fixed!.Value);
}

/// <summary>
/// Feeds every graph input after the first, the one whose samples are scored: transformer masks are ones, token types, recurrent
/// states and other per-sample inputs zeros (constant per sample, so per-sample gradients stay each sample's own), and an input
/// without a batch axis (a sample rate, a threshold) takes the value given for it, else the constant the graph compares it with.
/// Gradients are taken with respect to the weights only.
/// </summary>
public static class SideInputs
{
    public static IReadOnlyList<SideInput> For(OnnxModel model, IReadOnlyDictionary<string, long[]>? shapes, IReadOnlyDictionary<string, double>? values) =>
        model.Inputs.Skip(1).Select(input => For(model, input, shapes?.GetValueOrDefault(input.Name), values)).ToList();

    private static SideInput For(OnnxModel model, ValueInfoProto input, long[]? givenShape, IReadOnlyDictionary<string, double>? values)
    {
        var type = TensorData.TorchType((TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? 1));
        var dims = givenShape ?? InputPreparation.DeclaredShape(input);
        // A first axis declared as the scored input's fixed batch is the batch axis here too (exports with batch 1 throughout).
        var batch = InputPreparation.DeclaredShape(model.Inputs[0]) is [> 0 and var b, ..] ? b : -1;
        if (givenShape is null && batch > 0 && dims is [var first, ..] && first == batch) dims = [-1, .. dims[1..]];
        var symbolic = Enumerable.Range(0, dims.Length).Where(d => dims[d] < 0).ToArray();
        if (symbolic.Length > 1)
            throw new ArgumentException($"{model.Path}: input '{input.Name}' has {symbolic.Length} symbolic axes; give its shape with `input_shape {input.Name}=D1,D2,...` (-1 for the batch axis)");
        long[] Shape(long n) => dims.Select(d => d < 0 ? n : d).ToArray();
        string shown = $"[{string.Join(",", dims.Select(d => d < 0 ? "n" : d.ToString()))}]";

        if (values?.TryGetValue(input.Name, out var given) == true)
            return new SideInput(input.Name, $"{given} everywhere {shown} (input_value)", n => full(Shape(n), given, type), symbolic.Length == 0 ? given : null);
        if (symbolic.Length == 1)
        {
            bool mask = input.Name.Contains("mask", StringComparison.OrdinalIgnoreCase);
            return new SideInput(input.Name, mask ? $"ones {shown} (a mask: every position attended)" : $"zeros {shown} (token types, states and other per-sample inputs)",
                n => mask ? ones(Shape(n), type) : zeros(Shape(n), type));
        }
        if (ComparedConstant(model, input.Name) is { } compared)
            return new SideInput(input.Name, $"{compared} everywhere {shown} (the value the graph compares it with)", n => full(Shape(n), compared, type), compared);
        throw new ArgumentException($"{model.Path}: input '{input.Name}' {shown} has no batch axis and no value to take; give it with `input_value {input.Name}=V`");
    }

    /// <summary>The side inputs for a pass of n samples (ImportedModel.SideInputs), on the device and, for float inputs, in float64
    /// when asked; null when there are none.</summary>
    public static Func<long, Tensor[]>? Feed(IReadOnlyList<SideInput> inputs, Device? device = null, bool float64 = false) =>
        inputs.Count == 0 ? null
            : n => inputs.Select(i => i.Make(n)).Select(t => (float64 && t.is_floating_point() ? t.to_type(ScalarType.Float64) : t).to(device ?? CPU)).ToArray();

    /// <summary>A constant the graph compares the input with directly (a sample rate checked against 16000), or null.</summary>
    private static double? ComparedConstant(OnnxModel model, string input)
    {
        foreach (var node in model.Nodes.Where(n => n.OpType is "Equal" or "Greater" or "Less" or "GreaterOrEqual" or "LessOrEqual" && n.Input.Count == 2))
        {
            int own = node.Input.IndexOf(input);
            if (own < 0) continue;
            if (model.ConstantProto(node.Input[1 - own]) is not { } proto) continue;
            using var value = model.ReadTensor(proto);
            if (value.NumberOfElements == 1) return value.to_type(ScalarType.Float64).item<double>();
        }
        return null;
    }
}
