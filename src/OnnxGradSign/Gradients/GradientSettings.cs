using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

public enum EngineKind { Auto, Loop, Vectorized }

/// <summary>
/// Auto picks per model (<see cref="Losses.Resolve"/>): mean-squared error against float targets, binary cross-entropy for one
/// output value, cross-entropy for several. Mse against integer labels compares with the one-hot label.
/// </summary>
public enum LossKind { Auto, CrossEntropy, [Choice("bce")] BinaryCrossEntropy, Mse }

/// <summary>Weights: Conv/ConvTranspose/Linear weights, as GradSign scores them. All: every trainable parameter.</summary>
public enum ParameterScope { Weights, All }

/// <summary>An output scored besides the first (`--outputs all`): its loss and the labels or targets it is compared with.</summary>
public sealed record ExtraHead(int Output, LossKind Loss, Tensor Labels);

/// <summary>How per-sample losses are taken: on output <see cref="OutputIndex"/> against the batch's labels, plus every extra head.</summary>
public sealed record GradientSettings(
    LossKind Loss = LossKind.CrossEntropy,
    ParameterScope Scope = ParameterScope.Weights,
    int OutputIndex = 0,
    long MaxMemoryBytes = GradientSettings.DefaultMaxMemory)
{
    public const long DefaultMaxMemory = 2L << 30;

    public IReadOnlyList<ExtraHead> ExtraHeads { get; init; } = [];
}
