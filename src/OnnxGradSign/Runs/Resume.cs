using OnnxGradSign.Onnx;
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
        var hashes = files.Distinct().ToDictionary(f => f, ModelFiles.TrySha256);
        bool Current(ScoreRecord r) => !hashes.TryGetValue(r.Model, out var sha) || r.Sha256 == sha;
        var kept = existing.GroupBy(r => r.Model).Select(g => g.Last())
            .Where(r => Current(r) && (r.Status == ScoreRecord.Ok || !retryErrors)).ToList();
        var done = kept.Select(r => r.Model).ToHashSet();
        return (kept, files.Where(f => !done.Contains(f)).ToList());
    }

    /// <summary>Refuses to resume a file written with settings that decide a result differently (the data each model got included).</summary>
    public static void CheckSettings(IncrementalOutput output, ScoreRun run)
    {
        if (output.Existing.Count == 0) return;
        var found = output.Existing[0];
        var differing = ScoreOptionFields.All.Where(f => f.DecidesResult && f.Text(found.Settings) != f.Text(run.Options))
            .Select(f => $"{f.Name} {f.Text(found.Settings) ?? "unset"} (this run: {f.Text(run.Options) ?? "unset"})").ToList();
        var data = run.Data.For(found.Model)?.Source ?? Data.DatasetLoader.SyntheticName;
        if (data != found.DataUsed)
            differing.Add($"data {found.DataUsed} (this run: {data})");
        if (differing.Count > 0)
            throw new ArgumentException($"{output.Path} was written with other settings: {string.Join("; ", differing)}; resume with the same options, or write elsewhere");
    }
}
