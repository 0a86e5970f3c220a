using OnnxGradSign.Proxies;
using OnnxGradSign.Runs;

namespace OnnxGradSign.Tests;

/// <summary>README's C# quick start, run exactly as printed: the README block must be the lines between the markers below.</summary>
public class ReadmeTests
{
    private const string Begin = "// README quick start: begin";
    private const string End = "// README quick start: end";

    [Fact]
    public void The_csharp_quick_start_ranks_the_example_folder()
    {
        var output = new StringWriter();
        var previous = Console.Out;
        var folder = Environment.CurrentDirectory;
        Console.SetOut(output);
        Environment.CurrentDirectory = TestPaths.RepoRoot; // the snippet's paths are the repository's
        try
        {
            // README quick start: begin
            var run = new ScoreRun(new ScoreOptions { Proxy = "gradsign,synflow" }, ["models/nb201/"]);
            foreach (var (rank, r) in run.Score().Ranked("gradsign").Index())
                Console.WriteLine($"{rank + 1,3} {r.Score("gradsign"),10:0} {r.Params,9} {r.Model}");
            // README quick start: end
        }
        finally
        {
            Console.SetOut(previous);
            Environment.CurrentDirectory = folder;
        }
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(30, lines.Length);
        Assert.StartsWith("  1 ", lines[0]);
        var scores = lines.Select(l => double.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1])).ToList();
        Assert.Equal(scores.OrderDescending(), scores);
    }

    [Fact]
    public void The_readme_prints_the_quick_start_as_this_test_runs_it()
    {
        var source = File.ReadAllLines(Path.Combine(TestPaths.RepoRoot, "tests", "OnnxGradSign.Tests", "ReadmeTests.cs"));
        int begin = Array.FindIndex(source, l => l.Trim() == Begin), end = Array.FindIndex(source, l => l.Trim() == End);
        var body = source[(begin + 1)..end];
        int indent = body.Min(l => l.Length - l.TrimStart().Length);
        var expected = string.Join("\n", new[] { "using OnnxGradSign.Proxies;", "using OnnxGradSign.Runs;", "" }.Concat(body.Select(l => l[indent..])));
        var readme = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "README.md")).Replace("\r\n", "\n");
        Assert.Contains("```csharp\n" + expected + "\n```", readme);
    }
}
