using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>A batch size the graph itself fixes, and how it was found (for the record's warning).</summary>
public sealed record FixedBatch(long Size, string Evidence);

/// <summary>
/// Finds the batch size a graph fixes: the input's declared first dimension (ONNX Runtime refuses any other), else by probing
/// (batch 2 fails where batch 1 runs), else the leading dimension of a constant Reshape target that the batch then fits (CNTK,
/// Caffe2-era, Paddle and tf2onnx exports bake their export batch into such constants).
/// </summary>
public static class FixedBatchDetection
{
    /// <summary>The graph's fixed batch, or null when it takes a batch of any size (or runs on none of the candidates).</summary>
    /// <param name="x">Samples to probe with (their values do not matter; their count bounds the candidates).</param>
    public static FixedBatch? Detect(ImportedModel model, Tensor x)
    {
        var input = model.Source.Inputs[0];
        if (input.Type?.TensorType?.Shape?.Dim is { Count: > 0 } dims && dims[0].DimValue > 0)
            return new FixedBatch(dims[0].DimValue, $"input '{input.Name}' declares a batch of {dims[0].DimValue}");
        long n = x.shape[0];
        if (n < 2 || Runs(model, x.narrow(0, 0, 2))) return null;
        if (Runs(model, x.narrow(0, 0, 1))) return new FixedBatch(1, "a batch of 2 fails and a batch of 1 runs");
        foreach (var size in ReshapeLeadingSizes(model.Source).Where(s => s > 2 && s <= n))
            if (Runs(model, x.narrow(0, 0, size)))
                return new FixedBatch(size, $"a batch of {size}, the leading size of a constant Reshape target, is the one that runs");
        return null;
    }

    private static bool Runs(ImportedModel model, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var mode = model.Run.BatchNorm;
        model.Run.BatchNorm = BatchNormMode.PerSample; // defined at a batch of one
        try
        {
            model.forward([x]);
            return true;
        }
        catch (Exception e) when (e is OnnxModelException or ArgumentException or InvalidOperationException or NotSupportedException)
        {
            return false;
        }
        finally
        {
            model.Run.BatchNorm = mode;
        }
    }

    private static IEnumerable<long> ReshapeLeadingSizes(OnnxModel model) =>
        model.Nodes.Where(n => n.OpType == "Reshape" && n.Input.Count == 2 && model.Initializers.ContainsKey(n.Input[1]))
            .Select(n => model.Initializers[n.Input[1]])
            .Where(t => t.Dims.Count == 1 && t.Dims[0] > 0)
            .Select(t => model.ReadTensor(t))
            .Select(t => { using (t) return t[0].item<long>(); })
            .Distinct().Order();
}
