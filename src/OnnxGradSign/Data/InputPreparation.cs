using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>Normalization applied to samples before they reach the model: per-channel (x − mean) / std.</summary>
public sealed record Normalization(double[] Mean, double[] Std)
{
    public static Normalization None { get; } = new([0], [1]);
}

/// <summary>
/// Fits a dataset to a model's input: per-channel normalization, channel replication (grey images into an RGB model),
/// and NCHW↔NHWC layout following the model's declared input shape. Mismatches are errors naming model, input and shapes.
/// </summary>
public static class InputPreparation
{
    public static Tensor Fit(Tensor x, long[] modelShape, Normalization normalization, string model, string input,
        ScalarType inputType = ScalarType.Float32)
    {
        string Mismatch() => $"{model}: input '{input}' expects [{string.Join(",", modelShape.Select(d => d < 0 ? "?" : d.ToString()))}] " +
            $"per batch, the data has samples of [{string.Join(",", x.shape[1..])}]";
        if (modelShape.Length != x.dim()) throw new ArgumentException(Mismatch());
        if (!IsFloat(inputType))
        {
            // Indices (token ids) go in as they are: no normalization, no layout guessing.
            if (x.is_floating_point())
                throw new ArgumentException($"{model}: input '{input}' takes {inputType} indices (token ids); the data holds {x.dtype} samples");
            x = x.to_type(inputType);
        }
        else
        {
            if (!x.is_floating_point()) x = x.to_type(ScalarType.Float32);
            x = x.dim() == 4 ? FitImages(x, modelShape, normalization, Mismatch) : Normalize(x, normalization);
        }
        for (int d = 1; d < modelShape.Length; d++)
            if (modelShape[d] > 0 && modelShape[d] != x.shape[d]) throw new ArgumentException(Mismatch());
        return x.contiguous();
    }

    private static bool IsFloat(ScalarType type) => type is ScalarType.Float32 or ScalarType.Float64 or ScalarType.Float16 or ScalarType.BFloat16;

    /// <summary>A 4-D image shape is NHWC when its last axis looks like channels (1 or 3) and axis 1 does not.</summary>
    public static bool IsNhwc(long[] shape) => shape.Length == 4 && shape[3] is 1 or 3 && shape[1] is not (1 or 3);

    /// <summary>Images: NCHW or NHWC as the model declares, grey replicated into as many channels as it wants.</summary>
    private static Tensor FitImages(Tensor x, long[] modelShape, Normalization normalization, Func<string> mismatch)
    {
        bool dataNhwc = IsNhwc(x.shape);
        bool modelNhwc = IsNhwc(modelShape);
        if (dataNhwc) x = x.permute(0, 3, 1, 2);
        x = Normalize(x, normalization);
        long wanted = modelNhwc ? modelShape[3] : modelShape[1];
        if (wanted > 0 && x.shape[1] != wanted)
        {
            if (x.shape[1] != 1) throw new ArgumentException(mismatch());
            x = x.expand(-1, wanted, -1, -1); // grey → as many identical channels as the model wants
        }
        return modelNhwc ? x.permute(0, 2, 3, 1) : x;
    }

    private static Tensor Normalize(Tensor x, Normalization n)
    {
        if (n.Mean.All(m => m == 0) && n.Std.All(s => s == 1)) return x;
        var shape = x.dim() >= 2 ? new long[] { 1, -1 }.Concat(Enumerable.Repeat(1L, (int)x.dim() - 2)).ToArray() : [-1];
        var mean = tensor(n.Mean, ScalarType.Float32).reshape(n.Mean.Length == 1 ? [1] : shape);
        var std = tensor(n.Std, ScalarType.Float32).reshape(n.Std.Length == 1 ? [1] : shape);
        return (x - mean) / std;
    }

    /// <summary>
    /// The first batchSize samples of the data fitted to the model's (single) input, or, without data, seeded synthetic samples
    /// shaped like that input (token ids below the embedding's vocabulary for an integer input) with random labels over
    /// <paramref name="classes"/> (by default the first output's declared classes).
    /// </summary>
    /// <param name="shapes">Shapes given for inputs with symbolic axes (the input_shape option); the first input's batch axis is batchSize.</param>
    public static (Tensor X, Tensor Y) Batch(OnnxModel model, Dataset? data, long batchSize, Normalization normalization, long seed,
        long? classes = null, IReadOnlyDictionary<string, long[]>? shapes = null)
    {
        var input = model.Inputs[0];
        var declared = DeclaredShape(input);
        if (shapes?.GetValueOrDefault(input.Name) is { } given)
        {
            if (declared.Length > 0 && given.Length != declared.Length)
                throw new ArgumentException($"{model.Path}: `input_shape {input.Name}` gives {given.Length} dimensions, the input has {declared.Length}");
            declared = [-1, .. given[1..]];
        }
        var inputType = TensorData.TorchType((Onnx.Proto.TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? 1));
        if (data is null)
        {
            if (declared.Skip(1).Any(d => d < 0))
                throw new ArgumentException($"{model.Path}: input '{input.Name}' [{string.Join(",", declared.Select(d => d < 0 ? "?" : d.ToString()))}] has symbolic " +
                    $"axes besides the batch; give data, or a shape with `input_shape {input.Name}=D1,D2,...` (the first, the batch, is `batch_size`)");
            var synthetic = DatasetLoader.Synthetic(declared[1..], batchSize, classes ?? DeclaredClasses(model), seed,
                IsFloat(inputType) ? null : model.IndexRange(input.Name) ?? 2);
            return (synthetic.X.to_type(inputType), synthetic.Y);
        }
        if (data.Count < batchSize)
            throw new ArgumentException($"`data` {data.Source} holds {data.Count} samples, fewer than `batch_size {batchSize}`");
        var x = data.X.narrow(0, 0, batchSize);
        // A NaN or infinite input poisons every gradient of its sample: the score would silently count fewer samples.
        if (x.is_floating_point() && x.isfinite().logical_not().sum().item<long>() is var bad and > 0)
            throw new ArgumentException($"`data` {data.Source}: the batch holds {bad} NaN or infinite value(s); clean the data or pick other samples");
        return (Fit(x, declared, normalization, model.Path, input.Name, inputType), data.Y.narrow(0, 0, batchSize));
    }

    /// <summary>The number of classes of the first output's last axis, for random synthetic labels (10 when unknown; 2, labels 0/1,
    /// for a single value).</summary>
    public static long DeclaredClasses(OnnxModel model)
    {
        var dims = model.Outputs[0].Type?.TensorType?.Shape?.Dim;
        return dims is { Count: > 0 } && dims[^1].DimValue > 0 ? Math.Max(dims[^1].DimValue, 2) : 10;
    }

    /// <summary>The declared per-batch shape of a model input (−1 for symbolic axes).</summary>
    public static long[] DeclaredShape(Onnx.Proto.ValueInfoProto input) =>
        input.Type?.TensorType?.Shape?.Dim.Select(d =>
            d.ValueCase == Onnx.Proto.TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue && d.DimValue > 0 ? d.DimValue : -1L).ToArray() ?? [];
}
