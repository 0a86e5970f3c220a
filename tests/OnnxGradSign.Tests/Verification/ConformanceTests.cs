using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using OnnxGradSign.Verification;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Verification;

/// <summary>
/// ONNX's own backend test cases converted from PyTorch: import each model and compare with its stored outputs.
/// Every case in the shared data applies (the loss case, PoissonNLLLoss without reduction, is plain Exp/Mul/Sub arithmetic).
/// </summary>
public class ConformanceTests
{
    public static IEnumerable<object[]> Cases() =>
        !Directory.Exists(TestPaths.Conformance) ? [] :
        Directory.EnumerateDirectories(TestPaths.Conformance).SelectMany(Directory.EnumerateDirectories)
            .Where(d => File.Exists(Path.Combine(d, "model.onnx")))
            .Select(d => Path.GetRelativePath(TestPaths.Conformance, d))
            .Order(StringComparer.Ordinal)
            .Select(c => new object[] { c });

    [ConformanceTheory]
    [MemberData(nameof(Cases))]
    public void Matches_stored_outputs(string testCase)
    {
        using var scope = NewDisposeScope();
        var folder = Path.Combine(TestPaths.Conformance, testCase);
        var model = OnnxModel.Load(Path.Combine(folder, "model.onnx"));
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
        var data = Path.Combine(folder, "test_data_set_0");
        var inputs = Enumerable.Range(0, model.Inputs.Count).Select(i => ReadTensor(Path.Combine(data, $"input_{i}.pb"))).ToArray();
        Tensor[] outputs;
        using (no_grad()) outputs = imported.forward(inputs);

        for (int k = 0; k < outputs.Length; k++)
        {
            var expected = ReadTensor(Path.Combine(data, $"output_{k}.pb"));
            var comparison = ModelVerifier.Compare(imported.OutputNames[k], outputs[k], expected, new Tolerance(1e-3, 1e-5));
            Assert.True(comparison.WithinTolerance,
                $"{testCase} output {k}: shape [{string.Join(",", outputs[k].shape)}] vs [{string.Join(",", expected.shape)}], max abs {comparison.MaxAbsoluteError}, max rel {comparison.MaxRelativeError}");
        }
    }

    private static Tensor ReadTensor(string path) => TensorData.ToTensor(TensorProto.Parser.ParseFrom(File.ReadAllBytes(path)));
}
