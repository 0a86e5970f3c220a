using System.Globalization;
using System.Text;
using OnnxGradSign.Evaluation;
using OnnxGradSign.Verification;

namespace OnnxGradSign.Reporting;

/// <summary>Human-readable renderings of the reports (the json format carries the same content).</summary>
public static class TextReports
{
    /// <summary>The backend suite's pass rate (over all cases, and over those not refused on purpose), then each case not passing.</summary>
    public static string Conformance(IReadOnlyList<CaseResult> results)
    {
        var sb = new StringBuilder();
        int pass = results.Count(r => r.Verdict == CaseVerdict.Pass), refused = results.Count(r => r.Verdict == CaseVerdict.Refused);
        foreach (var r in results.Where(r => r.Verdict != CaseVerdict.Pass).OrderBy(r => r.Verdict).ThenBy(r => r.Case, StringComparer.Ordinal))
            sb.AppendLine($"{r.Verdict,-12} {r.Case,-58} {r.Ops,-24} {r.Detail}");
        foreach (var verdict in Enum.GetValues<CaseVerdict>())
            sb.AppendLine($"{verdict,-12} {results.Count(r => r.Verdict == verdict),5}");
        sb.AppendLine($"{pass} of {results.Count} cases pass ({100.0 * pass / results.Count:F1}%); {pass} of {results.Count - refused} " +
            $"not refused on purpose ({100.0 * pass / Math.Max(1, results.Count - refused):F1}%)");
        return sb.ToString();
    }

    public static string Inspection(InspectionReport r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(r.Model);
        if (r.Error is not null && r.Producer.Length == 0 && r.Ops.Count == 0)
        {
            sb.AppendLine($"  error: {r.Error}").AppendLine();
            return sb.ToString();
        }
        sb.AppendLine($"  producer:   {(r.Producer.Length > 0 ? r.Producer : "(none)")} {r.ProducerVersion} (IR {r.IrVersion}): {r.Family}");
        sb.AppendLine($"  opsets:     {string.Join(", ", r.Opsets.Select(o => $"{(o.Key.Length > 0 ? o.Key : "ai.onnx")} {o.Value}"))}");
        foreach (var i in r.Inputs) sb.AppendLine($"  input:      {i.Name} {i.Type}[{string.Join(",", i.Shape)}]");
        foreach (var o in r.Outputs) sb.AppendLine($"  output:     {o.Name} {o.Type}[{string.Join(",", o.Shape)}]");
        sb.AppendLine($"  ops:        {string.Join(", ", r.Ops.Select(o => $"{o.Key} {o.Value}"))}");
        if (r.Parameters is not null)
        {
            sb.AppendLine($"  parameters: {r.TrainableParameters:N0} trainable");
            foreach (var p in r.Parameters) sb.AppendLine($"    {p.Kind,-14} {p.Parameters,12:N0} in {p.Tensors} tensor(s)");
        }
        foreach (var rule in r.Rules) sb.AppendLine($"  rule:       {rule}");
        foreach (var u in r.Unsupported) sb.AppendLine($"  unsupported: node '{u.Node}' ({u.OpType}, opset {u.Opset}): {u.Reason}");
        if (r.Error is not null) sb.AppendLine($"  error: {r.Error}");
        foreach (var w in r.Warnings) sb.AppendLine($"  warning: {w}");
        return sb.AppendLine().ToString();
    }

    public static string Verification(IReadOnlyList<VerificationResult> results, Tolerance tolerance)
    {
        var sb = new StringBuilder();
        foreach (var r in results)
        {
            sb.AppendLine($"{(r.Passed ? "PASS" : "FAIL")}  {r.Model}");
            if (r.Error is not null) sb.AppendLine($"      error: {r.Error}");
            foreach (var o in r.Outputs)
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"      {o.Output} [{string.Join(",", o.Shape)}]: max abs {o.MaxAbsoluteError:G3}, max rel {o.MaxRelativeError:G3}{(o.WithinTolerance ? "" : "  (beyond tolerance)")}"));
            foreach (var o in r.Outputs.Where(o => o.Noise is not null))
                sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                    $"      {o.Output}: against a float64 run, ONNX Runtime is off by {o.Noise!.OnnxRuntime:G3} and we by {o.Noise.Ours:G3}: {(o.Noise.WithinRounding ? "float32 rounding, not an import error" : "we are further off than float32 rounding explains")}"));
        }
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{results.Count(r => r.Passed)} of {results.Count} model(s) match ONNX Runtime (rtol {tolerance.Relative:G3}, atol {tolerance.Absolute:G3})"));
        return sb.ToString();
    }

    public static string Evaluation(EvaluationReport report)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"{"proxy",-34} {"n",4}  {"spearman [95% CI]",26}  {"kendall [95% CI]",26}  {"top1%",6} {"top5%",6} {"top10%",6}  {"best pick",9}"));
        foreach (var p in report.Proxies.OrderByDescending(p => p.Kendall))
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture,
                $"{p.Proxy,-34} {p.N,4}  {p.Spearman,7:0.000} [{p.SpearmanLow,6:0.000}, {p.SpearmanHigh,6:0.000}]  {p.Kendall,7:0.000} [{p.KendallLow,6:0.000}, {p.KendallHigh,6:0.000}]  {p.Top1,6:0.00} {p.Top5,6:0.00} {p.Top10,6:0.00}  {p.BestPickAccuracy,9:0.####}"));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{report.Matched} model(s) matched; best accuracy among them {report.BestAccuracy:0.####}"));
        if (report.UnmatchedScores.Count > 0)
            sb.AppendLine($"{report.UnmatchedScores.Count} scored model(s) without ground truth: {string.Join(", ", report.UnmatchedScores.Take(10))}{(report.UnmatchedScores.Count > 10 ? ", ..." : "")}");
        if (report.UnmatchedTruth.Count > 0)
            sb.AppendLine($"{report.UnmatchedTruth.Count} ground-truth row(s) without a score: {string.Join(", ", report.UnmatchedTruth.Take(10))}{(report.UnmatchedTruth.Count > 10 ? ", ..." : "")}");
        return sb.ToString();
    }

    public static string EvaluationCsv(EvaluationReport report)
    {
        var sb = new StringBuilder("proxy,n,spearman,spearman_low,spearman_high,kendall,kendall_low,kendall_high,top1,top5,top10,best_pick_accuracy,best_pick_model\n");
        foreach (var p in report.Proxies)
            sb.AppendLine(string.Join(",", new object[] { $"\"{p.Proxy}\"", p.N, p.Spearman, p.SpearmanLow, p.SpearmanHigh, p.Kendall, p.KendallLow, p.KendallHigh,
                p.Top1, p.Top5, p.Top10, p.BestPickAccuracy, $"\"{p.BestPickModel}\"" }.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        return sb.ToString();
    }
}
