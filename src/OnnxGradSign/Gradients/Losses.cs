using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Gradients;

public static class Losses
{
    /// <summary>The loss a model is scored with: the one asked for, or for auto the one its output and the data's labels call for.</summary>
    /// <param name="valuesPerSample">The number of values each sample's output has (its classes, for logits).</param>
    public static LossKind Resolve(LossKind requested, long valuesPerSample, Tensor labels)
    {
        var loss = requested != LossKind.Auto ? requested
            : labels.is_floating_point() ? LossKind.Mse
            : valuesPerSample == 1 ? LossKind.BinaryCrossEntropy : LossKind.CrossEntropy;
        if (loss == LossKind.CrossEntropy && valuesPerSample == 1)
            throw new ArgumentException("cross-entropy over a single output value is constant (its gradient is zero everywhere): use `loss auto`, `loss bce` or `loss mse`");
        if (loss != LossKind.Mse && labels.is_floating_point())
            throw new ArgumentException($"{Name(loss)} needs integer labels; the data holds float targets (use `loss mse` or `loss auto`)");
        return loss;
    }

    /// <summary>The loss's name in records and options.</summary>
    public static string Name(LossKind loss) => Choices<LossKind>.Name(loss);

    /// <summary>
    /// The sum over samples of each sample's own loss, as the official code computes it on a batch of one: cross-entropy of the
    /// logits with the label; binary cross-entropy of the single logit with a 0/1 label; or the mean squared error against the
    /// float target (or the one-hot label). Summing keeps each sample's gradient its own.
    /// </summary>
    public static Tensor SumOfPerSample(Tensor output, Tensor labels, LossKind kind)
    {
        // A 1-D output is one value per sample, or (a graph without a batch axis, run one sample at a time) one sample's logits.
        var logits = output.dim() == 1 ? (output.shape[0] == labels.shape[0] ? output.unsqueeze(1) : output.unsqueeze(0)) : output.flatten(1);
        if (kind == LossKind.Mse && labels.is_floating_point())
        {
            var targets = labels.dim() == 1 ? labels.unsqueeze(1) : labels.flatten(1);
            if (targets.shape[1] != logits.shape[1])
                throw new ArgumentException($"the targets have {targets.shape[1]} value(s) per sample, the output {logits.shape[1]}");
            return (logits - targets.to_type(logits.dtype)).square().mean([1]).sum();
        }
        long classes = kind == LossKind.BinaryCrossEntropy ? 2 : logits.shape[1];
        if (labels.max().item<long>() >= classes || labels.min().item<long>() < 0)
            throw new ArgumentException($"labels range over [{labels.min().item<long>()}, {labels.max().item<long>()}] but the output has {classes} classes");
        return kind switch
        {
            LossKind.CrossEntropy => F.cross_entropy(logits, labels, reduction: nn.Reduction.Sum),
            LossKind.BinaryCrossEntropy => logits.shape[1] == 1
                ? F.binary_cross_entropy_with_logits(logits.squeeze(1), labels.to_type(logits.dtype), reduction: nn.Reduction.Sum)
                : throw new ArgumentException($"binary cross-entropy takes one output value per sample, this output has {logits.shape[1]}"),
            LossKind.Mse => (logits - F.one_hot(labels, logits.shape[1]).to_type(logits.dtype)).square().mean([1]).sum(),
            _ => throw new ArgumentOutOfRangeException(nameof(kind), "the loss must be resolved (Losses.Resolve) before it is computed"),
        };
    }

    /// <summary>
    /// The per-sample losses of samples [start, start+count) of the batch summed, over the scored output and every extra head:
    /// the graph's outputs for those samples against the matching labels of each head.
    /// </summary>
    public static Tensor SumOfPerSample(Tensor[] outputs, Tensor labels, GradientSettings settings, long start, long count)
    {
        var loss = SumOfPerSample(outputs[settings.OutputIndex], labels.narrow(0, start, count), settings.Loss);
        foreach (var head in settings.ExtraHeads) loss = loss + SumOfPerSample(outputs[head.Output], head.Labels.narrow(0, start, count), head.Loss);
        return loss;
    }
}
