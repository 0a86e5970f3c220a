namespace OnnxGradSign.Import;

/// <summary>
/// The kind of layer a parameter belongs to; GradSign and its peers score the weights of Conv, ConvTranspose and Linear layers, and
/// the input and recurrent matrices of LSTM, GRU and RNN layers (fully-connected weights applied at every time step).
/// </summary>
public enum LayerKind { Conv, ConvTranspose, Linear, Normalization, PRelu, Embedding, Other, Lstm, Gru, Rnn }

/// <summary>
/// Learned is a named float initializer outside any weight slot (a position embedding, a class token): trainable, no init rule.
/// RecurrentWeight is a recurrent layer's R (hidden to gates), initialized by its own rule (Keras: orthogonal).
/// </summary>
public enum ParameterRole { Weight, RecurrentWeight, Bias, NormScale, NormBias, RunningMean, RunningVar, Slope, Learned }

/// <summary>
/// A tensor that reached a weight slot of some node. FanIn/FanOut follow PyTorch's convention for the tensor's ONNX layout
/// (Conv W [out, in/groups, k...]: fan_in = in/groups·∏k, fan_out = out·∏k); Groups lets initializers apply framework-specific rules.
/// </summary>
public sealed record ParameterInfo(
    string Name, string Key, LayerKind Kind, ParameterRole Role, string Node, long[] Shape, long FanIn, long FanOut, long Groups)
{
    public bool Trainable => Role is not (ParameterRole.RunningMean or ParameterRole.RunningVar);
    public long Count => Shape.Aggregate(1L, (a, b) => a * b);
    /// <summary>Weights of Conv/ConvTranspose/Linear layers and recurrent layers' W and R: what GradSign scores by default.</summary>
    public bool IsLayerWeight => (Role == ParameterRole.Weight && Kind is LayerKind.Conv or LayerKind.ConvTranspose or LayerKind.Linear)
        || (Role is ParameterRole.Weight or ParameterRole.RecurrentWeight && IsRecurrent);
    public bool IsRecurrent => Kind is LayerKind.Lstm or LayerKind.Gru or LayerKind.Rnn;
}

/// <summary>What a converter says about one of its node's inputs when that input is a weight.</summary>
public sealed record ParameterDeclaration(LayerKind Kind, ParameterRole Role, long FanIn = 0, long FanOut = 0, long Groups = 1);
