using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>The runtime form of one node: its inputs (null for omitted optional inputs) to its outputs.</summary>
public delegate Tensor[] OpKernel(Tensor?[] inputs, RunContext run);

/// <summary>Builds the kernel of one node at import time; may read constant inputs and declare weight inputs through the context.</summary>
public delegate OpKernel OpConverter(NodeContext node);

/// <summary>A converter rejected a node (an attribute value or form we do not support).</summary>
public sealed class UnsupportedNodeException(string message) : Exception(message);
