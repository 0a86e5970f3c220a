using System.CommandLine;
using OnnxGradSign.Reporting;
using OnnxGradSign.Runs;

namespace OnnxGradSign.Cli.Commands;

public static class MergeCommand
{
    public static Command Create()
    {
        var inputs = new Argument<string[]>("files") { Description = "Score files written by `score` (jsonl, json or csv), e.g. one per --shard", Arity = ArgumentArity.OneOrMore };
        var format = CommonOptions.Format("jsonl", "csv", "json", "table");
        var file = new Option<string?>("--output", "-o") { Description = "Write the merged records to FILE instead of standard output" };
        var command = new Command("merge", "Merge score files: one record per model content and settings (the first kept), sorted by model")
        {
            inputs, format, file,
        };
        command.SetAction(parse =>
        {
            List<Proxies.ScoreRecord> records;
            try
            {
                records = parse.GetValue(inputs)!.SelectMany(RecordFiles.Read).ToList();
            }
            catch (Exception e) when (e is FileNotFoundException or InvalidDataException or System.Text.Json.JsonException)
            {
                Console.Error.WriteLine(e.Message);
                return ExitCodes.Usage;
            }
            // A model that failed in one shard and succeeded in another keeps its success.
            var merged = records.OrderBy(r => r.Status == Proxies.ScoreRecord.Ok ? 0 : 1)
                .DistinctBy(r => r.Sha256 is null ? r.Model : RecordFiles.Identity(r))
                .OrderBy(r => r.Model, StringComparer.Ordinal).ToList();
            // Shards rank their ensembles among their own models: rank them again over the whole merged set.
            var columns = RecordFiles.ScoreColumns(merged);
            var ensembles = columns.Where(c => c.Contains('(')).SelectMany(Proxies.ProxySelection.Parse).ToList();
            merged = Proxies.Ensembles.Apply(merged, ensembles).ToList();
            var text = ScoreWriter.Write(merged, Enum.Parse<ScoreFormat>(parse.GetValue(format)!, ignoreCase: true), columns);
            if (parse.GetValue(file) is { } target) File.WriteAllText(target, text);
            else Console.Write(text);
            return ExitCodes.Ok;
        });
        return command;
    }
}
