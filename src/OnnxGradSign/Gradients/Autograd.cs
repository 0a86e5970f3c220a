using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

/// <summary>
/// Gradients of a scalar with respect to some tensors, with libtorch's preconditions checked here first: TorchSharp calls
/// <c>torch::autograd::grad</c> without its error guard, so a broken precondition (a loss that depends on nothing trainable, a
/// target that is not in the graph, a non-scalar loss) would terminate the whole process instead of failing one model.
/// </summary>
public static class Autograd
{
    /// <summary>The gradient of <paramref name="output"/> for each target; null for a target it does not depend on (a weight of another head).</summary>
    public static Tensor?[] Grad(Tensor output, IReadOnlyList<Tensor> targets, bool retainGraph = false, bool createGraph = false)
    {
        if (output.NumberOfElements != 1)
            throw new InvalidOperationException($"the loss must be one number, it has shape [{string.Join(",", output.shape)}]");
        var result = new Tensor?[targets.Count];
        var live = Enumerable.Range(0, targets.Count).Where(i => targets[i].requires_grad).ToArray();
        if (!output.requires_grad || live.Length == 0) return result; // nothing trainable reaches the loss: no gradient anywhere
        var grads = autograd.grad([output], live.Select(i => targets[i]).ToList(), retain_graph: retainGraph, create_graph: createGraph,
            allow_unused: true);
        // TorchSharp wraps the gradient of a target the output does not depend on as an empty-handle tensor: null here.
        for (int k = 0; k < live.Length; k++) result[live[k]] = grads[k].IsInvalid ? null : grads[k];
        return result;
    }
}
