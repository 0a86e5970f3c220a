namespace OnnxGradSign.Proxies;

/// <summary>A zero-cost proxy: a name, what it measures, and how to compute it on one model (higher ranks better).</summary>
public sealed record Proxy(string Name, string Description, Func<ProxyContext, double> Compute);

/// <summary>Every proxy by name; README documents each definition and its reference implementation.</summary>
public static class ProxyCatalog
{
    public static IReadOnlyList<Proxy> All { get; } =
    [
        new("gradsign", "GradSign: Σ_k |Σ_i sign(g_ik)| of per-sample weight gradients (Zhang & Jia 2022)", c => GradSign.Score(c.Signs, c.Reduce)),
        GradientProxies.GradNorm, GradientProxies.Snip, GradientProxies.Grasp, GradientProxies.Fisher,
        SynFlow.Proxy,
        ActivationProxies.JacobCov, ActivationProxies.Naswot,
        GradientProxies.Zico,
        ActivationProxies.Meco,
        CostProxies.Params, CostProxies.Flops,
    ];

    public static Proxy? Find(string name) => All.FirstOrDefault(p => p.Name == name);
}

public static class TensorValues
{
    /// <summary>A one-element tensor of any floating type as a double (item&lt;double&gt; accepts float64 tensors only).</summary>
    public static double Value(this TorchSharp.torch.Tensor scalar) => scalar.to_type(TorchSharp.torch.ScalarType.Float64).item<double>();
}
