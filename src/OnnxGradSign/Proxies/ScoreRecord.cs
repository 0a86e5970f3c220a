using System.Text.Json;
using System.Text.Json.Serialization;

namespace OnnxGradSign.Proxies;

/// <summary>One model's result: the row of every output format (README documents each field).</summary>
public sealed record ScoreRecord
{
    public required string Model { get; init; }
    public string? Sha256 { get; init; }
    public required string Status { get; init; }
    public string? Error { get; init; }
    /// <summary>
    /// Per proxy its value (the mean over seeds), plus NAME_std with several seeds and synflow_log10; written as fields of their own.
    /// The params proxy is the record's own <see cref="Params"/> field.
    /// </summary>
    [JsonIgnore]
    public IReadOnlyDictionary<string, double?> Scores
    {
        get => ScoreFields.ToDictionary(kv => kv.Key, kv => AsNumber(kv.Value));
        init => ScoreFields = value.Where(kv => kv.Key != "params").ToDictionary(kv => kv.Key, kv => (object?)kv.Value);
    }

    /// <summary>The stored scores; System.Text.Json writes them as fields of their own and fills them when reading a record back.</summary>
    [JsonExtensionData]
    public Dictionary<string, object?> ScoreFields { get; init; } = new();

    public long? Params { get; init; }
    public double Seconds { get; init; }
    public string? Engine { get; init; }
    /// <summary>The loss the model was scored with (the loss setting may be auto).</summary>
    public string? LossUsed { get; init; }
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

    public double? Score(string name) => name == "params" ? Params : ScoreFields.TryGetValue(name, out var v) ? AsNumber(v) : null;

    private static double? AsNumber(object? value) => value switch
    {
        double d => d,
        JsonElement { ValueKind: JsonValueKind.Number } number => number.GetDouble(),
        JsonElement { ValueKind: JsonValueKind.String } text => double.Parse(text.GetString()!, System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    public ScoreRecord WithScore(string name, double? value) =>
        this with { Scores = new Dictionary<string, double?>(Scores) { [name] = value } };

    public const string Ok = "ok";
    public const string Failed = "error";
}
