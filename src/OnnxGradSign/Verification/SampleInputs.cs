using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Verification;

/// <summary>How to size graph inputs whose dims are symbolic: the batch axis, and explicit shapes per input name.</summary>
/// <param name="Values">Inputs fed one value everywhere (a sample rate) instead of random values; the importer folds them too.</param>
public sealed record InputSpec(long BatchSize = 2, IReadOnlyDictionary<string, long[]>? Shapes = null, IReadOnlyDictionary<string, double>? Values = null)
{
    /// <summary>The concrete shape of an input: an explicit shape wins; a symbolic first axis is the batch; other symbolic axes are an error.</summary>
    public long[] ShapeOf(OnnxModel model, ValueInfoProto input)
    {
        if (Shapes?.TryGetValue(input.Name, out var given) == true) return given;
        var dims = input.Type?.TensorType?.Shape?.Dim
            ?? throw new OnnxModelException(model.Path, $"input '{input.Name}' declares no shape; give one with `input_shape {input.Name}=...`");
        return dims.Select((d, k) => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue
            : k == 0 ? BatchSize
            : throw new OnnxModelException(model.Path,
                $"input '{input.Name}' has symbolic axis {k} ('{d.DimParam}'); give its shape with `input_shape {input.Name}=...`")).ToArray();
    }
}

/// <summary>Seeded random inputs laid out as the model declares them.</summary>
public static class SampleInputs
{
    public static List<Tensor> Random(OnnxModel model, InputSpec spec, long seed)
    {
        var generator = new Generator((ulong)seed);
        return model.Inputs.Select(input =>
        {
            var shape = spec.ShapeOf(model, input);
            var elementType = (TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? (int)TensorProto.Types.DataType.Float);
            var type = TensorData.TorchType(elementType);
            if (spec.Values?.TryGetValue(input.Name, out var value) == true) return full(shape, value, type);
            // Integer inputs are usually indices (token ids): below the smallest table they index, else 0 or 1.
            return type switch
            {
                ScalarType.Float32 or ScalarType.Float64 => randn(shape, type, generator: generator),
                ScalarType.Bool => randint(0, 2, shape, generator: generator).to_type(ScalarType.Bool),
                _ => randint(0, model.IndexRange(input.Name) ?? 2, shape, generator: generator).to_type(type),
            };
        }).ToList();
    }
}
