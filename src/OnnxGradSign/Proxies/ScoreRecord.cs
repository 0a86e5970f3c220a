using System.Text.Json.Serialization;

namespace OnnxGradSign.Proxies;

/// <summary>One model's result: the row of every output format (README documents each field).</summary>
public sealed record ScoreRecord
{
    public required string Model { get; init; }
    public string? Sha256 { get; init; }
    public required string Status { get; init; }
    public string? Error { get; init; }
    /// <summary>Per proxy its value (the mean over seeds), plus NAME_std with several seeds and synflow_log10; written as fields of their own.</summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, double?> Scores { get; init; } = new Dictionary<string, double?>();
    public long? Params { get; init; }
    public double Seconds { get; init; }
    public string? Engine { get; init; }
    public required string Init { get; init; }
    public required string Seeds { get; init; }
    public required string Data { get; init; }
    public long BatchSize { get; init; }
    public required string Reduce { get; init; }
    public required string ParamScope { get; init; }
    public required string Loss { get; init; }
    public string? Output { get; init; }
    public required string Device { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public IReadOnlyList<LayerReport>? Layers { get; init; }

    /// <summary>The scores as fields of their own; the params proxy is the record's own `params` field.</summary>
    [JsonExtensionData]
    public Dictionary<string, object?> ScoreFields => Scores.Where(kv => kv.Key != "params").ToDictionary(kv => kv.Key, kv => (object?)kv.Value);

    public double? Score(string name) => Scores.GetValueOrDefault(name);

    public ScoreRecord WithScore(string name, double? value) =>
        this with { Scores = new Dictionary<string, double?>(Scores) { [name] = value } };

    public const string Ok = "ok";
    public const string Failed = "error";
}
