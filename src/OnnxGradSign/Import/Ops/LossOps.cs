using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>
/// The loss nodes of training graphs: NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss over [N, C, d1, …] with optional
/// class weights, ignore_index and mean/sum/none reduction (a weighted mean divides by the weights of the counted targets).
/// </summary>
public static class LossOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("NegativeLogLikelihoodLoss", [12, 13], node =>
        {
            var (reduction, ignore) = Settings(node);
            return (i, _) => [NegativeLogLikelihood(i[0]!, i[1]!, i.Length > 2 ? i[2] : null, reduction, ignore)];
        });
        registry.Add("SoftmaxCrossEntropyLoss", [12, 13], node =>
        {
            var (reduction, ignore) = Settings(node);
            return (i, _) =>
            {
                var logProb = i[0]!.log_softmax(1);
                return [NegativeLogLikelihood(logProb, i[1]!, i.Length > 2 ? i[2] : null, reduction, ignore), logProb];
            };
        });
    }

    private static (string Reduction, long? Ignore) Settings(NodeContext node) =>
        (node.String("reduction", "mean"), node.Has("ignore_index") ? node.Int("ignore_index", 0) : null);

    private static Tensor NegativeLogLikelihood(Tensor input, Tensor target, Tensor? weight, string reduction, long? ignore)
    {
        var labels = target.to_type(ScalarType.Int64);
        var counted = ignore is { } skip ? labels.ne(skip) : ones_like(labels, ScalarType.Bool);
        var safe = where(counted, labels, zeros_like(labels)); // an ignored label may lie outside [0, C)
        var picked = -input.gather(1, safe.unsqueeze(1)).squeeze(1);
        var w = (weight is null ? ones_like(picked) : weight.index_select(0, safe.flatten()).reshape(safe.shape)) * counted.to_type(picked.dtype);
        var losses = picked * w;
        return reduction switch
        {
            "none" => losses,
            "sum" => losses.sum(),
            "mean" => losses.sum() / w.sum(),
            _ => throw new NotSupportedException($"reduction '{reduction}'"),
        };
    }
}
