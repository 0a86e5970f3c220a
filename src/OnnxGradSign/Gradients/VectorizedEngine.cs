using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>
/// One batched forward (each sample normalized by its own statistics) and one backward to every weight layer's output; per-sample
/// weight gradients are then formed from each layer's input and output gradient and reduced at once into the per-weight sign sums,
/// so memory holds one layer's n×|θ_layer| at a time. Batches are cut into chunks that fit the memory limit.
/// </summary>
public static class VectorizedEngine
{
    public static SignSums Compute(ImportedModel model, Tensor x, Tensor y, GradientSettings settings)
    {
        var scored = PerSampleGradients.Scored(model, settings.Scope);
        if (PerSampleGradients.VectorizedUnsupported(scored, settings) is { } reason) throw new NotSupportedException(reason);
        var accumulators = scored.ToDictionary(p => p, p => new SignAccumulator(p, x.device));
        long largest = scored.Count == 0 ? 1 : scored.Max(p => p.Count);
        // Per sample: the layer's gradients, their signs and a temporary, in float32.
        long chunk = Math.Clamp(settings.MaxMemoryBytes / Math.Max(largest * 4 * 3, 1), 1, x.shape[0]);
        if (model.FixedBatch is { } size)
        {
            // A pass must be exactly the graph's batch: a padded pass would hide the padding's layer outputs from the backward.
            if (x.shape[0] % size != 0) throw new ArgumentException($"the graph fixes its batch at {size}; {x.shape[0]} samples are not a multiple");
            chunk = size;
        }
        // Token ids have no gradient: the check that the output depends on the input needs a float input.
        bool floatInput = x.is_floating_point(), inputMatters = !floatInput;

        var calls = new List<WeightLayerCall>();
        model.Run.BatchNorm = BatchNormMode.PerSample;
        model.Run.OnWeightLayer = calls.Add;
        try
        {
            for (long start = 0; start < x.shape[0]; start += chunk)
            {
                using var scope = NewDisposeScope();
                calls.Clear();
                long n = Math.Min(chunk, x.shape[0] - start);
                var xc = x.narrow(0, start, n).detach().requires_grad_(floatInput);
                var loss = Losses.SumOfPerSample(model.forward([xc]), y, settings, start, n);
                CheckCalls(calls, scored, n);
                var grads = Autograd.Grad(loss, calls.Select(c => c.Output).Concat(floatInput ? [xc] : []).ToList());
                for (int k = 0; k < calls.Count; k++)
                {
                    using var layerScope = NewDisposeScope();
                    var call = calls[k];
                    var perSample = grads[k] is { } g ? PerSampleWeightGradients.Of(call, g) : zeros([n, .. call.Weight.Shape], device: x.device);
                    accumulators[call.Weight].Add(perSample.reshape([n, .. call.Weight.Shape]));
                }
                inputMatters |= floatInput && grads[^1] is { } gx && gx.ne(0).any().item<bool>();
            }
        }
        finally
        {
            model.Run.OnWeightLayer = null;
        }
        return new SignSums(scored.Select(p => accumulators[p]).ToList(), x.shape[0], EngineKind.Vectorized, !inputMatters);
    }

    /// <summary>Every scored weight must have been used exactly once, by a call whose tensors keep the samples on axis 0.</summary>
    private static void CheckCalls(List<WeightLayerCall> calls, IReadOnlyList<ParameterInfo> scored, long n)
    {
        var seen = calls.GroupBy(c => c.Weight).ToDictionary(g => g.Key, g => g.Count());
        foreach (var p in scored)
        {
            if (!seen.TryGetValue(p, out var count))
                throw new NotSupportedException($"weight '{p.Name}' (node '{p.Node}') is not used by a layer the vectorized engine can differentiate per sample");
            if (count > 1)
                throw new NotSupportedException($"weight '{p.Name}' is shared by {count} layer calls");
        }
        foreach (var c in calls)
            if (c.Input.shape[0] != n || c.Output.shape[0] != n)
                throw new NotSupportedException($"layer '{c.Weight.Node}' does not keep the samples on its first axis");
    }
}
