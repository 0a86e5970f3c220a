using System.Globalization;
using System.Text.Json;
using OnnxGradSign.Evaluation;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>Score records read back from files that `score` wrote (jsonl, json or csv), for resuming and merging.</summary>
public static class RecordFiles
{
    public static List<ScoreRecord> Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such file");
        var text = File.ReadAllText(path);
        var trimmed = text.TrimStart();
        if (trimmed.StartsWith('[')) return JsonSerializer.Deserialize<List<ScoreRecord>>(text, Json.Options)!;
        if (trimmed.StartsWith('{')) return JsonLines(text);
        return trimmed.Length == 0 ? [] : Csv.Read(text, path).Select(FromCsv).ToList();
    }

    /// <summary>Scores of the records, in order of first appearance: the score columns to write them with.</summary>
    public static List<string> ScoreColumns(IEnumerable<ScoreRecord> records) => records.SelectMany(r => r.Scores.Keys).Distinct().ToList();

    /// <summary>What makes two records the same result: the model's content, the data and every setting that decides a result, and which scores it holds.</summary>
    public static string Identity(ScoreRecord r) => string.Join("|", [r.Sha256, r.DataUsed, .. ScoreOptionFields.All.Where(f => f.DecidesResult).Select(f => f.Text(r.Settings)),
        string.Join(",", r.Scores.Keys.Order(StringComparer.Ordinal))]);

    /// <summary>One JSON record a line; a last line cut short by a killed process is ignored.</summary>
    private static List<ScoreRecord> JsonLines(string text)
    {
        var records = new List<ScoreRecord>();
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < lines.Length; i++)
        {
            try { records.Add(JsonSerializer.Deserialize<ScoreRecord>(lines[i], Json.Options)!); }
            catch (JsonException) when (i == lines.Length - 1) { }
        }
        return records;
    }

    private static ScoreRecord FromCsv(Dictionary<string, string> row)
    {
        string? Text(string column) => row.GetValueOrDefault(column) is { Length: > 0 } text ? text : null;
        double? Number(string column) => Text(column) is { } v ? double.Parse(v, CultureInfo.InvariantCulture) : null;
        var known = ScoreRecord.FieldNames.ToHashSet();
        var settings = ScoreOptionFields.All.Where(f => Text(f.Name) is not null)
            .Aggregate(new ScoreOptions(), (options, f) => f.WithText(options, f.IsMap ? Text(f.Name)!.Split(';') : [Text(f.Name)!]));
        return new ScoreRecord
        {
            Model = Text("model") ?? "", Sha256 = Text("sha256"), Status = Text("status") ?? ScoreRecord.Failed, Error = Text("error"),
            Scores = row.Keys.Where(c => !known.Contains(c)).ToDictionary(c => c, Number),
            Params = (long?)Number("params"), Seconds = Number("seconds") ?? 0, EngineUsed = Text("engine_used"), LossUsed = Text("loss_used"),
            DataUsed = Text("data_used") ?? "", OutputUsed = Text("output_used"), Settings = settings,
        };
    }
}
