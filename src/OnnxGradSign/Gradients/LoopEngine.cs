using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>The reference semantics: one forward and backward per sample, each sample alone (BatchNorm on its own statistics).</summary>
public static class LoopEngine
{
    public static SignSums Compute(ImportedModel model, Tensor x, Tensor y, GradientSettings settings)
    {
        var scored = PerSampleGradients.Scored(model, settings.Scope);
        var accumulators = scored.Select(p => new SignAccumulator(p, x.device)).ToList();
        // Token ids have no gradient: the check that the output depends on the input needs a float input.
        bool floatInput = x.is_floating_point(), inputMatters = !floatInput;
        model.Run.BatchNorm = BatchNormMode.PerSample;
        for (long i = 0; i < x.shape[0]; i++)
        {
            using var scope = NewDisposeScope();
            var xi = x.narrow(0, i, 1).detach().requires_grad_(floatInput);
            var loss = Losses.SumOfPerSample(model.forward([xi]), y, settings, i, 1);
            var targets = scored.Select(model.TensorOf).Concat(floatInput ? [xi] : []).ToList();
            var grads = Autograd.Grad(loss, targets);
            for (int k = 0; k < scored.Count; k++)
                accumulators[k].Add((grads[k] ?? zeros_like(targets[k])).unsqueeze(0));
            inputMatters |= floatInput && grads[^1] is { } gx && gx.ne(0).any().item<bool>();
        }
        return new SignSums(accumulators, x.shape[0], EngineKind.Loop, !inputMatters);
    }
}
