using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>Size and cost baselines counted from the imported graph.</summary>
public static class CostProxies
{
    public static Proxy Params { get; } = new("params", "trainable parameters", c => c.Model.ParameterInfos.Where(p => p.Trainable).Sum(p => p.Count));

    /// <summary>Multiply-accumulates of one sample through the Conv and Linear (Gemm, MatMul-by-weight) layers, for the actual input shape.</summary>
    public static Proxy Flops { get; } = new("flops", "multiply-accumulates of one sample in Conv/Linear layers", c =>
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var (_, calls) = c.Forward(c.X.narrow(0, 0, 1), BatchNormMode.PerSample);
        // Each output element of a layer costs fan_in multiply-accumulates (in/groups·∏kernel, or in_features).
        return calls.Sum(call => (double)call.Output.NumberOfElements * call.Weight.FanIn);
    });
}
