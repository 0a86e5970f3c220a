using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxGradSign.Cli.Commands;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using OnnxGradSign.Runs;
using OnnxGradSign.Serving;

namespace OnnxGradSign.Tests.Proxies;

/// <summary>
/// Every setting is declared once (ScoreOptionFields); these tests prove that each outside form derived from it agrees: the
/// command line's options, the server's fields and option list, the records in JSON and CSV, and the results cache's key.
/// </summary>
public class ScoreOptionsTests
{
    /// <summary>A value other than the default for every field, in its text form.</summary>
    private static readonly Dictionary<string, string[]> Changed = new()
    {
        ["proxy"] = ["gradsign,synflow"], ["init"] = ["keep"], ["seeds"] = ["1,2"], ["engine"] = ["loop"], ["data"] = ["synthetic"],
        ["batch_size"] = ["8"], ["mean"] = ["0.5,0.25"], ["std"] = ["0.5"], ["reduce"] = ["mean"], ["param_scope"] = ["all"], ["loss"] = ["bce"],
        ["output_name"] = ["logits"], ["outputs"] = ["all"], ["input_shape"] = ["x=-1,3,8,8", "m=-1,4"], ["input_value"] = ["sr=16000"],
        ["device"] = ["cpu"], ["max_memory"] = ["512"], ["per_layer"] = ["true"], ["float64"] = ["true"],
    };

    private static ScoreOptions AllChanged() =>
        ScoreOptionFields.All.Aggregate(new ScoreOptions(), (o, f) => f.WithText(o, Changed[f.Name]));

    [Fact]
    public void Every_field_has_a_changed_value_here_and_it_differs_from_the_default()
    {
        Assert.Equal(ScoreOptionFields.All.Select(f => f.Name).Order(), Changed.Keys.Order());
        var changed = AllChanged();
        Assert.All(ScoreOptionFields.All, f => Assert.NotEqual(f.Text(new ScoreOptions()), f.Text(changed)));
    }

    [Fact]
    public void Records_carry_every_setting_through_json_and_csv_unchanged()
    {
        var options = AllChanged();
        var record = new ScoreRecord { Model = "m.onnx", Status = ScoreRecord.Ok, DataUsed = "synthetic", Settings = options, Params = 7 }
            .WithScore("gradsign", 12).WithScore("synflow", double.PositiveInfinity);
        var path = Path.Combine(Directory.CreateTempSubdirectory("onnx-gradsign-options").FullName, "r");
        foreach (var format in new[] { ScoreFormat.Json, ScoreFormat.Jsonl, ScoreFormat.Csv })
        {
            File.WriteAllText(path, ScoreWriter.Write([record], format, ["gradsign", "synflow"]));
            var back = RecordFiles.Read(path).Single();
            Assert.All(ScoreOptionFields.All, f => Assert.Equal(f.Text(options), f.Text(back.Settings)));
            Assert.Equal(12, back.Score("gradsign"));
            Assert.Equal(double.PositiveInfinity, back.Score("synflow"));
            Assert.Equal(7, back.Params);
        }
        var json = JsonNode.Parse(Json.Serialize(record))!.AsObject();
        Assert.All(ScoreOptionFields.All, f => Assert.True(json.ContainsKey(f.Name), f.Name));
    }

    [Fact]
    public void The_command_line_has_one_flag_per_field_and_reads_it_as_the_text_form()
    {
        var command = ScoreCommand.Create();
        var flags = command.Options.Select(o => o.Name).ToHashSet();
        Assert.All(ScoreOptionFields.All, f => Assert.Contains(ScoreOptionFlags.Flag(f.Name), flags));

        var arguments = new List<string>();
        foreach (var field in ScoreOptionFields.All)
            arguments.AddRange(field.IsSwitch ? [ScoreOptionFlags.Flag(field.Name)] : Changed[field.Name].SelectMany(v => new[] { ScoreOptionFlags.Flag(field.Name), v }));
        var flagsOnly = new ScoreOptionFlags();
        var probe = new RootCommand();
        foreach (var option in flagsOnly.Options) probe.Options.Add(option);
        var read = flagsOnly.Read(probe.Parse(arguments));
        var expected = AllChanged();
        Assert.All(ScoreOptionFields.All, f => Assert.Equal(f.Text(expected), f.Text(read)));
    }

    [Fact]
    public async Task The_server_lists_every_field_and_takes_each_by_name()
    {
        var service = new ScoreService();
        var version = JsonNode.Parse(await service.HandleAsync("{\"op\":\"version\"}"))!;
        Assert.Equal(ScoreOptionFields.All.Select(f => f.Name), version["options"]!.AsArray().Select(o => o!["name"]!.GetValue<string>()));

        var fields = ScoreOptionFields.ToJson(AllChanged());
        var parsed = ScoreOptionFields.FromJson(JsonNode.Parse(fields.ToJsonString())!.AsObject());
        Assert.All(ScoreOptionFields.All, f => Assert.Equal(f.Text(AllChanged()), f.Text(parsed)));
        var typo = Assert.Throws<ScoreOptionException>(() => ScoreOptionFields.FromJson(new JsonObject { ["batch_sise"] = 3 }));
        Assert.Contains("did you mean batch_size?", typo.Message);
    }

    [Fact]
    public void The_cache_key_changes_with_every_setting_that_decides_a_result_and_no_other()
    {
        var baseline = new ScoreOptions().Key(null);
        foreach (var field in ScoreOptionFields.All)
        {
            var key = field.WithText(new ScoreOptions(), Changed[field.Name]).Key(null);
            if (field.DecidesResult) Assert.NotEqual(baseline, key);
            else Assert.Equal(baseline, key);
        }
    }

    [Fact]
    public void Each_field_is_a_property_of_the_options_type_and_a_row_of_the_options_page()
    {
        var page = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "options.md"));
        foreach (var field in ScoreOptionFields.All)
        {
            var property = string.Concat(field.Name.Split('_').Select(w => char.ToUpperInvariant(w[0]) + w[1..]));
            Assert.NotNull(typeof(ScoreOptions).GetProperty(property));
            Assert.Contains($"| `{field.Name}` (`{property}`) | `{ScoreOptionFlags.Flag(field.Name)}` | `{field.DefaultText ?? "unset"}` |", page);
        }
    }

    [Theory]
    [InlineData("batch_size", "0", "must be positive")]
    [InlineData("loss", "hinge", "expected auto, cross-entropy, bce, mse")]
    [InlineData("mean", "0.5,x", "'x': expected a number")]
    [InlineData("input_shape", "x", "expected NAME=VALUE")]
    public void A_bad_value_names_its_field(string field, string text, string problem)
    {
        var e = Assert.Throws<ScoreOptionException>(() => ScoreOptionFields.Find(field).WithText(new ScoreOptions(), [text]));
        Assert.Equal(field, e.Field);
        Assert.Contains(problem, e.Problem);
    }
}
