using OnnxGradSign.Evaluation;
using OnnxGradSign.Proxies;
using ScottPlot;

namespace OnnxGradSign.Reporting;

/// <summary>PNG figures of an evaluation (ScottPlot): each proxy against accuracy in rank space, and proxy-vs-proxy rank correlations.</summary>
public static class EvaluationPlots
{
    public static List<string> Write(string folder, ScoreTable scores, GroundTruth truth, EvaluationReport report)
    {
        Directory.CreateDirectory(folder);
        var written = new List<string>();
        foreach (var evaluation in report.Proxies)
        {
            var pairs = scores.Rows.Where(r => truth.Find(r.Model) is not null && r.Values.TryGetValue(evaluation.Proxy, out var v) && !double.IsNaN(v)).ToList();
            var proxyRanks = Ensembles.Ranks(pairs.Select(r => r.Values[evaluation.Proxy]).ToList());
            var accuracyRanks = Ensembles.Ranks(pairs.Select(r => truth.Find(r.Model)!.Value).ToList());
            var plot = new Plot();
            var points = plot.Add.ScatterPoints(proxyRanks, accuracyRanks);
            points.MarkerSize = 7;
            plot.Title($"{evaluation.Proxy}: Spearman {evaluation.Spearman:0.000}, Kendall {evaluation.Kendall:0.000} (n = {evaluation.N})");
            plot.XLabel($"{evaluation.Proxy} rank");
            plot.YLabel("accuracy rank");
            written.Add(Save(plot, folder, $"scatter_{FileName(evaluation.Proxy)}.png", 640, 520));
        }

        var names = report.Proxies.Select(p => p.Proxy).ToList();
        if (names.Count > 1)
        {
            var matrix = new double[names.Count, names.Count];
            for (int i = 0; i < names.Count; i++)
                for (int j = 0; j < names.Count; j++)
                    matrix[i, j] = report.ProxyCorrelations[names[i]][names[j]]; // ScottPlot draws row 0 on top
            var plot = new Plot();
            var heatmap = plot.Add.Heatmap(matrix);
            heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
            plot.Add.ColorBar(heatmap);
            for (int i = 0; i < names.Count; i++)
                for (int j = 0; j < names.Count; j++)
                {
                    var label = plot.Add.Text(double.IsNaN(matrix[i, j]) ? "-" : matrix[i, j].ToString("0.00"), j, names.Count - 1 - i);
                    label.LabelAlignment = Alignment.MiddleCenter;
                    label.LabelFontColor = matrix[i, j] > 0.5 ? Colors.Black : Colors.White;
                }
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(names.Select((n, k) => new Tick(k, n)).ToArray());
            plot.Axes.Left.TickGenerator = new ScottPlot.TickGenerators.NumericManual(names.Select((n, k) => new Tick(names.Count - 1 - k, n)).ToArray());
            plot.Axes.Bottom.TickLabelStyle.Rotation = 45;
            plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
            plot.Axes.Bottom.MinimumSize = 10 * names.Max(n => n.Length);
            plot.Title("Spearman rank correlation between proxies");
            written.Add(Save(plot, folder, "proxy_correlation.png", 760, 700));
        }
        return written;
    }

    private static string Save(Plot plot, string folder, string name, int width, int height)
    {
        var path = Path.Combine(folder, name);
        plot.SavePng(path, width, height);
        return path;
    }

    private static string FileName(string proxy) => new(proxy.Select(c => char.IsLetterOrDigit(c) || c == '_' ? c : '_').ToArray());
}
