using System.Globalization;
using System.Text.Json.Nodes;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;

namespace OnnxGradSign.Proxies;

/// <summary>
/// One setting of <see cref="ScoreOptions"/> as every outside form spells it: its snake_case name (the server's request field,
/// the record's field, the Python keyword; the command line's flag is the name in kebab case), its documentation, its
/// default, its choices, and its text form (command line, CSV) and JSON form, each parsed and checked here alone.
/// </summary>
public abstract class ScoreOptionField(string name, string description, bool decidesResult)
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    /// <summary>Part of what makes a result (the cache key, resume and merge identity); false for limits that only change how it is computed.</summary>
    public bool DecidesResult { get; } = decidesResult;
    /// <summary>The allowed values of an enum setting, else null.</summary>
    public abstract IReadOnlyList<string>? Choices { get; }
    /// <summary>A yes/no setting (a flag on the command line).</summary>
    public abstract bool IsSwitch { get; }
    /// <summary>A setting given as several NAME=VALUE items (repeated on the command line, a JSON object).</summary>
    public abstract bool IsMap { get; }
    /// <summary>The default as text, or null when unset by default.</summary>
    public string? DefaultText => Text(new ScoreOptions());

    /// <summary>The value's text form (CSV cells, command-line values; a map's items joined by ';'), or null when unset.</summary>
    public abstract string? Text(ScoreOptions options);
    public abstract JsonNode? Json(ScoreOptions options);
    /// <summary>The options with this setting parsed from its text form (a map: its NAME=VALUE items).</summary>
    public abstract ScoreOptions WithText(ScoreOptions options, IReadOnlyList<string> text);
    public abstract ScoreOptions WithJson(ScoreOptions options, JsonNode? json);
    /// <summary>Throws <see cref="ScoreOptionException"/> when the value set in code is out of range.</summary>
    public abstract void Check(ScoreOptions options);
}

/// <summary>The declaration of every <see cref="ScoreOptions"/> setting, in the order users see them.</summary>
public static class ScoreOptionFields
{
    public static IReadOnlyList<ScoreOptionField> All { get; } =
    [
        Field("proxy", "Proxies, comma-separated: " + string.Join(",", ProxyCatalog.All.Select(p => p.Name)) + ", all, vote(a,b,...), logrank(a,b,...); rankings use the first",
            o => o.Proxy, (o, v) => o with { Proxy = v }, Codecs.Text, check: v => v.Trim().Length > 0 ? null : "name at least one proxy"),
        Field("init", "fresh (weights drawn anew in the exporting framework's style, GradSign's setting) | keep (the file's weights)",
            o => o.Init, (o, v) => o with { Init = v }, Codecs.Choice<WeightInit>()),
        Field("seeds", "Initialization seeds, e.g. 0,1,2: the score is their mean, with the standard deviation",
            o => o.Seeds, (o, v) => o with { Seeds = v }, Codecs.Integers, check: v => v.Count > 0 ? null : "give at least one seed"),
        Field("engine", "Per-sample gradient engine: auto (vectorized unless the graph needs one sample at a time) | loop | vectorized",
            o => o.Engine, (o, v) => o with { Engine = v }, Codecs.Choice<EngineKind>()),
        Field("data", "Labelled samples (.npz with x and y, IDX, CIFAR batch) or 'synthetic'; default: the .npz nearest each model, else synthetic",
            o => o.Data, (o, v) => o with { Data = v }, Codecs.OptionalText, decidesResult: false), // the data's fingerprint is in the key instead
        Field("batch_size", "Samples per score", o => o.BatchSize, (o, v) => o with { BatchSize = v }, Codecs.Integer, check: Positive),
        Field("mean", "Per-channel mean to subtract, e.g. 0.286 or 0.49,0.48,0.45", o => o.Mean, (o, v) => o with { Mean = v }, Codecs.OptionalNumbers),
        Field("std", "Per-channel standard deviation to divide by", o => o.Std, (o, v) => o with { Std = v }, Codecs.OptionalNumbers,
            check: v => v is null || v.All(s => s > 0 && double.IsFinite(s)) ? null : "every standard deviation must be positive"),
        Field("reduce", "GradSign over weights: sum (the paper's) | mean", o => o.Reduce, (o, v) => o with { Reduce = v }, Codecs.Choice<GradSignReduce>()),
        Field("param_scope", "weights (Conv/Linear weights, as GradSign) | all (every trainable parameter)",
            o => o.ParamScope, (o, v) => o with { ParamScope = v }, Codecs.Choice<ParameterScope>()),
        Field("loss", "auto|cross-entropy|bce|mse: auto takes mse for float targets, bce for one output value, else cross-entropy",
            o => o.Loss, (o, v) => o with { Loss = v }, Codecs.Choice<LossKind>()),
        Field("output_name", "Graph output to score (default: the first)", o => o.OutputName, (o, v) => o with { OutputName = v }, Codecs.OptionalText),
        Field("outputs", "one (the first output, or output_name) | all (the per-sample loss sums every float output's)",
            o => o.Outputs, (o, v) => o with { Outputs = v }, Codecs.Choice<OutputSelection>()),
        Field("input_shape", "NAME=D1,D2,...: the shape of an input with symbolic axes besides the batch (-1 for the batch axis); one per input",
            o => o.InputShape, (o, v) => o with { InputShape = v }, Codecs.Shapes),
        Field("input_value", "NAME=V: the value of an input without a batch axis (a sample rate); one per input",
            o => o.InputValue, (o, v) => o with { InputValue = v }, Codecs.Values),
        Field("device", "auto | cpu | cuda", o => o.Device, (o, v) => o with { Device = v }, Codecs.Text,
            check: v => v is "auto" or "cpu" or "cuda" ? null : $"'{v}': expected auto, cpu or cuda"),
        Field("max_memory", "Memory limit in MiB for per-sample gradients (the batch is chunked to fit)",
            o => o.MaxMemory, (o, v) => o with { MaxMemory = v }, Codecs.Integer, check: v => v > 0 && v < 1L << 43 ? null : $"must be positive (MiB), got {v}", decidesResult: false),
        Field("per_layer", "Each layer's share of the score, sign agreement and fraction of zero gradients", o => o.PerLayer, (o, v) => o with { PerLayer = v }, Codecs.Switch),
        Field("float64", "Compute in float64 (exact sign comparisons; slower)", o => o.Float64, (o, v) => o with { Float64 = v }, Codecs.Switch),
    ];

    private static readonly Dictionary<string, ScoreOptionField> ByName = All.ToDictionary(f => f.Name);

    /// <summary>The field with this name; the exception lists the names and suggests the closest.</summary>
    public static ScoreOptionField Find(string name) => ByName.TryGetValue(name, out var field) ? field
        : throw new ScoreOptionException(name, $"no such option{Suggest(name)} (options: {string.Join(", ", ByName.Keys)})");

    public static bool IsField(string name) => ByName.ContainsKey(name);

    /// <summary>Options from a JSON object of fields (a server request); other members are errors that name them.</summary>
    public static ScoreOptions FromJson(JsonObject fields, ScoreOptions? start = null) =>
        fields.Aggregate(start ?? new ScoreOptions(), (options, member) => Find(member.Key).WithJson(options, member.Value));

    /// <summary>The options as a JSON object of every field (what a record carries and a server request takes).</summary>
    public static JsonObject ToJson(ScoreOptions options) => new(All.Select(f => KeyValuePair.Create(f.Name, f.Json(options))));

    private static string Suggest(string name)
    {
        var closest = ByName.Keys.MinBy(k => Distance(k, name));
        return closest is not null && Distance(closest, name) <= Math.Max(2, name.Length / 3) ? $" (did you mean {closest}?)" : "";
    }

    /// <summary>Levenshtein distance: how many single-character edits turn a into b.</summary>
    public static int Distance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private static string? Positive(long value) => value > 0 ? null : $"must be positive, got {value}";

    private static ScoreOptionField Field<T>(string name, string description, Func<ScoreOptions, T> get, Func<ScoreOptions, T, ScoreOptions> set,
        Codec<T> codec, Func<T, string?>? check = null, bool decidesResult = true) => new TypedField<T>(name, description, get, set, codec, check, decidesResult);

    private sealed class TypedField<T>(string name, string description, Func<ScoreOptions, T> get, Func<ScoreOptions, T, ScoreOptions> set,
        Codec<T> codec, Func<T, string?>? check, bool decidesResult) : ScoreOptionField(name, description, decidesResult)
    {
        public override IReadOnlyList<string>? Choices => codec.Choices;
        public override bool IsSwitch => typeof(T) == typeof(bool);
        public override bool IsMap => codec.IsMap;
        public override string? Text(ScoreOptions options) => codec.Format(get(options));
        public override JsonNode? Json(ScoreOptions options) => codec.ToJson(get(options));

        public override ScoreOptions WithText(ScoreOptions options, IReadOnlyList<string> text) => Checked(options, () => codec.Parse(text));

        public override ScoreOptions WithJson(ScoreOptions options, JsonNode? json) => Checked(options, () => codec.FromJson(json));

        public override void Check(ScoreOptions options)
        {
            if (check?.Invoke(get(options)) is { } problem) throw new ScoreOptionException(Name, problem);
        }

        private ScoreOptions Checked(ScoreOptions options, Func<T> parse)
        {
            T value;
            try { value = parse(); }
            catch (Exception e) when (e is FormatException or OverflowException or InvalidOperationException or ArgumentException and not ScoreOptionException)
            {
                throw new ScoreOptionException(Name, e.Message);
            }
            if (check?.Invoke(value) is { } problem) throw new ScoreOptionException(Name, problem);
            return set(options, value);
        }
    }
}

/// <summary>How one type of setting is written as text and as JSON, and read back; a bad value is a FormatException saying what was expected.</summary>
internal sealed record Codec<T>(Func<IReadOnlyList<string>, T> Parse, Func<T, string?> Format, Func<JsonNode?, T> FromJson, Func<T, JsonNode?> ToJson,
    IReadOnlyList<string>? Choices = null, bool IsMap = false);

internal static class Codecs
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static readonly Codec<string> Text = new(One, v => v, j => j?.GetValue<string>() ?? throw new FormatException("expected a string"), v => v);
    public static readonly Codec<string?> OptionalText = new(t => One(t), v => v, j => j?.GetValue<string>(), v => v);
    public static readonly Codec<bool> Switch = new(t => bool.Parse(One(t)), v => v ? "true" : "false", j => j?.GetValue<bool>() ?? false, v => v);
    public static readonly Codec<long> Integer = new(t => ParseInteger(One(t)), v => v.ToString(Invariant), j => j?.GetValue<long>() ?? throw new FormatException("expected an integer"), v => v);

    public static readonly Codec<IReadOnlyList<long>> Integers = new(t => List(One(t), ParseInteger), v => string.Join(",", v),
        j => j is JsonArray a ? a.Select(e => e!.GetValue<long>()).ToArray() : [j?.GetValue<long>() ?? throw new FormatException("expected integers")],
        v => new JsonArray(v.Select(e => (JsonNode)e).ToArray()));

    public static readonly Codec<IReadOnlyList<double>?> OptionalNumbers = new(t => List(One(t), ParseNumber), v => v is null ? null : string.Join(",", v.Select(Number)),
        j => j switch { null => null, JsonArray a => a.Select(e => e!.GetValue<double>()).ToArray(), _ => [j.GetValue<double>()] },
        v => v is null ? null : new JsonArray(v.Select(e => (JsonNode)e).ToArray()));

    public static readonly Codec<IReadOnlyDictionary<string, long[]>?> Shapes = Map(s => List(s, ParseInteger), v => string.Join(",", v),
        j => j is JsonArray a ? a.Select(e => e!.GetValue<long>()).ToArray() : throw new FormatException("expected a list of sizes"),
        v => new JsonArray(v.Select(e => (JsonNode)e).ToArray()));

    public static readonly Codec<IReadOnlyDictionary<string, double>?> Values = Map(ParseNumber, Number, j => j!.GetValue<double>(), v => v);

    public static Codec<TEnum> Choice<TEnum>() where TEnum : struct, Enum
    {
        TEnum Parse(string text) => Choices<TEnum>.Find(text) ?? throw new FormatException($"'{text}': expected {string.Join(", ", Choices<TEnum>.Names)}");
        return new Codec<TEnum>(t => Parse(One(t)), Choices<TEnum>.Name, j => Parse(j?.GetValue<string>() ?? ""), v => Choices<TEnum>.Name(v), Choices<TEnum>.Names);
    }

    private static Codec<IReadOnlyDictionary<string, TValue>?> Map<TValue>(Func<string, TValue> parse, Func<TValue, string> format,
        Func<JsonNode?, TValue> fromJson, Func<TValue, JsonNode?> toJson) => new(
        items => items.Count == 0 ? null : items.SelectMany(i => i.Split(';', StringSplitOptions.RemoveEmptyEntries)).Select(item =>
            item.Split('=', 2) is [var key, var value] && key.Length > 0 ? KeyValuePair.Create(key, parse(value))
                : throw new FormatException($"'{item}': expected NAME=VALUE")).GroupBy(kv => kv.Key).ToDictionary(g => g.Key, g => g.Last().Value),
        v => v is null ? null : string.Join(";", v.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => $"{kv.Key}={format(kv.Value)}")),
        j => j switch { null => null, JsonObject o => o.ToDictionary(kv => kv.Key, kv => fromJson(kv.Value)), _ => throw new FormatException("expected an object of NAME: VALUE") },
        v => v is null ? null : new JsonObject(v.Select(kv => KeyValuePair.Create(kv.Key, toJson(kv.Value)))),
        IsMap: true);

    private static string One(IReadOnlyList<string> text) => text.Count == 1 ? text[0] : throw new FormatException($"expected one value, got {text.Count}");

    private static T[] List<T>(string text, Func<string, T> parse) => text.Split(',').Select(s => parse(s.Trim())).ToArray();

    private static long ParseInteger(string text) =>
        long.TryParse(text, NumberStyles.Integer, Invariant, out var v) ? v : throw new FormatException($"'{text}': expected an integer");

    private static double ParseNumber(string text) =>
        double.TryParse(text, NumberStyles.Float, Invariant, out var v) && double.IsFinite(v) ? v : throw new FormatException($"'{text}': expected a number");

    private static string Number(double v) => v.ToString("R", Invariant);
}
