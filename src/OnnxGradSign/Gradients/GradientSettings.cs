namespace OnnxGradSign.Gradients;

public enum EngineKind { Auto, Loop, Vectorized }

/// <summary>
/// Auto picks per model (<see cref="Losses.Resolve"/>): mean-squared error against float targets, binary cross-entropy for one
/// output value, cross-entropy for several. Mse against integer labels compares with the one-hot label.
/// </summary>
public enum LossKind { Auto, CrossEntropy, BinaryCrossEntropy, Mse }

/// <summary>Weights: Conv/ConvTranspose/Linear weights, as GradSign scores them. All: every trainable parameter.</summary>
public enum ParameterScope { Weights, All }

public sealed record GradientSettings(
    LossKind Loss = LossKind.CrossEntropy,
    ParameterScope Scope = ParameterScope.Weights,
    int OutputIndex = 0,
    long MaxMemoryBytes = GradientSettings.DefaultMaxMemory)
{
    public const long DefaultMaxMemory = 2L << 30;
}
