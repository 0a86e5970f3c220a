using System.CommandLine;
using OnnxGradSign.Proxies;

namespace OnnxGradSign.Cli.Commands;

/// <summary>
/// The command line's form of <see cref="ScoreOptions"/>: one option per field of <see cref="ScoreOptionFields"/>, its flag the
/// field's name in kebab case, its help the field's documentation and default. Flag names are known here alone.
/// </summary>
public sealed class ScoreOptionFlags
{
    /// <summary>Older or shorter spellings that stay accepted.</summary>
    private static readonly Dictionary<string, string[]> Aliases = new() { ["seeds"] = ["--seed"], ["param_scope"] = ["--params"] };

    private readonly List<(ScoreOptionField Field, Option Option)> _options;

    /// <param name="fields">The fields a command takes, by name (default: every one).</param>
    public ScoreOptionFlags(params string[] fields)
    {
        _options = ScoreOptionFields.All.Where(f => fields.Length == 0 || fields.Contains(f.Name)).Select(f => (f, Create(f))).ToList();
    }

    public IEnumerable<Option> Options => _options.Select(o => o.Option);

    public static string Flag(string field) => "--" + field.Replace('_', '-');

    /// <summary>The options given on the command line, over <paramref name="start"/> (default: the defaults).</summary>
    public ScoreOptions Read(ParseResult parse, ScoreOptions? start = null)
    {
        var options = start ?? new ScoreOptions();
        foreach (var (field, option) in _options)
        {
            if (parse.GetResult(option) is not { Implicit: false } given) continue;
            var text = option switch
            {
                Option<bool> flag => [parse.GetValue(flag) ? "true" : "false"],
                Option<string[]> items => parse.GetValue(items) ?? [],
                Option<string> value => [parse.GetValue(value)!],
                _ => throw new InvalidOperationException(option.Name),
            };
            options = field.WithText(options, text);
        }
        return options;
    }

    /// <summary>An option error phrased with the flag the user typed.</summary>
    public static string Describe(ScoreOptionException e) => $"{(ScoreOptionFields.IsField(e.Field) ? Flag(e.Field) : e.Field)}: {InCliTerms(e.Problem)}";

    /// <summary>
    /// A library message in command-line terms: the library quotes a setting it asks for in backticks by its name
    /// (`input_shape x=D1,D2`), which on the command line is its flag (--input-shape x=D1,D2).
    /// </summary>
    public static string InCliTerms(string message) => System.Text.RegularExpressions.Regex.Replace(message, "`([a-z0-9_]+)([^`]*)`",
        m => ScoreOptionFields.IsField(m.Groups[1].Value) ? Flag(m.Groups[1].Value) + m.Groups[2].Value : m.Value);

    private static Option Create(ScoreOptionField field)
    {
        var aliases = Aliases.GetValueOrDefault(field.Name) ?? [];
        var help = field.Description + (field.DefaultText is { } d && !field.IsSwitch ? $" (default: {d})" : "");
        if (field.IsSwitch) return new Option<bool>(Flag(field.Name), aliases) { Description = help };
        if (field.IsMap) return new Option<string[]>(Flag(field.Name), aliases) { Description = help + " (repeatable)", AllowMultipleArgumentsPerToken = false };
        var option = new Option<string>(Flag(field.Name), aliases) { Description = help };
        if (field.Choices is { } choices) option.AcceptOnlyFromAmong([.. choices]);
        return option;
    }
}
