using System.Text.RegularExpressions;

namespace OnnxGradSign.Tests;

/// <summary>
/// The library's folders are the stages data flows through (Onnx → Import → Gradients → Proxies → Runs, Reporting, Serving):
/// a folder may use those before it, never one that uses it back. Read from the sources: `using` directives and qualified names.
/// </summary>
public class ArchitectureTests
{
    private static readonly string Library = Path.Combine(TestPaths.RepoRoot, "src", "OnnxGradSign");

    private static Dictionary<string, HashSet<string>> FolderUses()
    {
        var folders = Directory.GetDirectories(Library).Select(Path.GetFileName).Where(f => f is not ("bin" or "obj" or "Build")).ToHashSet()!;
        var uses = folders.ToDictionary(f => f!, _ => new HashSet<string>());
        var names = string.Join("|", folders);
        var reference = new Regex(@"\bOnnxGradSign\.(" + names + @")\b|\b(" + names + @")\.[A-Z]");
        foreach (var folder in folders)
            foreach (var file in Directory.EnumerateFiles(Path.Combine(Library, folder!), "*.cs", SearchOption.AllDirectories))
            {
                var code = Regex.Replace(File.ReadAllText(file), @"//.*|""(?:[^""\\]|\\.)*""", ""); // comments and strings say nothing about dependencies
                foreach (Match m in reference.Matches(code))
                {
                    var used = m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value;
                    if (used != folder) uses[folder!].Add(used);
                }
            }
        return uses;
    }

    [Fact]
    public void Folder_dependencies_point_one_way()
    {
        var uses = FolderUses();
        var cycles = new List<string>();
        foreach (var start in uses.Keys)
        {
            // Every folder reachable from start; start among them is a cycle.
            var seen = new HashSet<string>();
            var stack = new Stack<(string Folder, string Path)>(uses[start].Select(u => (u, $"{start} → {u}")));
            while (stack.TryPop(out var item))
            {
                if (item.Folder == start) { cycles.Add(item.Path); break; }
                if (!seen.Add(item.Folder)) continue;
                foreach (var next in uses.GetValueOrDefault(item.Folder) ?? []) stack.Push((next, $"{item.Path} → {next}"));
            }
        }
        Assert.True(cycles.Count == 0, "folder cycles: " + string.Join("; ", cycles));
    }

    [Fact]
    public void The_stages_come_in_order()
    {
        var uses = FolderUses();
        string[] stages = ["Onnx", "Import", "Gradients", "Proxies", "Runs"];
        for (int i = 0; i < stages.Length; i++)
        {
            // Runs and Reporting are one tier: Runs writes records with Reporting's writers (the cycle test keeps it one way).
            var later = stages.Skip(i + 1).Append("Serving").Concat(stages[i] == "Runs" ? [] : ["Reporting"]);
            var wrong = uses[stages[i]].Intersect(later).ToList();
            Assert.True(wrong.Count == 0, $"{stages[i]} uses {string.Join(", ", wrong)}");
        }
    }

    [Fact]
    public void No_command_line_flag_is_spelled_in_the_library()
    {
        var flag = new Regex(@"""[^""\n]*\s--[a-z][a-z-]+|""--[a-z][a-z-]+");
        var found = Directory.EnumerateFiles(Library, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}"))
            .SelectMany(f => File.ReadLines(f).Select((line, i) => (f, i, line))).Where(l => flag.IsMatch(l.line))
            .Select(l => $"{Path.GetRelativePath(Library, l.f)}:{l.i + 1}: {l.line.Trim()}").ToList();
        Assert.True(found.Count == 0, string.Join("\n", found));
    }
}
