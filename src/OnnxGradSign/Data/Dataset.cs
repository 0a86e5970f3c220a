using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>Labelled samples: X as float32 with the samples on axis 0 (layout as stored), Y as int64 class indices.</summary>
public sealed record Dataset(Tensor X, Tensor Y, string Source)
{
    public long Count => X.shape[0];
}
