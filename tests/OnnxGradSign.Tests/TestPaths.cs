namespace OnnxGradSign.Tests;

/// <summary>Where the repository, its example models and the shared conformance data are.</summary>
public static class TestPaths
{
    public static string RepoRoot { get; } = FindRepoRoot();
    public static string Models => Path.Combine(RepoRoot, "models");
    public static string Tools => Path.Combine(RepoRoot, "tools");

    /// <summary>`../shared` beside the checkout (ONNXGRADSIGN_SHARED overrides); absent on machines without it.</summary>
    public static string Shared => Environment.GetEnvironmentVariable("ONNXGRADSIGN_SHARED") ?? Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
    public static string Conformance => Path.Combine(Shared, "onnx-conformance");
    public static string RealWorld => Path.Combine(Shared, "realworld");

    public static string Model(string file) => Path.Combine(Models, file);

    /// <summary>A model's default sample (the .npz nearest it under models/), as `score` picks it.</summary>
    public static OnnxGradSign.Data.Dataset SampleFor(string file, long limit) =>
        OnnxGradSign.Data.DataChoice.Resolve(null, [Models], [Model(file)], limit).For(Model(file))!;

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "OnnxGradSign.sln"))) return dir.FullName;
        throw new InvalidOperationException("OnnxGradSign.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>A theory over the shared ONNX conformance data, skipped (not passed) where that data is absent.</summary>
public sealed class ConformanceTheoryAttribute : TheoryAttribute
{
    public ConformanceTheoryAttribute()
    {
        if (!Directory.Exists(TestPaths.Conformance)) Skip = $"ONNX conformance data not found at {TestPaths.Conformance}";
    }
}

/// <summary>A fact over a real file of ../shared/realworld, skipped (not passed) where that file is absent.</summary>
public sealed class RealWorldFactAttribute : FactAttribute
{
    public RealWorldFactAttribute(string file)
    {
        if (!File.Exists(Path.Combine(TestPaths.RealWorld, file))) Skip = $"{file} not found in {TestPaths.RealWorld}";
    }
}
