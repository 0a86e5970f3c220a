namespace OnnxGradSign.Proxies;

/// <summary>A proxy named on the command line: one of the catalog, or an ensemble of them over the scored set.</summary>
public abstract record ProxySpec(string Name);

public sealed record SingleProxy(Proxy Proxy) : ProxySpec(Proxy.Name);

/// <summary>vote(a,b,…): mean of the members' ranks; logrank(a,b,…): Σ log(rank/m) as AZ-NAS combines its terms (rank m = best).</summary>
public sealed record EnsembleProxy(string Kind, IReadOnlyList<string> Members) : ProxySpec($"{Kind}({string.Join(",", Members)})");

/// <summary>Parses the proxy option: comma-separated names, `all` for every catalog proxy, vote(…) and logrank(…) wherever a name may stand.</summary>
public static class ProxySelection
{
    public static IReadOnlyList<ProxySpec> Parse(string text)
    {
        var specs = new List<ProxySpec>();
        foreach (var item in SplitTopLevel(text))
        {
            if (item == "all") specs.AddRange(ProxyCatalog.All.Select(p => new SingleProxy(p)));
            else if (item.EndsWith(')') && item.IndexOf('(') is var open and > 0)
            {
                var kind = item[..open];
                if (kind is not ("vote" or "logrank")) throw new ScoreOptionException("proxy", $"unknown ensemble '{kind}' (vote or logrank)");
                var members = SplitTopLevel(item[(open + 1)..^1]).ToList();
                if (members.Count < 2) throw new ScoreOptionException("proxy", $"{item} needs at least two proxies");
                foreach (var m in members) Single(m);
                specs.Add(new EnsembleProxy(kind, members));
            }
            else specs.Add(Single(item));
        }
        if (specs.Count == 0) throw new ScoreOptionException("proxy", "name at least one proxy");
        return specs.DistinctBy(s => s.Name).ToList();
    }

    /// <summary>The catalog proxies a selection needs computed per model (ensemble members included), in catalog order.</summary>
    public static IReadOnlyList<Proxy> Needed(IReadOnlyList<ProxySpec> specs)
    {
        var names = specs.SelectMany(s => s is EnsembleProxy e ? e.Members : [s.Name]).ToHashSet();
        return ProxyCatalog.All.Where(p => names.Contains(p.Name)).ToList();
    }

    private static SingleProxy Single(string name) => new(ProxyCatalog.Find(name)
        ?? throw new ScoreOptionException("proxy", $"unknown proxy '{name}' (known: {string.Join(", ", ProxyCatalog.All.Select(p => p.Name))}, all, vote(…), logrank(…))"));

    private static IEnumerable<string> SplitTopLevel(string text)
    {
        int depth = 0, start = 0;
        for (int i = 0; i <= text.Length; i++)
        {
            if (i == text.Length || text[i] == ',' && depth == 0)
            {
                var piece = text[start..i].Trim();
                if (piece.Length > 0) yield return piece;
                start = i + 1;
            }
            else if (text[i] == '(') depth++;
            else if (text[i] == ')') depth--;
        }
    }
}

/// <summary>Ensembles over the models scored in one run, from their members' values (higher is better everywhere).</summary>
public static class Ensembles
{
    public static IReadOnlyList<ScoreRecord> Apply(IReadOnlyList<ScoreRecord> records, IReadOnlyList<ProxySpec> specs)
    {
        var result = records.ToList();
        foreach (var ensemble in specs.OfType<EnsembleProxy>())
        {
            // Only models with every member scored take part; m is their number.
            var scored = result.Where(r => r.Status == ScoreRecord.Ok && ensemble.Members.All(m => r.Score(m) is { } v && !double.IsNaN(v))).ToList();
            var ranks = ensemble.Members.ToDictionary(m => m, m => Ranks(scored.Select(r => r.Score(m)!.Value).ToList()));
            for (int k = 0; k < scored.Count; k++)
            {
                double value = ensemble.Kind == "vote"
                    ? ensemble.Members.Average(m => ranks[m][k])
                    : ensemble.Members.Sum(m => Math.Log(ranks[m][k] / scored.Count));
                int index = result.IndexOf(scored[k]);
                result[index] = result[index].WithScore(ensemble.Name, value);
            }
        }
        return result;
    }

    /// <summary>Ascending ranks 1..m (the highest value gets m), ties sharing their average rank.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start;
            while (end + 1 < order.Length && values[order[end + 1]] == values[order[start]]) end++;
            for (int k = start; k <= end; k++) ranks[order[k]] = (start + end) / 2.0 + 1;
            start = end + 1;
        }
        return ranks;
    }
}
