using System.CommandLine;

namespace OnnxGradSign.Cli.Commands;

/// <summary>Options that several commands share, defined once so they read the same everywhere.</summary>
public static class CommonOptions
{
    public static Option<string> Format(params string[] formats)
    {
        var option = new Option<string>("--format") { Description = "Output format: " + string.Join("|", formats), DefaultValueFactory = _ => formats[0] };
        option.AcceptOnlyFromAmong(formats);
        return option;
    }

    public static Option<int?> Threads() => new("--threads") { Description = "CPU threads for torch (default: torch's)" };

    public static Option<long> Seed() => new("--seed") { Description = "Random seed (inputs, initialization)", DefaultValueFactory = _ => 0 };

    /// <summary>
    /// Refuses a path argument that looks like an option but names none of the command's, suggesting the closest one: the
    /// commands take any number of paths, so System.CommandLine hands a mistyped option (`--proxi`) over as a path.
    /// </summary>
    public static void RejectUnknownOptions(Command command, IEnumerable<string> paths)
    {
        foreach (var path in paths.Where(p => p.StartsWith('-') && !File.Exists(p) && !Directory.Exists(p)))
        {
            var names = command.Options.Select(o => o.Name).Where(n => n.StartsWith("--")).ToList();
            var nearest = names.MinBy(name => OnnxGradSign.Proxies.ScoreOptionFields.Distance(path, name));
            var closest = names.FirstOrDefault(n => n.StartsWith(path, StringComparison.Ordinal))
                ?? (nearest is not null && OnnxGradSign.Proxies.ScoreOptionFields.Distance(path, nearest) <= 3 ? nearest : null);
            throw new ArgumentException($"{path}: not an option of '{command.Name}'" +
                (closest is not null ? $" (did you mean {closest}?)" : $"; its options: {string.Join(", ", names)}"));
        }
    }
}
