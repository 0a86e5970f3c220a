using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>Labelled samples: X (float32, or int64 token ids) with the samples on axis 0 (layout as stored), Y as int64 class indices or float32 targets (regression).</summary>
public sealed record Dataset(Tensor X, Tensor Y, string Source)
{
    private string? _fingerprint;

    public long Count => X.shape[0];

    /// <summary>A hash of the samples and labels: results computed on other data never count as done.</summary>
    public string Fingerprint => _fingerprint ??= Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(
        X.contiguous().bytes.ToArray().Concat(Y.contiguous().bytes.ToArray()).ToArray()));
}
