using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>Proxies built on activations or input Jacobians: jacob_cov (Mellor et al. 2020), NASWOT (Mellor et al. 2021), MeCo (Jiang et al. 2023).</summary>
public static class ActivationProxies
{
    /// <summary>−Σ [log(λ+k) + 1/(λ+k)], k = 1e-5, λ the eigenvalues of the correlation matrix of the per-sample input gradients.</summary>
    public static Proxy JacobCov { get; } = new("jacob_cov", "−Σ [log(λ+1e-5) + 1/(λ+1e-5)] over the eigenvalues of the Jacobian correlation", c =>
    {
        using var scope = NewDisposeScope();
        c.RequireFloatInput("jacob_cov", "differentiates the input");
        var x = c.X.detach().requires_grad_(true);
        var (output, _) = c.Forward(x, BatchNormMode.Batch);
        var jacobian = (Autograd.Grad(output.sum(), [x])[0] ?? zeros_like(x)).reshape(x.shape[0], -1).to_type(ScalarType.Float64);
        var eigenvalues = linalg.eigvalsh(Correlation(jacobian));
        const double k = 1e-5;
        return -((eigenvalues + k).log() + (eigenvalues + k).reciprocal()).sum().Value();
    });

    /// <summary>log|det K|, K = Σ over Relu nodes of c cᵀ + (1−c)(1−c)ᵀ with c the binary code (input > 0) of each sample.</summary>
    public static Proxy Naswot { get; } = new("naswot", "log|det K| of the Hamming kernel of ReLU activation codes", c =>
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        long n = c.X.shape[0];
        var kernel = zeros([n, n], ScalarType.Float64, c.X.device);
        void Add(Tensor code)
        {
            var on = code.to_type(ScalarType.Float64);
            var off = 1 - on;
            kernel.add_(on.matmul(on.t())).add_(off.matmul(off.t()));
        }
        // A graph with a fixed batch runs in passes: each Relu's codes are joined over the passes before they enter the kernel.
        var passCodes = new Dictionary<Onnx.Proto.NodeProto, List<Tensor>>();
        c.Model.Run.OnNode = (node, inputs, _) =>
        {
            if (node.OpType != "Relu") return;
            var code = inputs[0]!.gt(0).reshape(inputs[0]!.shape[0], -1);
            if (code.shape[0] == n) Add(code);
            else (passCodes.TryGetValue(node, out var list) ? list : passCodes[node] = []).Add(code);
        };
        try
        {
            c.Forward(c.X, BatchNormMode.Batch);
        }
        finally
        {
            c.Model.Run.OnNode = null;
        }
        foreach (var codes in passCodes.Values) Add(cat(codes.ToArray(), 0));
        // A singular K (two samples with identical codes everywhere) gives −∞: it ranks last, never NaN.
        return linalg.slogdet(kernel).Item2.Value();
    });

    /// <summary>Σ over Conv layers of the smallest eigenvalue of the channel correlation matrix of the layer's output, on one Gaussian sample.</summary>
    public static Proxy Meco { get; } = new("meco", "Σ over Conv outputs of λ_min of the channel correlation, one Gaussian sample", c =>
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        c.RequireFloatInput("meco", "feeds one Gaussian sample");
        var input = randn([1, .. c.X.shape[1..]], c.X.dtype, c.X.device, generator: new Generator(0));
        var (_, calls) = c.Forward(input, BatchNormMode.PerSample);
        return calls.Where(call => call.Geometry is ConvGeometry && call.Output.shape[1] >= 2).Sum(call =>
        {
            var features = call.Output[0].reshape(call.Output.shape[1], -1).to_type(ScalarType.Float64);
            return linalg.eigvalsh(Correlation(features)).min().Value();
        });
    });

    /// <summary>The correlation matrix of the rows (numpy's corrcoef); entries of constant rows, undefined there, are 0 as MeCo's reference sets them.</summary>
    public static Tensor Correlation(Tensor rows)
    {
        var centered = rows - rows.mean([1], keepdim: true);
        var norms = centered.norm(1, keepdim: true);
        var correlation = centered.matmul(centered.t()) / norms.matmul(norms.t());
        return correlation.nan_to_num(0, 0, 0);
    }
}
