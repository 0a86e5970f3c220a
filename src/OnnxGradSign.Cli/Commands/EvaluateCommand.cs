using System.CommandLine;
using OnnxGradSign.Evaluation;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Cli.Commands;

public static class EvaluateCommand
{
    public static Command Create()
    {
        var scores = new Argument<string>("scores") { Description = "A scores file written by `score` (csv, json or jsonl)" };
        var truth = new Option<string>("--truth") { Description = "Ground-truth CSV: model (or id) and accuracy columns", Required = true };
        var plot = new Option<string?>("--plot") { Description = "Write PNG scatter plots and a proxy correlation heatmap into DIR" };
        var resamples = new Option<int>("--bootstrap") { Description = "Bootstrap resamples for the 95% intervals", DefaultValueFactory = _ => 1000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the bootstrap", DefaultValueFactory = _ => 0 };
        var format = CommonOptions.Format("table", "json", "csv");
        var command = new Command("evaluate", "Rank correlation (Spearman, Kendall, bootstrap CIs), top-k precision and best pick of each proxy against ground truth")
        {
            scores, truth, plot, resamples, seed, format,
        };
        command.SetAction(parse =>
        {
            ScoreTable table;
            GroundTruth groundTruth;
            try
            {
                if (parse.GetValue(resamples) < 1) throw new InvalidDataException($"--bootstrap must be positive, got {parse.GetValue(resamples)}");
                table = ScoreTable.Read(parse.GetValue(scores)!);
                groundTruth = GroundTruth.Read(parse.GetValue(truth)!);
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine(e.Message);
                return ExitCodes.Usage;
            }
            var report = Evaluator.Evaluate(table, groundTruth, parse.GetValue(resamples), parse.GetValue(seed));
            Console.Write(parse.GetValue(format) switch
            {
                "json" => Json.Serialize(report) + "\n",
                "csv" => TextReports.EvaluationCsv(report),
                _ => TextReports.Evaluation(report),
            });
            if (parse.GetValue(plot) is { } folder)
                foreach (var file in EvaluationPlots.Write(folder, table, groundTruth, report)) Console.Error.WriteLine($"wrote {file}");
            return report.Proxies.Count > 0 ? ExitCodes.Ok : ExitCodes.ModelFailed;
        });
        return command;
    }
}
