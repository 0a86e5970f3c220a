namespace OnnxGradSign.Evaluation;

/// <summary>How well one proxy ranks the evaluated models against their accuracy.</summary>
public sealed record ProxyEvaluation(
    string Proxy, int N,
    double Spearman, double SpearmanLow, double SpearmanHigh,
    double Kendall, double KendallLow, double KendallHigh,
    double Top1, double Top5, double Top10,
    double BestPickAccuracy, string BestPickModel);

public sealed record EvaluationReport(
    IReadOnlyList<ProxyEvaluation> Proxies, int Matched, double BestAccuracy,
    IReadOnlyList<string> UnmatchedScores, IReadOnlyList<string> UnmatchedTruth,
    IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> ProxyCorrelations);

/// <summary>Joins a score table with ground truth and evaluates every proxy column.</summary>
public static class Evaluator
{
    public static EvaluationReport Evaluate(ScoreTable scores, GroundTruth truth, int resamples = 1000, int seed = 0)
    {
        var matched = new List<(ScoreRow Row, double Accuracy)>();
        var unmatchedScores = new List<string>();
        foreach (var row in scores.Rows)
        {
            if (truth.Find(row.Model) is { } accuracy) matched.Add((row, accuracy));
            else unmatchedScores.Add(row.Model);
        }
        var unmatchedTruth = truth.Keys.Where(k => !scores.Rows.Any(r => GroundTruth.KeyOf(r.Model) == k)).ToList();

        var evaluations = new List<ProxyEvaluation>();
        foreach (var proxy in scores.Proxies)
        {
            // Models where this proxy has no value (failed, NaN) do not take part in its evaluation.
            var pairs = matched.Where(m => m.Row.Values.TryGetValue(proxy, out var v) && !double.IsNaN(v)).ToList();
            if (pairs.Count < 2) continue;
            var p = pairs.Select(m => m.Row.Values[proxy]).ToList();
            var a = pairs.Select(m => m.Accuracy).ToList();
            var (sLow, sHigh) = RankStatistics.Bootstrap(p, a, RankStatistics.Spearman, resamples, seed);
            var (kLow, kHigh) = RankStatistics.Bootstrap(p, a, RankStatistics.Kendall, resamples, seed);
            int best = Enumerable.Range(0, p.Count).MaxBy(i => p[i]);
            evaluations.Add(new ProxyEvaluation(proxy, pairs.Count,
                RankStatistics.Spearman(p, a), sLow, sHigh, RankStatistics.Kendall(p, a), kLow, kHigh,
                RankStatistics.TopPrecision(p, a, 1), RankStatistics.TopPrecision(p, a, 5), RankStatistics.TopPrecision(p, a, 10),
                a[best], pairs[best].Row.Model));
        }
        return new EvaluationReport(evaluations, matched.Count, matched.Count > 0 ? matched.Max(m => m.Accuracy) : double.NaN,
            unmatchedScores, unmatchedTruth, ProxyCorrelations(matched.Select(m => m.Row).ToList(), scores.Proxies));
    }

    /// <summary>Spearman's ρ between every pair of proxies over the models where both have values.</summary>
    private static IReadOnlyDictionary<string, IReadOnlyDictionary<string, double>> ProxyCorrelations(List<ScoreRow> rows, IReadOnlyList<string> proxies) =>
        proxies.ToDictionary(a => a, a => (IReadOnlyDictionary<string, double>)proxies.ToDictionary(b => b, b =>
        {
            var both = rows.Where(r => r.Values.TryGetValue(a, out var x) && !double.IsNaN(x) && r.Values.TryGetValue(b, out var y) && !double.IsNaN(y)).ToList();
            return both.Count < 2 ? double.NaN : RankStatistics.Spearman(both.Select(r => r.Values[a]).ToList(), both.Select(r => r.Values[b]).ToList());
        }));
}
