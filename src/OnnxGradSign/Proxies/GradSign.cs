using OnnxGradSign.Gradients;

namespace OnnxGradSign.Proxies;

/// <summary>sum: Σ_k |Σ_i sign(g_ik)| over all scored weights; mean: that total divided by the number of scored weights.</summary>
public enum GradSignReduce { Sum, Mean }

/// <summary>One layer's part of the score, for pre-deployment triage.</summary>
public sealed record LayerReport(
    string Parameter, string Node, string Kind, long Weights, double Score, double Share, double SignAgreement, double ZeroFraction, long NonFinite);

/// <summary>GradSign (Zhang &amp; Jia, ICLR 2022) from per-sample gradient sign sums, with nansum as the official code.</summary>
public static class GradSign
{
    public static double Score(SignSums sums, GradSignReduce reduce)
    {
        if (sums.Parameters.Count == 0)
            throw new NotSupportedException("the graph has no Conv, ConvTranspose or Linear weight, the weights GradSign sums over");
        double total = sums.Parameters.Sum(LayerScore);
        long weights = sums.Parameters.Sum(a => a.Parameter.Count);
        return reduce == GradSignReduce.Mean ? (weights == 0 ? 0 : total / weights) : total;
    }

    public static List<LayerReport> Layers(SignSums sums)
    {
        double total = sums.Parameters.Sum(LayerScore);
        return sums.Parameters.Select(a =>
        {
            double score = LayerScore(a);
            long entries = a.Parameter.Count * Math.Max(a.Samples, 1);
            return new LayerReport(a.Parameter.Name, a.Parameter.Node, a.Parameter.Kind.ToString(), a.Parameter.Count, score,
                total > 0 ? score / total : 0, score / entries, (double)a.Zeros / entries, a.NonFinite);
        }).ToList();
    }

    private static double LayerScore(SignAccumulator a) => a.SignSum.abs().nansum().Value();
}
