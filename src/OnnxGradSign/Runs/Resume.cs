using OnnxGradSign.Proxies;

namespace OnnxGradSign.Runs;

/// <summary>Which records a resumed run keeps, which models it still has to score, and whether the file it resumes was made with the same settings.</summary>
public static class Resume
{
    /// <summary>
    /// One record per model, however often the run was killed and resumed: the file's last record for each model is kept when it
    /// is of the model's current content (a changed model is scored again and its old record dropped) and is a success, or an
    /// error that is not to be retried. Every file without a kept record remains to be scored; records of models outside this run
    /// stay as they are.
    /// </summary>
    public static (List<ScoreRecord> Kept, List<string> Remaining) Plan(IReadOnlyList<string> files, IReadOnlyList<ScoreRecord> existing, bool retryErrors)
    {
        var hashes = files.Distinct().ToDictionary(f => f, ModelScorer.TrySha256);
        bool Current(ScoreRecord r) => !hashes.TryGetValue(r.Model, out var sha) || r.Sha256 == sha;
        var kept = existing.GroupBy(r => r.Model).Select(g => g.Last())
            .Where(r => Current(r) && (r.Status == ScoreRecord.Ok || !retryErrors)).ToList();
        var done = kept.Select(r => r.Model).ToHashSet();
        return (kept, files.Where(f => !done.Contains(f)).ToList());
    }

    public static void CheckSettings(IncrementalOutput output, ScoringRun run)
    {
        if (output.Existing.Count == 0) return;
        var found = Settings(output.Existing[0]);
        var expected = Settings(ModelScorer.Blank("", run.Data.For(output.Existing[0].Model), run.Settings));
        if (found != expected)
            throw new ArgumentException($"{output.Path} was written with other settings ({found}); this run has {expected}: resume with the same options, or write elsewhere");
    }

    private static string Settings(ScoreRecord r) =>
        $"init {r.Init}, seeds {r.Seeds}, data {r.Data}, batch {r.BatchSize}, reduce {r.Reduce}, params {r.ParamScope}, loss {r.Loss}, device {r.Device}";
}
