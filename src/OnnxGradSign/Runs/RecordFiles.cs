using System.Globalization;
using System.Text.Json;
using OnnxGradSign.Evaluation;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>Score records read back from files that `score` wrote (jsonl, json or csv), for --resume and merge.</summary>
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

    /// <summary>What makes two records the same result: the model's content and every setting, including which scores it holds.</summary>
    public static string Identity(ScoreRecord r) => string.Join("|", r.Sha256, r.Init, r.Seeds, r.Data, r.BatchSize, r.Reduce, r.ParamScope, r.Loss,
        r.Output, r.Device, string.Join(",", r.Scores.Keys.Order(StringComparer.Ordinal)));

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
        string Text(string column) => row.GetValueOrDefault(column) ?? "";
        double? Number(string column) => row.TryGetValue(column, out var v) && v.Length > 0 ? double.Parse(v, CultureInfo.InvariantCulture) : null;
        var known = ScoreWriter.LeadingColumns.Concat(ScoreWriter.TrailingColumns).ToHashSet();
        return new ScoreRecord
        {
            Model = Text("model"), Sha256 = Text("sha256") is { Length: > 0 } sha ? sha : null, Status = Text("status"),
            Error = Text("error") is { Length: > 0 } error ? error : null,
            Scores = row.Keys.Where(c => !known.Contains(c)).ToDictionary(c => c, Number),
            Params = (long?)Number("params"), Seconds = Number("seconds") ?? 0, Engine = Text("engine") is { Length: > 0 } engine ? engine : null,
            LossUsed = Text("loss_used") is { Length: > 0 } used ? used : null,
            Init = Text("init"), Seeds = Text("seeds"), Data = Text("data"), BatchSize = (long)(Number("batch_size") ?? 0), Reduce = Text("reduce"),
            ParamScope = Text("param_scope"), Loss = Text("loss"), Output = Text("output") is { Length: > 0 } output ? output : null, Device = Text("device"),
        };
    }
}
