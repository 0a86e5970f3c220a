using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Gradients;

public static class Losses
{
    /// <summary>
    /// The sum over samples of each sample's own loss, as the official code computes it on a batch of one:
    /// cross-entropy of the logits with the label, or the mean squared error against the one-hot label.
    /// Summing keeps each sample's gradient its own.
    /// </summary>
    public static Tensor SumOfPerSample(Tensor output, Tensor labels, LossKind kind)
    {
        var logits = output.dim() == 1 ? output.unsqueeze(0) : output.flatten(1);
        if (labels.max().item<long>() >= logits.shape[1] || labels.min().item<long>() < 0)
            throw new ArgumentException($"labels range over [{labels.min().item<long>()}, {labels.max().item<long>()}] but the output has {logits.shape[1]} classes");
        return kind switch
        {
            LossKind.CrossEntropy => F.cross_entropy(logits, labels, reduction: nn.Reduction.Sum),
            LossKind.Mse => (logits - F.one_hot(labels, logits.shape[1]).to_type(logits.dtype)).square().mean([1]).sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
    }

    /// <summary>The batch's mean loss, as the zero-cost proxies' reference code computes it on the whole batch.</summary>
    public static Tensor Mean(Tensor output, Tensor labels, LossKind kind) => SumOfPerSample(output, labels, kind) / labels.shape[0];
}
