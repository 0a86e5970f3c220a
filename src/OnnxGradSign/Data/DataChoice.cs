namespace OnnxGradSign.Data;

/// <summary>
/// Which samples score each model of a run. A data spec serves every model. Without one, a model takes the single .npz in its
/// own folder or, failing that, in the nearest folder above it up to the path the user named (models/ ships one, and
/// models/text its token ids); with none, synthetic samples shaped like the model's input.
/// </summary>
public sealed class DataChoice
{
    private readonly Dataset? _given;
    private readonly Dictionary<string, Dataset?> _byModel = new();

    private DataChoice(Dataset? given) => _given = given;

    /// <summary>Loads every dataset the run needs now, so a bad file is an error before any model is scored.</summary>
    public static DataChoice Resolve(string? spec, IReadOnlyList<string> roots, IEnumerable<string> models, long limit)
    {
        if (spec is not null) return new DataChoice(spec == DatasetLoader.SyntheticName ? null : DatasetLoader.Load(spec, limit));
        var choice = new DataChoice(null);
        var loaded = new Dictionary<string, Dataset>();
        var tops = roots.Select(r => Path.GetFullPath(Directory.Exists(r) ? r : Path.GetDirectoryName(Path.GetFullPath(r))!)).ToList();
        foreach (var model in models)
        {
            var npz = Nearest(Path.GetDirectoryName(Path.GetFullPath(model))!, tops);
            choice._byModel[model] = npz is null ? null
                : loaded.TryGetValue(npz, out var data) ? data : loaded[npz] = LoadBeside(npz, model, limit);
        }
        return choice;
    }

    /// <summary>The samples for this model; null means synthetic.</summary>
    public Dataset? For(string model) => _byModel.TryGetValue(model, out var data) ? data : _given;

    private static Dataset LoadBeside(string npz, string model, long limit)
    {
        try
        {
            return DatasetLoader.Load(npz, limit);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{npz}, the sample data nearest {model}, cannot be used ({e.Message}); " +
                "fix or remove it, or choose the data with `data`", e);
        }
    }

    private static string? Nearest(string folder, List<string> tops)
    {
        for (var dir = folder; dir is not null; dir = Path.GetDirectoryName(dir))
        {
            var samples = Directory.GetFiles(dir, "*.npz");
            if (samples.Length == 1) return samples[0];
            if (tops.Contains(dir)) break;
        }
        return null;
    }
}
