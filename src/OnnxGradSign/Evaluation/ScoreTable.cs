using System.Globalization;
using System.Text.Json;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Evaluation;

public sealed record ScoreRow(string Model, IReadOnlyDictionary<string, double> Values);

/// <summary>
/// A scores file written by `score` (csv or jsonl/json): one row per model that scored, one value per proxy column.
/// Proxy columns are the numeric ones that are not settings, timings or spreads (NAME_std, synflow_log10); `params`, in every
/// record, is always among them as the size baseline.
/// </summary>
public sealed record ScoreTable(IReadOnlyList<ScoreRow> Rows, IReadOnlyList<string> Proxies)
{
    /// <summary>A record's fields besides its scores (params stays: it is the size baseline).</summary>
    private static readonly HashSet<string> NotProxies = ScoreRecord.FieldNames.Where(f => f != "params").ToHashSet();

    public static ScoreTable Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such scores file");
        var text = File.ReadAllText(path);
        var records = text.TrimStart().StartsWith('[') || text.TrimStart().StartsWith('{') ? FromJson(text, path) : Csv.Read(text, path);
        var ok = records.Where(r => !r.TryGetValue("status", out var s) || s == "ok").ToList();
        if (ok.Count > 0 && !ok[0].ContainsKey("model")) throw new InvalidDataException($"{path}: no 'model' column");
        var proxies = ok.SelectMany(r => r.Keys).Distinct()
            .Where(k => !NotProxies.Contains(k) && !k.EndsWith("_std") && k != "synflow_log10"
                && ok.Any(r => r.TryGetValue(k, out var v) && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out _)))
            .ToList();
        var rows = ok.Select(r => new ScoreRow(r["model"], proxies
            .Where(p => r.TryGetValue(p, out var v) && v.Length > 0)
            .ToDictionary(p => p, p => Parse(r[p])))).ToList();
        return new ScoreTable(rows, proxies);
    }

    private static double Parse(string value) => value switch
    {
        "Infinity" => double.PositiveInfinity,
        "-Infinity" => double.NegativeInfinity,
        "NaN" => double.NaN,
        _ => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture),
    };

    private static List<Dictionary<string, string>> FromJson(string text, string path)
    {
        var documents = text.TrimStart().StartsWith('[')
            ? JsonDocument.Parse(text).RootElement.EnumerateArray().ToList()
            : text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(line => JsonDocument.Parse(line).RootElement).ToList();
        return documents.Select(d => d.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.ValueKind switch
        {
            JsonValueKind.String => p.Value.GetString()!,
            JsonValueKind.Number => p.Value.GetRawText(),
            JsonValueKind.Null => "",
            _ => p.Value.GetRawText(),
        })).ToList();
    }
}

/// <summary>Minimal RFC 4180 CSV: a header row, quoted cells with doubled quotes.</summary>
public static class Csv
{
    public static List<Dictionary<string, string>> Read(string text, string path)
    {
        var lines = Rows(text).Where(r => r.Count > 1 || r[0].Length > 0).ToList();
        if (lines.Count == 0) throw new InvalidDataException($"{path}: empty file");
        var header = lines[0];
        var rows = new List<Dictionary<string, string>>();
        for (int i = 1; i < lines.Count; i++)
        {
            if (lines[i].Count != header.Count)
                throw new InvalidDataException($"{path}: row {i + 1} has {lines[i].Count} cells, the header {header.Count}");
            var row = new Dictionary<string, string>();
            for (int c = 0; c < header.Count; c++) row.TryAdd(header[c], lines[i][c]); // a repeated column keeps its first value
            rows.Add(row);
        }
        return rows;
    }

    private static IEnumerable<List<string>> Rows(string text)
    {
        var row = new List<string>();
        var cell = new System.Text.StringBuilder();
        bool quoted = false;
        for (int i = 0; i < text.Length; i++)
        {
            char ch = text[i];
            if (quoted)
            {
                if (ch == '"' && i + 1 < text.Length && text[i + 1] == '"') { cell.Append('"'); i++; }
                else if (ch == '"') quoted = false;
                else cell.Append(ch);
            }
            else if (ch == '"') quoted = true;
            else if (ch == ',') { row.Add(cell.ToString()); cell.Clear(); }
            else if (ch == '\n' || ch == '\r')
            {
                if (ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                row.Add(cell.ToString()); cell.Clear();
                yield return row;
                row = new List<string>();
            }
            else cell.Append(ch);
        }
        if (cell.Length > 0 || row.Count > 0) { row.Add(cell.ToString()); yield return row; }
    }
}
