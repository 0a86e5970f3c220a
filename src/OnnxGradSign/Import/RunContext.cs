using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>How BatchNormalization computes its statistics during a forward pass.</summary>
public enum BatchNormMode
{
    /// <summary>Each node as the file says: training_mode/is_test decide between batch statistics and running statistics.</summary>
    AsExported,
    /// <summary>Batch statistics everywhere, as PyTorch's train() does.</summary>
    Batch,
    /// <summary>Each sample normalized by its own statistics (over its spatial positions), as if run alone in train mode.</summary>
    PerSample,
    /// <summary>BatchNormalization skipped: its output is its input (SynFlow's data-free network).</summary>
    Identity,
}

/// <summary>A weight layer's forward call, seen by engines that need layer inputs and outputs (per-sample gradients).</summary>
public sealed record WeightLayerCall(ParameterInfo Weight, Tensor Input, Tensor Output, LayerGeometry Geometry);

/// <summary>How a weight layer maps its input to its output: enough to recompute weight gradients from input and output gradient.</summary>
public abstract record LayerGeometry;
public sealed record ConvGeometry(long[] Strides, long[] Pads, long[] Dilations, long Groups, long[] KernelShape) : LayerGeometry;
/// <summary>y = x·W (W [in,out]) when !TransposedWeight, y = x·Wᵀ (W [out,in]) when TransposedWeight, over the last axis; Scale multiplies.</summary>
public sealed record LinearGeometry(bool TransposedWeight, double Scale) : LayerGeometry;

/// <summary>Settings and observers shared by all kernels of one imported model during a forward pass.</summary>
public sealed class RunContext
{
    public BatchNormMode BatchNorm { get; set; } = BatchNormMode.AsExported;
    /// <summary>Called by Conv/Gemm/MatMul kernels whose weight is a parameter; null when nobody listens.</summary>
    public Action<WeightLayerCall>? OnWeightLayer { get; set; }
    /// <summary>Called after every node with its inputs and outputs (NASWOT reads the inputs of each Relu).</summary>
    public Action<Onnx.Proto.NodeProto, Tensor?[], Tensor[]>? OnNode { get; set; }
    /// <summary>Runs a subgraph of the model (If, Loop, Scan kernels) with the same settings and observers; set by the model.</summary>
    internal Func<GraphProgram, Tensor?[], Tensor[]>? RunGraph { get; set; }
}
