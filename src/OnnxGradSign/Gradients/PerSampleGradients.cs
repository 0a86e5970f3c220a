using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>
/// Chooses the engine: `auto` takes the vectorized one whenever it supports every scored weight, else the loop (ConvTranspose and
/// recurrent weights); a graph whose batch is fixed at one runs in the loop, one sample at a time as the official algorithm does.
/// </summary>
public static class PerSampleGradients
{
    public static IReadOnlyList<ParameterInfo> Scored(ImportedModel model, ParameterScope scope) =>
        model.ParameterInfos.Where(p => scope == ParameterScope.All ? p.Trainable : p.IsLayerWeight).ToList();

    /// <summary>Why the vectorized engine cannot serve these weights, or null when it can (a run may still find a shared weight).</summary>
    public static string? VectorizedUnsupported(IReadOnlyList<ParameterInfo> scored, GradientSettings settings)
    {
        if (settings.Scope == ParameterScope.All) return "`param_scope all` needs the loop engine (biases and normalization parameters)";
        if (scored.FirstOrDefault(p => p.Kind == LayerKind.ConvTranspose) is { } t) return $"ConvTranspose weight '{t.Name}' is computed by the loop engine";
        return scored.FirstOrDefault(p => p.IsRecurrent) is { } r ? RecurrentNeedsLoop(r) : null;
    }

    /// <summary>
    /// A recurrent layer applies W and R at every time step (R to a state that depends on the earlier steps), so no single layer
    /// call has the per-sample input and output gradient the vectorized engine forms weight gradients from.
    /// </summary>
    public static string RecurrentNeedsLoop(ParameterInfo weight) =>
        $"{weight.Kind.ToString().ToUpperInvariant()} weight '{weight.Name}' (node '{weight.Node}') is reused at every time step: only the loop engine scores it (one sample at a time)";

    public static SignSums Compute(ImportedModel model, Tensor x, Tensor y, GradientSettings settings, EngineKind engine)
    {
        using var scope = NewDisposeScope(); // temporaries die here; only the sign sums move out
        var result = engine switch
        {
            EngineKind.Loop => LoopEngine.Compute(model, x, y, settings),
            EngineKind.Vectorized => VectorizedEngine.Compute(model, x, y, settings),
            _ => Auto(model, x, y, settings),
        };
        foreach (var a in result.Parameters) a.SignSum.MoveToOuterDisposeScope();
        return result;
    }

    private static SignSums Auto(ImportedModel model, Tensor x, Tensor y, GradientSettings settings)
    {
        if (model.FixedBatch == 1 || VectorizedUnsupported(Scored(model, settings.Scope), settings) is not null)
            return LoopEngine.Compute(model, x, y, settings);
        try
        {
            return VectorizedEngine.Compute(model, x, y, settings);
        }
        catch (NotSupportedException)
        {
            return LoopEngine.Compute(model, x, y, settings);
        }
    }
}
