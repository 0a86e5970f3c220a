using OnnxGradSign.Verification;

namespace OnnxGradSign.Tests.Verification;

/// <summary>
/// ONNX's own backend test cases (BackendSuite): the PyTorch-converted and operator cases in ../shared, each of which must pass,
/// and Debian's libonnx-testdata, whose passing cases (backend_passing.txt, written from `onnx-gradsign conformance`) must keep
/// passing, and whose refusals are only those documented as on purpose.
/// </summary>
public class ConformanceTests
{
    public static IEnumerable<object[]> Cases() =>
        BackendSuite.Cases(TestPaths.Conformance, "pytorch-converted", "pytorch-operator").Select(c => new object[] { Path.GetRelativePath(TestPaths.Conformance, c) });

    [ConformanceTheory]
    [MemberData(nameof(Cases))]
    public void Matches_stored_outputs(string testCase)
    {
        var result = BackendSuite.Run(Path.Combine(TestPaths.Conformance, testCase));
        Assert.True(result.Verdict == CaseVerdict.Pass, $"{testCase}: {result.Verdict} {result.Detail}");
    }

    private static readonly string Passing = Path.Combine(TestPaths.RepoRoot, "tests", "OnnxGradSign.Tests", "Verification", "backend_passing.txt");

    [BackendSuiteFact]
    public void Every_backend_case_that_passed_still_passes_and_refusals_are_documented()
    {
        var results = BackendSuite.Cases(BackendSuite.DebianData, "node", "simple", "pytorch-converted", "pytorch-operator")
            .Select(BackendSuite.Run).ToList();
        var passing = File.ReadAllLines(Passing).ToHashSet();
        var regressed = results.Where(r => passing.Contains(r.Case) && r.Verdict != CaseVerdict.Pass).Select(r => $"{r.Case}: {r.Verdict} {r.Detail}").ToList();
        Assert.True(regressed.Count == 0, string.Join("\n", regressed));
        Assert.All(results.Where(r => r.Verdict == CaseVerdict.Refused),
            r => Assert.True(BackendSuite.RefusedOnPurpose.Values.Contains(r.Detail) || r.Detail is "strings" or "sequences/optionals", r.Case));
    }
}

/// <summary>A fact over Debian's libonnx-testdata, skipped (not passed) where it is not installed.</summary>
public sealed class BackendSuiteFactAttribute : FactAttribute
{
    public BackendSuiteFactAttribute()
    {
        if (!Directory.Exists(Path.Combine(BackendSuite.DebianData, "node"))) Skip = $"libonnx-testdata not installed ({BackendSuite.DebianData})";
    }
}
