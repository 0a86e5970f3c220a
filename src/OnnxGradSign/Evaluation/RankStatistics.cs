using OnnxGradSign.Proxies;

namespace OnnxGradSign.Evaluation;

/// <summary>Rank correlations and top-k agreement between a proxy and ground-truth accuracy.</summary>
public static class RankStatistics
{
    /// <summary>Spearman's ρ: Pearson correlation of the average ranks (ties share their rank).</summary>
    public static double Spearman(IReadOnlyList<double> a, IReadOnlyList<double> b) => Pearson(Ensembles.Ranks(a), Ensembles.Ranks(b));

    /// <summary>Kendall's τ-b, which corrects for ties in either variable.</summary>
    public static double Kendall(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        long concordant = 0, discordant = 0, tiesA = 0, tiesB = 0;
        for (int i = 0; i < a.Count; i++)
            for (int j = i + 1; j < a.Count; j++)
            {
                int sa = a[i].CompareTo(a[j]), sb = b[i].CompareTo(b[j]); // compares infinities too (−∞ ranks last)
                sa = Math.Sign(sa);
                sb = Math.Sign(sb);
                if (sa == 0 && sb == 0) continue;
                if (sa == 0) tiesA++;
                else if (sb == 0) tiesB++;
                else if (sa == sb) concordant++;
                else discordant++;
            }
        double denominator = Math.Sqrt((double)(concordant + discordant + tiesA) * (concordant + discordant + tiesB));
        return denominator == 0 ? double.NaN : (concordant - discordant) / denominator;
    }

    public static double Pearson(IReadOnlyList<double> a, IReadOnlyList<double> b)
    {
        double ma = a.Average(), mb = b.Average();
        double cov = 0, va = 0, vb = 0;
        for (int i = 0; i < a.Count; i++)
        {
            cov += (a[i] - ma) * (b[i] - mb);
            va += (a[i] - ma) * (a[i] - ma);
            vb += (b[i] - mb) * (b[i] - mb);
        }
        return va == 0 || vb == 0 ? double.NaN : cov / Math.Sqrt(va * vb);
    }

    /// <summary>Of the top k% of models by the proxy (at least one), the fraction that is also in the top k% by accuracy.</summary>
    public static double TopPrecision(IReadOnlyList<double> proxy, IReadOnlyList<double> accuracy, double percent)
    {
        int count = Math.Max(1, (int)Math.Ceiling(proxy.Count * percent / 100));
        var byProxy = Enumerable.Range(0, proxy.Count).OrderByDescending(i => proxy[i]).Take(count).ToHashSet();
        var byAccuracy = Enumerable.Range(0, accuracy.Count).OrderByDescending(i => accuracy[i]).Take(count);
        return (double)byAccuracy.Count(byProxy.Contains) / count;
    }

    /// <summary>A 95% percentile interval of a statistic over bootstrap resamples of the pairs (seeded, so repeatable).</summary>
    public static (double Low, double High) Bootstrap(IReadOnlyList<double> a, IReadOnlyList<double> b,
        Func<IReadOnlyList<double>, IReadOnlyList<double>, double> statistic, int resamples, int seed)
    {
        var random = new Random(seed);
        var values = new List<double>(resamples);
        var ra = new double[a.Count];
        var rb = new double[b.Count];
        for (int r = 0; r < resamples; r++)
        {
            for (int i = 0; i < a.Count; i++)
            {
                int pick = random.Next(a.Count);
                ra[i] = a[pick];
                rb[i] = b[pick];
            }
            double v = statistic(ra, rb);
            if (!double.IsNaN(v)) values.Add(v);
        }
        if (values.Count == 0) return (double.NaN, double.NaN);
        values.Sort();
        return (Percentile(values, 2.5), Percentile(values, 97.5));
    }

    private static double Percentile(List<double> sorted, double percent)
    {
        double position = percent / 100 * (sorted.Count - 1);
        int low = (int)Math.Floor(position);
        int high = Math.Min(low + 1, sorted.Count - 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (position - low);
    }
}
