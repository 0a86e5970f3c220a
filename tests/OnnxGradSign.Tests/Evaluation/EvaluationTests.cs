using OnnxGradSign.Cli.Commands;
using OnnxGradSign.Evaluation;

namespace OnnxGradSign.Tests.Evaluation;

public class EvaluationTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-evaluate").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Rank_correlations_with_ties_equal_scipy()
    {
        // scipy.stats.spearmanr / kendalltau (τ-b) on the same data.
        double[] a = [0.3, 1.2, -0.5, 2.2, 2.2, 0.9, 4.1];
        double[] b = [10, 12, 9, 15, 13, 12, 20];
        Assert.Equal(0.9818181818181818, RankStatistics.Spearman(a, b), 12);
        Assert.Equal(0.95, RankStatistics.Kendall(a, b), 12);
        Assert.Equal(-1, RankStatistics.Kendall(a.Where((_, i) => i != 4).ToArray(), a.Where((_, i) => i != 4).Select(v => -v).ToArray()), 12);
    }

    [Fact]
    public void Top_k_precision_and_bootstrap_interval()
    {
        var accuracy = Enumerable.Range(0, 20).Select(i => (double)i).ToArray();
        var perfect = accuracy.Select(v => v * 2).ToArray();
        var reversed = accuracy.Select(v => -v).ToArray();
        Assert.Equal(1, RankStatistics.TopPrecision(perfect, accuracy, 10));
        Assert.Equal(0, RankStatistics.TopPrecision(reversed, accuracy, 10));
        var (low, high) = RankStatistics.Bootstrap(perfect, accuracy, RankStatistics.Spearman, 200, 1);
        Assert.Equal((1.0, 1.0), (low, high));
        var noisy = accuracy.Select((v, i) => v + (i % 3 == 0 ? 6 : -3)).ToArray();
        var interval = RankStatistics.Bootstrap(noisy, accuracy, RankStatistics.Spearman, 500, 1);
        Assert.InRange(RankStatistics.Spearman(noisy, accuracy), interval.Low, interval.High);
        Assert.True(interval.Low < interval.High);
        Assert.Equal(interval, RankStatistics.Bootstrap(noisy, accuracy, RankStatistics.Spearman, 500, 1)); // seeded
    }

    [Fact]
    public void Evaluate_joins_by_file_name_reports_unmatched_rows_and_draws_plots()
    {
        var scores = Path.Combine(_dir, "scores.csv");
        File.WriteAllText(scores, """
            model,sha256,status,error,gradsign,"vote(gradsign,snip)",snip,params,seconds
            runs/a.onnx,x,ok,,3,2.5,30,100,0.1
            runs/b.onnx,x,ok,,2,1.5,10,300,0.1
            runs/c.onnx,x,ok,,1,2,20,200,0.1
            runs/broken.onnx,x,error,"bad, very bad",,,,,0.1
            runs/extra.onnx,x,ok,,5,3,50,50,0.1
            """);
        var truth = Path.Combine(_dir, "truth.csv");
        File.WriteAllText(truth, "id,accuracy\na,0.9\nb,0.8\nc,0.7\nnot_scored,0.5\n");

        var report = Evaluator.Evaluate(ScoreTable.Read(scores), GroundTruth.Read(truth), 100, 0);
        Assert.Equal(3, report.Matched);
        Assert.Equal(["runs/extra.onnx"], report.UnmatchedScores);
        Assert.Equal(["not_scored"], report.UnmatchedTruth);
        Assert.Equal(["gradsign", "vote(gradsign,snip)", "snip", "params"], report.Proxies.Select(p => p.Proxy));
        var gradsign = report.Proxies[0];
        Assert.Equal((1.0, 1.0, 0.9), (gradsign.Spearman, gradsign.Kendall, gradsign.BestPickAccuracy));
        Assert.Equal(-0.5, report.Proxies.Single(p => p.Proxy == "params").Spearman, 12);

        var plots = Path.Combine(_dir, "plots");
        Assert.Equal(ExitCodes.Ok, EvaluateCommand.Create().Parse([scores, "--truth", truth, "--plot", plots, "--format", "csv"]).Invoke());
        var png = File.ReadAllBytes(Path.Combine(plots, "proxy_correlation.png"));
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
        Assert.Equal(5, Directory.GetFiles(plots, "*.png").Length);
    }

    [Fact]
    public void A_bad_truth_file_names_the_row()
    {
        var truth = Path.Combine(_dir, "truth.csv");
        File.WriteAllText(truth, "model,accuracy\na,0.9\nb,high\n");
        var e = Assert.Throws<InvalidDataException>(() => GroundTruth.Read(truth));
        Assert.Contains("row 3", e.Message);
        Assert.Contains("'high'", e.Message);
    }
}
