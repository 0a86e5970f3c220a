using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace OnnxGradSign.Proxies;

/// <summary>
/// One model's result: the row of every output format (docs/output.md documents each field). Besides the scores it carries
/// what the model got where a setting left the choice open (the engine, loss, data and output used) and the settings of the
/// run, so a record says how it was produced.
/// </summary>
[JsonConverter(typeof(ScoreRecordJson))]
public sealed record ScoreRecord
{
    public required string Model { get; init; }
    public string? Sha256 { get; init; }
    /// <summary><see cref="Ok"/> or <see cref="Failed"/> (then <see cref="Error"/> says why, naming the model).</summary>
    public required string Status { get; init; }
    public string? Error { get; init; }

    /// <summary>
    /// Per proxy its value (the mean over seeds), plus NAME_std with several seeds and synflow_log10; written as fields of their own.
    /// The params proxy is the record's own <see cref="Params"/> field.
    /// </summary>
    public IReadOnlyDictionary<string, double?> Scores
    {
        get => _scores;
        init => _scores = value.Where(kv => kv.Key != "params").ToDictionary();
    }
    private readonly Dictionary<string, double?> _scores = new();

    /// <summary>Trainable parameters of the model.</summary>
    public long? Params { get; init; }
    public double Seconds { get; init; }
    /// <summary>The engine that computed the per-sample gradients (loop where the graph fixes its batch, whatever was asked).</summary>
    public string? EngineUsed { get; init; }
    /// <summary>The loss the model was scored with (the loss setting may be auto).</summary>
    public string? LossUsed { get; init; }
    /// <summary>The samples the model was scored on: a data file, or `synthetic`.</summary>
    public required string DataUsed { get; init; }
    /// <summary>The graph output scored, or `all`.</summary>
    public string? OutputUsed { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public IReadOnlyList<LayerReport>? Layers { get; init; }
    /// <summary>The run's settings (validated: the device is the one used).</summary>
    public required ScoreOptions Settings { get; init; }

    public double? Score(string name) => name == "params" ? Params : _scores.GetValueOrDefault(name);

    public ScoreRecord WithScore(string name, double? value) =>
        this with { Scores = new Dictionary<string, double?>(Scores) { [name] = value } };

    public const string Ok = "ok";
    public const string Failed = "error";

    /// <summary>Every field of a record that is not a score: the fixed ones, then the settings.</summary>
    public static IReadOnlyList<string> FieldNames { get; } =
        [.. ScoreRecordJson.Leading, .. ScoreRecordJson.Trailing, "warnings", "layers", .. ScoreOptionFields.All.Select(f => f.Name)];
}

/// <summary>Rankings of scored models.</summary>
public static class Rankings
{
    /// <summary>The records that scored, best first by <paramref name="by"/> (a proxy, or params); models without that score are left out.</summary>
    public static IReadOnlyList<ScoreRecord> Ranked(this IEnumerable<ScoreRecord> records, string by = "gradsign") =>
        records.Where(r => r.Status == ScoreRecord.Ok && r.Score(by) is { } v && !double.IsNaN(v)).OrderByDescending(r => r.Score(by)).ToList();
}

/// <summary>A record as one flat JSON object: the fixed fields, each score, then each setting by its option name.</summary>
internal sealed class ScoreRecordJson : JsonConverter<ScoreRecord>
{
    public static readonly string[] Leading = ["model", "sha256", "status", "error"];
    public static readonly string[] Trailing = ["params", "seconds", "engine_used", "loss_used", "data_used", "output_used"];

    public override void Write(Utf8JsonWriter writer, ScoreRecord r, JsonSerializerOptions options)
    {
        writer.WriteStartObject();
        writer.WriteString("model", r.Model);
        writer.WriteString("sha256", r.Sha256);
        writer.WriteString("status", r.Status);
        writer.WriteString("error", r.Error);
        foreach (var (name, value) in r.Scores) WriteNumber(writer, name, value);
        if (r.Params is { } p) writer.WriteNumber("params", p); else writer.WriteNull("params");
        WriteNumber(writer, "seconds", r.Seconds);
        writer.WriteString("engine_used", r.EngineUsed);
        writer.WriteString("loss_used", r.LossUsed);
        writer.WriteString("data_used", r.DataUsed);
        writer.WriteString("output_used", r.OutputUsed);
        foreach (var (name, value) in ScoreOptionFields.ToJson(r.Settings))
        {
            writer.WritePropertyName(name);
            if (value is null) writer.WriteNullValue(); else value.WriteTo(writer, options);
        }
        writer.WritePropertyName("warnings");
        JsonSerializer.Serialize(writer, r.Warnings, options);
        writer.WritePropertyName("layers");
        JsonSerializer.Serialize(writer, r.Layers, options);
        writer.WriteEndObject();
    }

    public override ScoreRecord Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        var fields = JsonNode.Parse(ref reader) as JsonObject ?? throw new JsonException("a record is a JSON object");
        string? Text(string name) => fields[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
        var settings = fields.Where(kv => ScoreOptionFields.IsField(kv.Key)).ToList();
        return new ScoreRecord
        {
            Model = Text("model") ?? throw new JsonException("a record has a model"),
            Sha256 = Text("sha256"),
            Status = Text("status") ?? ScoreRecord.Failed,
            Error = Text("error"),
            Scores = fields.Where(kv => !ScoreRecord.FieldNames.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => Number(kv.Value)),
            Params = Number(fields["params"]) is { } p ? (long)p : null,
            Seconds = Number(fields["seconds"]) ?? 0,
            EngineUsed = Text("engine_used"),
            LossUsed = Text("loss_used"),
            DataUsed = Text("data_used") ?? "",
            OutputUsed = Text("output_used"),
            Warnings = fields["warnings"]?.Deserialize<List<string>>(options) ?? [],
            Layers = fields["layers"]?.Deserialize<List<LayerReport>>(options),
            Settings = ScoreOptionFields.FromJson(new JsonObject(settings.Select(kv => KeyValuePair.Create(kv.Key, kv.Value?.DeepClone())))),
        };
    }

    /// <summary>A number, or the names JSON has no literal for (NaN, Infinity, -Infinity) as strings.</summary>
    private static void WriteNumber(Utf8JsonWriter writer, string name, double? value)
    {
        if (value is not { } v) writer.WriteNull(name);
        else if (double.IsFinite(v)) writer.WriteNumber(name, v);
        else writer.WriteString(name, v.ToString(CultureInfo.InvariantCulture));
    }

    private static double? Number(JsonNode? node) => node is JsonValue value
        ? value.TryGetValue<double>(out var d) ? d
        : value.TryGetValue<string>(out var s) && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) ? parsed : null
        : null;
}
