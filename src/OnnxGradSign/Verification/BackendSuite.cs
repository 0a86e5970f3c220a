using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Verification;

public enum CaseVerdict { Pass, WrongResult, Unsupported, Refused }

/// <summary>One backend test case: its part and folder name (node/test_relu), the operators of its graph, the verdict and why.</summary>
public sealed record CaseResult(string Case, string Ops, CaseVerdict Verdict, string? Detail);

/// <summary>
/// ONNX's backend test suite as the measure of operator coverage (Debian's libonnx-testdata: node/, simple/, pytorch-converted/,
/// pytorch-operator/). Each case's model is imported with its own weights, run on its stored inputs and compared with its stored
/// outputs (numpy allclose, rtol 1e-3 and atol 1e-7 as ONNX's backend runner uses; integers and booleans exactly).
/// </summary>
public static class BackendSuite
{
    /// <summary>Where Debian's libonnx-testdata installs the suite.</summary>
    public const string DebianData = "/usr/share/libonnx-testdata/data";

    private static readonly Tolerance Allclose = new(1e-3, 1e-7);

    /// <summary>
    /// Operators a network scorer refuses on purpose, by kind (TVM's ONNX frontend keeps such a list too): strings and text,
    /// sequences and optionals (no tensor flows through them), training-only ops, random generators (their values are not
    /// reproducible across implementations), and classical-ML or signal ops no network layer uses.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> RefusedOnPurpose = new Dictionary<string, string>
    {
        ["StringNormalizer"] = "strings", ["RegexFullMatch"] = "strings", ["StringConcat"] = "strings", ["StringSplit"] = "strings",
        ["TfIdfVectorizer"] = "strings",
        ["SequenceAt"] = "sequences", ["SequenceConstruct"] = "sequences", ["SequenceEmpty"] = "sequences", ["SequenceErase"] = "sequences",
        ["SequenceInsert"] = "sequences", ["SequenceLength"] = "sequences", ["SequenceMap"] = "sequences", ["SplitToSequence"] = "sequences",
        ["ConcatFromSequence"] = "sequences",
        ["Optional"] = "optionals", ["OptionalGetElement"] = "optionals", ["OptionalHasElement"] = "optionals",
        ["Adagrad"] = "training-only", ["Adam"] = "training-only", ["Momentum"] = "training-only", ["Gradient"] = "training-only",
        ["RandomNormal"] = "random values", ["RandomNormalLike"] = "random values", ["RandomUniform"] = "random values",
        ["RandomUniformLike"] = "random values", ["Multinomial"] = "random values", ["Bernoulli"] = "random values",
        ["DFT"] = "signal processing", ["STFT"] = "signal processing", ["MelWeightMatrix"] = "signal processing",
        ["HannWindow"] = "signal processing", ["HammingWindow"] = "signal processing", ["BlackmanWindow"] = "signal processing",
    };

    /// <summary>The case folders (holding model.onnx) under the given suite folders, sorted.</summary>
    public static IEnumerable<string> Cases(string root, params string[] parts) =>
        parts.Select(p => Path.Combine(root, p)).Where(Directory.Exists).SelectMany(Directory.EnumerateDirectories)
            .Where(d => File.Exists(Path.Combine(d, "model.onnx"))).Order(StringComparer.Ordinal);

    public static CaseResult Run(string folder)
    {
        var name = $"{Path.GetFileName(Path.GetDirectoryName(Path.GetFullPath(folder)))}/{Path.GetFileName(folder)}"; // part/case
        ModelProto proto;
        try
        {
            proto = ModelProto.Parser.ParseFrom(File.ReadAllBytes(Path.Combine(folder, "model.onnx")));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CaseResult(name, "", CaseVerdict.Unsupported, NativeErrors.Brief(e.Message));
        }
        var ops = string.Join("+", proto.Graph.Node.Select(n => n.OpType).Distinct());
        if (proto.Graph.Node.Select(n => n.OpType).FirstOrDefault(RefusedOnPurpose.ContainsKey) is { } refused)
            return new CaseResult(name, ops, CaseVerdict.Refused, RefusedOnPurpose[refused]);
        // Dropout given its training_mode input draws a random mask; scoring keeps it the identity.
        if (proto.Graph.Node.Any(n => n.OpType == "Dropout" && n.Input.Count > 2 && n.Input[2].Length > 0))
            return new CaseResult(name, ops, CaseVerdict.Refused, "random values");
        if (proto.Graph.Input.Concat(proto.Graph.Output).Any(v => v.Type?.ValueCase != TypeProto.ValueOneofCase.TensorType))
            return new CaseResult(name, ops, CaseVerdict.Refused, "sequences/optionals");
        if (proto.Graph.Input.Concat(proto.Graph.Output).Any(v => v.Type.TensorType.ElemType == (int)TensorProto.Types.DataType.String))
            return new CaseResult(name, ops, CaseVerdict.Refused, "strings");
        using var scope = NewDisposeScope();
        try
        {
            var model = OnnxModel.FromProto(proto, Path.Combine(folder, "model.onnx"));
            using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
            var data = Path.Combine(folder, "test_data_set_0");
            var inputs = model.Inputs.Select((input, i) => Read(Path.Combine(data, $"input_{i}.pb"), input)).ToArray();
            Tensor[] outputs;
            using (no_grad()) outputs = imported.forward(inputs);
            for (int k = 0; k < outputs.Length; k++)
            {
                var expected = Read(Path.Combine(data, $"output_{k}.pb"), model.Outputs[k]);
                var comparison = ModelVerifier.Compare(imported.OutputNames[k], outputs[k], expected, Allclose);
                if (!comparison.WithinTolerance)
                    return new CaseResult(name, ops, CaseVerdict.WrongResult, $"output {k}: shape [{string.Join(",", outputs[k].shape)}] vs " +
                        $"[{string.Join(",", expected.shape)}], max abs {comparison.MaxAbsoluteError:G3}");
            }
            return new CaseResult(name, ops, CaseVerdict.Pass, null);
        }
        catch (UnsupportedOpsException e)
        {
            return new CaseResult(name, ops, CaseVerdict.Unsupported, string.Join("; ", e.Nodes.Select(n => $"{n.OpType}-{n.Opset}: {n.Reason}")));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            return new CaseResult(name, ops, CaseVerdict.WrongResult, NativeErrors.Brief(e.Message));
        }
    }

    /// <summary>A stored tensor; onnx 1.12 stores bfloat16 data as its uint16 bit patterns, read here as the bfloat16 the graph declares.</summary>
    private static Tensor Read(string path, ValueInfoProto declared)
    {
        var proto = TensorProto.Parser.ParseFrom(File.ReadAllBytes(path));
        if (declared.Type.TensorType.ElemType == (int)TensorProto.Types.DataType.Bfloat16 && proto.DataType == (int)TensorProto.Types.DataType.Uint16)
            proto.DataType = (int)TensorProto.Types.DataType.Bfloat16;
        return TensorData.ToTensor(proto);
    }
}
