using OnnxGradSign.Cli.Commands;
using OnnxGradSign.Onnx;
using OnnxGradSign.Runs;

namespace OnnxGradSign.Tests.Runs;

/// <summary>Runs over many files: shards, incremental output that survives a kill, resume, the results cache, merge.</summary>
public class BatchRunTests : IDisposable
{
    private static readonly string[] Models = ["resnet_tiny.onnx", "nb201_c.onnx", "mlp_matmul.onnx", "vit_tiny.onnx"];
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-runs").FullName;
    private readonly string _models;

    public BatchRunTests()
    {
        _models = Path.Combine(_dir, "models");
        Directory.CreateDirectory(_models);
        foreach (var m in Models) File.Copy(TestPaths.Model(m), Path.Combine(_models, m));
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private int Score(params string[] extra) =>
        ScoreCommand.Create().Parse([_models, "--data", TestPaths.Model("fashion-mnist-sample.npz"), "--batch-size", "4", .. extra]).Invoke();

    private static List<(string, string?, double?)> Rows(string file) =>
        RecordFiles.Read(file).Select(r => (Path.GetFileName(r.Model), r.Sha256, r.Score("gradsign"))).OrderBy(r => r.Item1).ToList();

    [Fact]
    public void Shards_partition_the_files_deterministically()
    {
        var files = Enumerable.Range(0, 200).Select(i => $"runs/{i % 7}/model_{i}.onnx").ToList();
        var shards = Enumerable.Range(0, 4).Select(i => Shards.Select(files, $"{i}/4")).ToList();
        Assert.Equal(files.Order(), shards.SelectMany(s => s).Order());
        Assert.All(shards, s => Assert.InRange(s.Count, 30, 70));
        Assert.Equal(shards[2], Shards.Select(files.AsEnumerable().Reverse(), "2/4").AsEnumerable().Reverse());
        Assert.Throws<ArgumentException>(() => Shards.Select(files, "4/4"));
    }

    [Fact]
    public void A_killed_run_resumes_to_the_same_records_and_merged_shards_equal_one_run()
    {
        var whole = Path.Combine(_dir, "whole.jsonl");
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", whole));
        Assert.Equal(Models.Length, File.ReadAllLines(whole).Length);

        // A run killed while writing its third record: two whole lines and half of one.
        var killed = Path.Combine(_dir, "killed.jsonl");
        var lines = File.ReadAllLines(whole);
        File.WriteAllText(killed, lines[0] + "\n" + lines[1] + "\n" + lines[2][..(lines[2].Length / 2)]);
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", killed, "--resume"));
        Assert.Equal(Rows(whole), Rows(killed));
        Assert.Equal(Models.Length, File.ReadAllLines(killed).Length);
        Assert.Equal(ExitCodes.Usage, Score("--format", "jsonl", "-o", killed, "--resume", "--init", "keep")); // other settings

        var shards = Enumerable.Range(0, 3).Select(i => Path.Combine(_dir, $"shard{i}.csv")).ToList();
        for (int i = 0; i < 3; i++) Assert.Equal(ExitCodes.Ok, Score("--format", "csv", "-o", shards[i], "--shard", $"{i}/3"));
        var merged = Path.Combine(_dir, "merged.jsonl");
        Assert.Equal(ExitCodes.Ok, MergeCommand.Create().Parse([.. shards, shards[0], "--format", "jsonl", "-o", merged]).Invoke());
        Assert.Equal(Rows(whole), Rows(merged));
    }

    [Fact]
    public void Resuming_after_kills_at_any_moment_leaves_exactly_one_record_per_model()
    {
        // 30 models and 2 bad files, scored by the real program, killed (SIGKILL) at seeded random moments and resumed each time.
        var models = Path.Combine(_dir, "many");
        Directory.CreateDirectory(models);
        foreach (var f in Directory.GetFiles(TestPaths.Model("nb201"), "*.onnx")) File.Copy(f, Path.Combine(models, Path.GetFileName(f)));
        File.WriteAllText(Path.Combine(models, "broken.onnx"), "not a model");
        File.WriteAllBytes(Path.Combine(models, "truncated.onnx"), File.ReadAllBytes(TestPaths.Model("nb201_c.onnx"))[..1000]);
        int expected = Directory.GetFiles(models).Length;
        var output = Path.Combine(_dir, "killed-often.jsonl");
        string[] args = ["score", models, "--data", TestPaths.Model("fashion-mnist-sample.npz"), "--batch-size", "4", "--threads", "1", "--format", "jsonl", "-o", output, "--resume"];
        var random = new Random(11);
        for (int kill = 0; kill < 6; kill++)
        {
            using var run = Program(args);
            if (!run.WaitForExit(TimeSpan.FromMilliseconds(random.Next(300, 3000)))) run.Kill();
            run.WaitForExit();
        }
        for (int resume = 0; resume < 2; resume++) // the last resume finds the run finished and must add nothing
        {
            using var run = Program(args);
            Assert.True(run.WaitForExit(TimeSpan.FromMinutes(3)), "the resumed run did not finish");
            Assert.Equal(ExitCodes.Ok, run.ExitCode);
        }
        var records = RecordFiles.Read(output);
        Assert.Equal(expected, File.ReadAllLines(output).Length);
        Assert.Equal(Directory.GetFiles(models).Order(), records.Select(r => r.Model).Order());
        Assert.Equal(2, records.Count(r => r.Status != "ok"));

        // An error row counts as done; --retry-errors scores it again and replaces it.
        File.Copy(TestPaths.Model("nb201_c.onnx"), Path.Combine(models, "truncated.onnx"), overwrite: true);
        using (var retry = Program([.. args, "--retry-errors"])) retry.WaitForExit();
        records = RecordFiles.Read(output);
        Assert.Equal(expected, records.Count);
        Assert.Equal("ok", records.Single(r => r.Model.EndsWith("truncated.onnx")).Status);
    }

    /// <summary>Starts the CLI (the apphost the build puts beside the tests) as a child process.</summary>
    private static System.Diagnostics.Process Program(string[] args)
    {
        var start = new System.Diagnostics.ProcessStartInfo(Path.Combine(AppContext.BaseDirectory, "onnx-gradsign"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in args) start.ArgumentList.Add(a);
        var process = System.Diagnostics.Process.Start(start)!;
        process.BeginOutputReadLine(); // drain, so a full pipe never blocks it
        process.BeginErrorReadLine();
        return process;
    }

    [Fact]
    public void The_results_cache_serves_reruns_by_content_not_path()
    {
        var cache = Path.Combine(_dir, "cache.sqlite");
        var first = Path.Combine(_dir, "first.jsonl");
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", first, "--cache", cache));
        // The same content under another name is the same model: its record comes from the cache, timing included.
        File.Copy(Path.Combine(_models, "resnet_tiny.onnx"), Path.Combine(_models, "renamed.onnx"));
        var second = Path.Combine(_dir, "second.jsonl");
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", second, "--cache", cache));
        var before = RecordFiles.Read(first).Single(r => r.Model.EndsWith("resnet_tiny.onnx"));
        var renamed = RecordFiles.Read(second).Single(r => r.Model.EndsWith("renamed.onnx"));
        Assert.Equal((before.Score("gradsign"), before.Seconds), (renamed.Score("gradsign"), renamed.Seconds));
        // Other settings are other results.
        var third = Path.Combine(_dir, "third.jsonl");
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", third, "--cache", cache, "--seed", "5"));
        Assert.NotEqual(before.Score("gradsign"), RecordFiles.Read(third).Single(r => r.Model.EndsWith("resnet_tiny.onnx")).Score("gradsign"));
    }

    [Fact]
    public void Worker_processes_give_the_same_records_and_a_model_past_its_limit_is_an_error_row()
    {
        var inProcess = Path.Combine(_dir, "in-process.jsonl");
        var workers = Path.Combine(_dir, "workers.jsonl");
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", inProcess, "--threads", "1"));
        Assert.Equal(ExitCodes.Ok, Score("--format", "jsonl", "-o", workers, "--workers", "2", "--threads", "1", "--timeout", "120"));
        Assert.Equal(Rows(inProcess), Rows(workers));

        var limited = Path.Combine(_dir, "limited.jsonl");
        Assert.Equal(ExitCodes.ModelFailed, Score("--format", "jsonl", "-o", limited, "--proxy", "all", "--timeout", "0.001"));
        var records = RecordFiles.Read(limited);
        Assert.Equal(Models.Length, records.Count);
        Assert.All(records, r => Assert.Contains("timed out", r.Error));
    }
}
