using OnnxGradSign.Data;
using OnnxGradSign.Onnx;

namespace OnnxGradSign.Proxies;

/// <summary>
/// Scores ONNX models with one set of options, the way ONNX Runtime's InferenceSession runs them: create it once (the options
/// are checked then), score as many models as needed. A model that cannot be scored gives a record whose status is
/// <see cref="ScoreRecord.Failed"/> and whose error names the model; only wrong options throw (<see cref="ScoreOptionException"/>).
/// Parsed models are kept by content hash, so scoring the same file again does not parse it again. Safe to use from several threads.
/// </summary>
/// <example>
/// <code>
/// var scorer = new Scorer(new ScoreOptions { Proxy = "gradsign,synflow" });
/// ScoreRecord r = scorer.Score("models/mlp.onnx");
/// Console.WriteLine($"{r.Model}: {r.Score("gradsign")}");
/// </code>
/// </example>
/// <param name="models">Parsed models to share with other scorers (a server's), else a cache of this scorer's own.</param>
public sealed class Scorer(ScoreOptions? options = null, ModelCache? models = null)
{
    private readonly ModelCache _models = models ?? new ModelCache(32);

    /// <summary>The options, validated (the device resolved) and the proxies they name.</summary>
    public ValidatedOptions Run { get; } = (options ?? new ScoreOptions()).Validate();

    public ScoreOptions Options => Run.Options;

    /// <summary>Scores a model on the options' data: its file, else the .npz nearest the model, else synthetic samples.</summary>
    public ScoreRecord Score(string modelPath) =>
        Score(modelPath, DataChoice.Resolve(Options.Data, [modelPath], [modelPath], Options.BatchSize).For(modelPath));

    /// <summary>Scores a model on these samples (null: synthetic samples shaped like its input, with random labels).</summary>
    /// <param name="sha256">The file's hash when the caller has it already, so the file is read once.</param>
    public ScoreRecord Score(string modelPath, Dataset? data, string? sha256 = null) => ModelScorer.Score(modelPath, data, Run, _models, sha256);

    /// <summary>Models parsed and kept.</summary>
    public int CachedModels => _models.Count;
}
