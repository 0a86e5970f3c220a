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

    public static Option<string> Init()
    {
        var option = new Option<string>("--init") { Description = "fresh (random, in the exporting framework's style) or keep (the file's weights)", DefaultValueFactory = _ => "fresh" };
        option.AcceptOnlyFromAmong("fresh", "keep");
        return option;
    }

    public static Option<string> Device()
    {
        var option = new Option<string>("--device") { Description = "auto|cpu|cuda", DefaultValueFactory = _ => "auto" };
        option.AcceptOnlyFromAmong("auto", "cpu", "cuda");
        return option;
    }

    public static Option<int?> Threads() => new("--threads") { Description = "CPU threads for torch (default: torch's)" };

    public static Option<string?> Data() => new("--data")
    {
        Description = "FILE.npz (x, y) | idx:IMAGES,LABELS | cifar10:FILES | cifar100:FILES | synthetic (default: the one .npz in the first folder given, else synthetic)",
    };

    public static Option<long> Seed() => new("--seed") { Description = "Random seed (inputs, initialization)", DefaultValueFactory = _ => 0 };

    public static Option<string[]> InputShapes() => new("--input-shape")
    {
        Description = "Concrete shape of an input with symbolic axes, NAME=D1,D2,... (repeatable)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Option<string[]> InputValues() => new("--input-value")
    {
        Description = "Value of an input without a batch axis (a sample rate), NAME=V (repeatable; default: the constant the graph compares it with)",
        AllowMultipleArgumentsPerToken = false,
    };

    public static Dictionary<string, double> ParseValues(string[]? specs)
    {
        var values = new Dictionary<string, double>();
        foreach (var spec in specs ?? [])
        {
            var parts = spec.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0 || !double.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var value))
                throw new ArgumentException($"--input-value '{spec}': expected NAME=NUMBER");
            values[parts[0]] = value;
        }
        return values;
    }

    /// <summary>
    /// Refuses a path argument that looks like an option but names none of the command's, suggesting the closest one: the
    /// commands take any number of paths, so System.CommandLine hands a mistyped option (`--proxi`) over as a path.
    /// </summary>
    public static void RejectUnknownOptions(Command command, IEnumerable<string> paths)
    {
        foreach (var path in paths.Where(p => p.StartsWith('-') && !File.Exists(p) && !Directory.Exists(p)))
        {
            var names = command.Options.Select(o => o.Name).Where(n => n.StartsWith("--")).ToList();
            var nearest = names.MinBy(name => EditDistance(path, name));
            var closest = names.FirstOrDefault(n => n.StartsWith(path, StringComparison.Ordinal))
                ?? (nearest is not null && EditDistance(path, nearest) <= 3 ? nearest : null);
            throw new ArgumentException($"{path}: not an option of '{command.Name}'" +
                (closest is not null ? $" (did you mean {closest}?)" : $"; its options: {string.Join(", ", names)}"));
        }
    }

    private static int EditDistance(string a, string b)
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

    public static Dictionary<string, long[]> ParseShapes(string[]? specs)
    {
        var shapes = new Dictionary<string, long[]>();
        foreach (var spec in specs ?? [])
        {
            var parts = spec.Split('=', 2);
            if (parts.Length != 2 || parts[0].Length == 0)
                throw new ArgumentException($"--input-shape '{spec}': expected NAME=D1,D2,...");
            try { shapes[parts[0]] = parts[1].Split(',', 'x').Select(long.Parse).ToArray(); }
            catch (FormatException) { throw new ArgumentException($"--input-shape '{spec}': dimensions must be integers"); }
        }
        return shapes;
    }
}
