using System.Diagnostics;
using OnnxGradSign.Data;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Runs;

/// <summary>Scores one model for a run: in this process (<see cref="InProcess"/>) or in a child process (<see cref="WorkerProcess"/>).</summary>
public interface IModelScorer : IDisposable
{
    ScoreRecord Score(string file, Dataset? data, string? sha256);
}

/// <summary>How far a run is: models finished of the total, the one just finished, and the time since the run began.</summary>
public readonly record struct RunProgress(int Done, int Total, string Model, TimeSpan Elapsed)
{
    /// <summary>Models per second so far, or null before the first finishes.</summary>
    public double? Rate => Done > 0 && Elapsed > TimeSpan.Zero ? Done / Elapsed.TotalSeconds : null;

    /// <summary>The time the remaining models would take at the rate so far.</summary>
    public TimeSpan? Remaining => Rate is { } rate ? TimeSpan.FromSeconds((Total - Done) / rate) : null;
}

/// <summary>What a call to <see cref="ScoreRun.Score"/> does besides scoring: where results go as they finish, and when to stop.</summary>
public sealed record RunHooks
{
    /// <summary>Makes one scorer per parallel lane (default: one lane in this process, sharing parsed models).</summary>
    public Func<IModelScorer>? Scorers { get; init; }
    public int Parallel { get; init; } = 1;
    /// <summary>Finished results by (model hash, settings): a model found there is not scored again.</summary>
    public ResultCache? Results { get; init; }
    /// <summary>Each record as soon as it is finished (an incremental output file), in the order they finish.</summary>
    public Action<ScoreRecord>? OnRecord { get; init; }
    public Action<RunProgress>? Progress { get; init; }
    /// <summary>Stop starting models after the first that fails.</summary>
    public bool FailFast { get; init; }
    public CancellationToken Cancellation { get; init; }
}

/// <summary>
/// One scoring run over many models: the folders expanded to their models, the options checked and each model's data chosen
/// (all before any model is scored, so a bad option or data file fails at once); then every model scored, reusing cached
/// results, each record handed on the moment it is done (a killed run keeps everything finished), and the ensembles formed
/// over the run. Used alike by `score`, `serve` and the worker processes.
/// </summary>
public sealed class ScoreRun
{
    public ScoreRun(ScoreOptions options, IReadOnlyList<string> paths)
    {
        if (paths.Count == 0) throw new ScoreOptionException("paths", "name at least one model file or folder");
        Run = options.Validate();
        Files = ModelFiles.Expand(paths);
        Data = DataChoice.Resolve(options.Data, paths, Files, options.BatchSize);
    }

    public ValidatedOptions Run { get; }
    public ScoreOptions Options => Run.Options;
    public IReadOnlyList<string> Files { get; }
    public DataChoice Data { get; }

    /// <summary>A record of this run that failed before scoring (a worker killed, a timeout): the settings fields filled in.</summary>
    public ScoreRecord Failure(string file, string error, double seconds = 0) =>
        ModelScorer.Blank(file, Data.For(file), Run) with { Error = error, Seconds = seconds };

    /// <summary>Scores the given files (all of the run's by default), in order, and returns their records with the ensembles added.</summary>
    public IReadOnlyList<ScoreRecord> Score(IReadOnlyList<string>? files = null, RunHooks? hooks = null)
    {
        hooks ??= new RunHooks();
        var todo = files ?? Files;
        var records = new ScoreRecord?[todo.Count];
        var clock = Stopwatch.StartNew();
        var gate = new Lock();
        int next = 0, done = 0;
        bool stop = false;
        var shared = hooks.Scorers is null ? new Scorer(Options) : null;

        void Lane()
        {
            using var scorer = hooks.Scorers?.Invoke() ?? new InProcess(shared!);
            while (true)
            {
                int index;
                lock (gate)
                {
                    if (stop || next >= todo.Count || hooks.Cancellation.IsCancellationRequested) return;
                    index = next++;
                }
                var file = todo[index];
                var data = Data.For(file);
                var key = hooks.Results is null ? null : Options.Key(data);
                var sha = hooks.Results is null ? null : ModelFiles.TrySha256(file);
                ScoreRecord? cached;
                lock (gate) cached = sha is null ? null : hooks.Results!.Find(sha, key!);
                var record = cached is not null ? cached with { Model = file } : scorer.Score(file, data, sha);
                lock (gate)
                {
                    if (cached is null) hooks.Results?.Store(record, key!);
                    records[index] = record;
                    hooks.OnRecord?.Invoke(record);
                    hooks.Progress?.Invoke(new RunProgress(++done, todo.Count, file, clock.Elapsed));
                    if (record.Status != ScoreRecord.Ok && hooks.FailFast) stop = true;
                }
            }
        }

        int lanes = Math.Max(1, Math.Min(hooks.Parallel, todo.Count));
        if (lanes == 1) Lane();
        else Task.WaitAll(Enumerable.Range(0, lanes).Select(_ => Task.Run(Lane)).ToArray());
        hooks.Cancellation.ThrowIfCancellationRequested();
        return Ensembles.Apply(records.OfType<ScoreRecord>().ToList(), Run.Proxies);
    }

    /// <summary>Scores in this process, with the run's one <see cref="Scorer"/> (its parsed models shared by every lane).</summary>
    public sealed class InProcess(Scorer scorer) : IModelScorer
    {
        public ScoreRecord Score(string file, Dataset? data, string? sha256) => scorer.Score(file, data, sha256);

        public void Dispose() { }
    }
}
