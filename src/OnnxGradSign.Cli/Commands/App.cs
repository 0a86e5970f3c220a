using System.CommandLine;

namespace OnnxGradSign.Cli.Commands;

/// <summary>The `onnx-gradsign` command line: its commands, and exit codes as documented (a command line that does not parse is a usage error).</summary>
public static class App
{
    public static int Run(string[] args)
    {
        var root = new RootCommand("onnx-gradsign: import ONNX networks into TorchSharp and rank them with zero-cost proxies such as GradSign.");
        foreach (var command in new[] { InspectCommand.Create(), VerifyCommand.Create(), ScoreCommand.Create(), BenchCommand.Create(),
                     EvaluateCommand.Create(), ServeCommand.Create(), MergeCommand.Create(), ConformanceCommand.Create() })
            root.Subcommands.Add(command);
        var parse = root.Parse(args);
        if (parse.Errors.Count == 0) return parse.Invoke();
        foreach (var error in parse.Errors) Console.Error.WriteLine(error.Message);
        Console.Error.WriteLine($"see: onnx-gradsign {string.Join(" ", args.Take(1).Where(a => !a.StartsWith('-')))} --help".Replace("  ", " "));
        return ExitCodes.Usage;
    }
}
