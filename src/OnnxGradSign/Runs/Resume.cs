using OnnxGradSign.Proxies;

namespace OnnxGradSign.Runs;

/// <summary>Which models a resumed run still has to score, and whether the file it resumes was made with the same settings.</summary>
public static class Resume
{
    /// <summary>Files without a successful record of the same content in the file (a changed model is scored again).</summary>
    public static List<string> Remaining(IReadOnlyList<string> files, IReadOnlyList<ScoreRecord> existing)
    {
        var done = existing.Where(r => r.Status == ScoreRecord.Ok).Select(r => (r.Model, r.Sha256)).ToHashSet();
        return files.Where(f => !done.Contains((f, ModelScorer.Sha256(f)))).ToList();
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
