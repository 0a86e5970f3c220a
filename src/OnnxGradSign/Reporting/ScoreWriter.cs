using System.Globalization;
using System.Text;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Reporting;

public enum ScoreFormat { Table, Json, Jsonl, Csv }

/// <summary>Writes score records as a best-first table, a JSON array, JSON lines or CSV (one row per model, the same field names).</summary>
public static class ScoreWriter
{
    public static readonly string[] CsvColumns =
        ["model", "sha256", "status", "error", "gradsign", "gradsign_std", "params", "seconds", "engine", "init", "seeds", "data", "batch_size",
         "reduce", "param_scope", "loss", "output", "device"];

    public static string Write(IReadOnlyList<ScoreRecord> records, ScoreFormat format) => format switch
    {
        ScoreFormat.Json => Json.Serialize(records) + "\n",
        ScoreFormat.Jsonl => string.Concat(records.Select(r => Json.Serialize(r, indented: false) + "\n")),
        ScoreFormat.Csv => string.Join(",", CsvColumns) + "\n" + string.Concat(records.Select(CsvRow)),
        _ => Table(records),
    };

    private static string CsvRow(ScoreRecord r)
    {
        string[] cells = [r.Model, r.Sha256 ?? "", r.Status, r.Error ?? "", Number(r.Gradsign), Number(r.GradsignStd), r.Params?.ToString() ?? "",
            Number(r.Seconds), r.Engine ?? "", r.Init, r.Seeds, r.Data, r.BatchSize.ToString(), r.Reduce, r.ParamScope, r.Loss, r.Output ?? "", r.Device];
        return string.Join(",", cells.Select(Quote)) + "\n";
    }

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;

    private static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static string Table(IReadOnlyList<ScoreRecord> records)
    {
        var sb = new StringBuilder();
        var ranked = records.Where(r => r.Status == ScoreRecord.Ok).OrderByDescending(r => r.Gradsign).ToList();
        bool spread = ranked.Any(r => r.GradsignStd is not null);
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{"rank",4}  {"gradsign",14}{(spread ? $"  {"± std",10}" : "")}  {"params",10}  {"seconds",8}  {"engine",-10}  model"));
        for (int k = 0; k < ranked.Count; k++)
        {
            var r = ranked[k];
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{k + 1,4}  {r.Gradsign,14:0.###}{(spread ? $"  {r.GradsignStd,10:0.###}" : "")}  {r.Params,10}  {r.Seconds,8:0.00}  {r.Engine,-10}  {r.Model}"));
            foreach (var w in r.Warnings) sb.AppendLine($"      warning: {w}");
            foreach (var l in r.Layers ?? [])
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"      {l.Parameter,-40} {l.Kind,-8} {l.Weights,9} weights  share {l.Share,6:P1}  agreement {l.SignAgreement,6:0.000}  zero {l.ZeroFraction,6:P1}{(l.NonFinite > 0 ? $"  non-finite {l.NonFinite}" : "")}"));
        }
        foreach (var r in records.Where(r => r.Status != ScoreRecord.Ok))
            sb.AppendLine($"   -  error: {r.Model}: {r.Error}");
        var first = records.FirstOrDefault();
        if (first is not null)
            sb.AppendLine($"{ranked.Count} of {records.Count} model(s) scored; init {first.Init}, seeds {first.Seeds}, data {first.Data}, batch {first.BatchSize}, " +
                $"reduce {first.Reduce}, params {first.ParamScope}, loss {first.Loss}");
        return sb.ToString();
    }
}
