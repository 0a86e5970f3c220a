using System.Globalization;
using System.Text;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Reporting;

public enum ScoreFormat { Table, Json, Jsonl, Csv }

/// <summary>
/// Writes score records as a best-first table, a JSON array, JSON lines or CSV (one row per model, the same field names).
/// Score columns are the requested proxies (then NAME_std with several seeds, synflow_log10 with synflow); the table ranks by the first.
/// </summary>
public static class ScoreWriter
{
    public static readonly string[] LeadingColumns = ["model", "sha256", "status", "error"];
    /// <summary>After the scores: what the model got, then every setting of the run by its option name.</summary>
    public static readonly string[] TrailingColumns =
        ["params", "seconds", "engine_used", "loss_used", "data_used", "output_used", .. ScoreOptionFields.All.Select(f => f.Name)];

    public static string Write(IReadOnlyList<ScoreRecord> records, ScoreFormat format, IReadOnlyList<string> scoreColumns) => format switch
    {
        ScoreFormat.Json => Json.Serialize(records) + "\n",
        ScoreFormat.Jsonl => string.Concat(records.Select(JsonLine)),
        ScoreFormat.Csv => CsvHeader(scoreColumns) + string.Concat(records.Select(r => CsvRow(r, scoreColumns))),
        _ => Table(records, scoreColumns),
    };

    public static string JsonLine(ScoreRecord r) => Json.Serialize(r, indented: false) + "\n";

    public static string CsvHeader(IReadOnlyList<string> scoreColumns) =>
        string.Join(",", LeadingColumns.Concat(scoreColumns).Concat(TrailingColumns).Select(Quote)) + "\n";

    public static string CsvRow(ScoreRecord r, IReadOnlyList<string> scoreColumns)
    {
        string[] cells = [r.Model, r.Sha256 ?? "", r.Status, r.Error ?? "", .. scoreColumns.Select(c => Number(r.Score(c))), r.Params?.ToString() ?? "",
            Number(r.Seconds), r.EngineUsed ?? "", r.LossUsed ?? "", r.DataUsed, r.OutputUsed ?? "", .. ScoreOptionFields.All.Select(f => f.Text(r.Settings) ?? "")];
        return string.Join(",", cells.Select(Quote)) + "\n";
    }

    /// <summary>
    /// Four significant digits in one style for every column: plain below 10^4 (down to 0.01), else scientific with a
    /// three-digit mantissa (1.658e+09), and inf, -inf, nan for the non-finite values.
    /// </summary>
    public static string Short(double v) => v switch
    {
        double.NaN => "nan",
        double.PositiveInfinity => "inf",
        double.NegativeInfinity => "-inf",
        0 => "0",
        _ when Math.Abs(v) >= 1e4 || Math.Abs(v) < 1e-2 => v.ToString("0.000e+00", CultureInfo.InvariantCulture),
        _ => v.ToString("G4", CultureInfo.InvariantCulture),
    };

    private static string Quote(string cell) =>
        cell.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + cell.Replace("\"", "\"\"") + "\"" : cell;

    private static string Number(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static string Table(IReadOnlyList<ScoreRecord> records, IReadOnlyList<string> scoreColumns)
    {
        var sb = new StringBuilder();
        // The first requested proxy ranks; with params alone, the parameter count does.
        var rankBy = scoreColumns.FirstOrDefault() ?? "params";
        var scored = records.Ranked(rankBy);
        var ranked = scored.Concat(records.Where(r => r.Status == ScoreRecord.Ok).Except(scored)).ToList(); // models without that score last
        var widths = scoreColumns.Select(c => Math.Max(c.Length, 12)).ToList();
        sb.AppendLine($"{"rank",4}  {string.Join("  ", scoreColumns.Select((c, k) => c.PadLeft(widths[k])))}  {"params",10}  {"seconds",8}  {"engine",-10}  model");
        for (int k = 0; k < ranked.Count; k++)
        {
            var r = ranked[k];
            var cells = scoreColumns.Select((c, i) => (r.Score(c) is { } v ? Short(v) : "-").PadLeft(widths[i]));
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{k + 1,4}  {string.Join("  ", cells)}  {r.Params,10}  {r.Seconds,8:0.00}  {r.EngineUsed ?? "",-10}  {r.Model}"));
            foreach (var w in r.Warnings) sb.AppendLine($"      warning: {w}");
            foreach (var l in r.Layers ?? [])
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"      {l.Parameter,-40} {l.Kind,-8} {l.Weights,9} weights  share {l.Share,6:P1}  agreement {l.SignAgreement,6:0.000}  zero {l.ZeroFraction,6:P1}{(l.NonFinite > 0 ? $"  non-finite {l.NonFinite}" : "")}"));
        }
        foreach (var r in records.Where(r => r.Status != ScoreRecord.Ok))
            sb.AppendLine($"   -  error: {r.Error}"); // the error names the model
        var first = records.FirstOrDefault()?.Settings;
        var data = records.Select(r => r.DataUsed).Distinct().ToList(); // by default each model takes the sample nearest it
        if (first is not null)
            sb.AppendLine($"{ranked.Count} of {records.Count} model(s) scored; init {Choices<Import.WeightInit>.Name(first.Init)}, seeds {string.Join(",", first.Seeds)}, " +
                $"data {string.Join(" or ", data)}, batch {first.BatchSize}, reduce {Choices<GradSignReduce>.Name(first.Reduce)}, " +
                $"params {Choices<Gradients.ParameterScope>.Name(first.ParamScope)}, loss {Choices<Gradients.LossKind>.Name(first.Loss)}");
        return sb.ToString();
    }
}
