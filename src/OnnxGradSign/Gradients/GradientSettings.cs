namespace OnnxGradSign.Gradients;

public enum EngineKind { Auto, Loop, Vectorized }

public enum LossKind { CrossEntropy, Mse }

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
