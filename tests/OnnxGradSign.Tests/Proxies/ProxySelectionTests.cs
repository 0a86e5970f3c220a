using OnnxGradSign.Proxies;

namespace OnnxGradSign.Tests.Proxies;

public class ProxySelectionTests
{
    [Fact]
    public void Parses_names_all_and_ensembles_with_their_commas()
    {
        var specs = ProxySelection.Parse("vote(snip,synflow),gradsign, logrank(naswot,zico,gradsign)");
        Assert.Equal(["vote(snip,synflow)", "gradsign", "logrank(naswot,zico,gradsign)"], specs.Select(s => s.Name));
        Assert.Equal(["gradsign", "snip", "synflow", "naswot", "zico"], ProxySelection.Needed(specs).Select(p => p.Name));
        Assert.Equal(ProxyCatalog.All.Count, ProxySelection.Parse("all").Count);
    }

    [Theory]
    [InlineData("gradsing", "unknown proxy 'gradsing'")]
    [InlineData("vote(snip)", "at least two")]
    [InlineData("median(snip,zico)", "unknown ensemble 'median'")]
    [InlineData("vote(snip,nope)", "unknown proxy 'nope'")]
    public void Rejects_bad_names_clearly(string text, string message) =>
        Assert.Contains(message, Assert.Throws<ScoreOptionException>(() => ProxySelection.Parse(text)).Message);

    private static ScoreRecord Scored(string model, double a, double b) =>
        new ScoreRecord { Model = model, Status = ScoreRecord.Ok, DataUsed = "", Settings = new ScoreOptions() }
            .WithScore("a", a).WithScore("b", b);

    [Fact]
    public void Vote_averages_ranks_and_logrank_sums_log_rank_fractions()
    {
        var records = new[] { Scored("m1", 10, 1), Scored("m2", 30, 3), Scored("m3", 20, 3) };
        var failed = new ScoreRecord { Model = "bad", Status = ScoreRecord.Failed, DataUsed = "", Settings = new ScoreOptions() };
        var result = Ensembles.Apply([.. records, failed], [new EnsembleProxy("vote", ["a", "b"]), new EnsembleProxy("logrank", ["a", "b"])]);
        // Ranks of a: m1 1, m2 3, m3 2; of b (tie between m2 and m3): m1 1, m2 2.5, m3 2.5.
        Assert.Equal([1.0, 2.75, 2.25], result.Take(3).Select(r => r.Score("vote(a,b)")!.Value));
        Assert.Equal(Math.Log(1 / 3.0) * 2, result[0].Score("logrank(a,b)")!.Value, 12);
        Assert.Equal(Math.Log(3 / 3.0) + Math.Log(2.5 / 3), result[1].Score("logrank(a,b)")!.Value, 12);
        Assert.Null(result[3].Score("vote(a,b)"));
    }
}
