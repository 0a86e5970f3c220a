using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Verification;

public sealed record Tolerance(double Relative = 1e-4, double Absolute = 1e-5);

public sealed record OutputComparison(string Output, long[] Shape, double MaxAbsoluteError, double MaxRelativeError, bool WithinTolerance)
{
    /// <summary>For a float32 output beyond tolerance: how far each engine is from our import run in float64 (the rounding-free result).</summary>
    public Float32Noise? Noise { get; init; }
}

/// <param name="OnnxRuntime">Max |ONNX Runtime − float64|.</param>
/// <param name="Ours">Max |ours (float32) − float64|.</param>
public sealed record Float32Noise(double OnnxRuntime, double Ours)
{
    /// <summary>Ours no further from the exact result than ONNX Runtime (with slack for one rounding): a float32 difference, not a bug.</summary>
    public bool WithinRounding => Ours <= 2 * OnnxRuntime + 1e-12;
}

public sealed record VerificationResult(string Model, IReadOnlyList<OutputComparison> Outputs, string? Error)
{
    public bool Passed => Error is null && Outputs.All(o => o.WithinTolerance);
}

/// <summary>Imports a model with its own weights and checks that TorchSharp and ONNX Runtime compute the same outputs on the same input.</summary>
public static class ModelVerifier
{
    public static VerificationResult Verify(string path, Tolerance tolerance, InputSpec inputSpec, long seed = 0)
    {
        using var scope = NewDisposeScope();
        try
        {
            var model = OnnxModel.Load(path);
            using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep) { InputValues = inputSpec.Values });
            var inputs = SampleInputs.Random(model, inputSpec, seed);
            return new VerificationResult(path, Compare(imported, inputs, tolerance), null);
        }
        catch (Exception e) when (e is not OutOfMemoryException) // one model's failure, whatever it is, is its result alone
        {
            var message = NativeErrors.Brief(e.Message);
            return new VerificationResult(path, [], message.Contains(path) ? message : $"{path}: {message}");
        }
    }

    /// <summary>Runs both engines on the given inputs and compares output by output (numpy allclose: |a-b| ≤ atol + rtol·|b|).</summary>
    public static IReadOnlyList<OutputComparison> Compare(ImportedModel imported, IReadOnlyList<Tensor> inputs, Tolerance tolerance)
    {
        Tensor[] ours;
        using (no_grad()) ours = imported.forward(inputs.ToArray());
        var reference = OnnxRuntimeOracle.Run(imported.Source, inputs);
        var comparisons = imported.OutputNames.Select((name, k) => Compare(name, ours[k], reference[k], tolerance)).ToList();
        if (comparisons.All(c => c.WithinTolerance) || !ours.Any(o => o.dtype == ScalarType.Float32)) return comparisons;

        // Deep float32 networks can miss the tolerance by rounding alone: measure both engines against a float64 run.
        Tensor[] exact;
        using (no_grad())
        {
            imported.to(ScalarType.Float64);
            exact = imported.forward(inputs.Select(i => i.is_floating_point() ? i.to_type(ScalarType.Float64) : i).ToArray());
        }
        return comparisons.Select((c, k) => c.WithinTolerance || ours[k].dtype != ScalarType.Float32 || !exact[k].shape.SequenceEqual(ours[k].shape) || !reference[k].shape.SequenceEqual(ours[k].shape) ? c
            : c with { Noise = new Float32Noise(MaxDifference(reference[k], exact[k]), MaxDifference(ours[k], exact[k])) }).ToList();
    }

    private static double MaxDifference(Tensor a, Tensor b) =>
        (a.detach().cpu().to_type(ScalarType.Float64) - b.detach().cpu().to_type(ScalarType.Float64)).abs().nan_to_num(0).max().item<double>();

    public static OutputComparison Compare(string name, Tensor actual, Tensor expected, Tolerance tolerance)
    {
        if (!actual.shape.SequenceEqual(expected.shape))
            return new OutputComparison(name, actual.shape, double.PositiveInfinity, double.PositiveInfinity, false);
        if (actual.NumberOfElements == 0) return new OutputComparison(name, actual.shape, 0, 0, true);
        var a = actual.detach().cpu().to_type(ScalarType.Float64);
        var b = expected.cpu().to_type(ScalarType.Float64);
        var diff = (a - b).abs();
        // Equal infinities (and NaN in both) count as equal.
        var same = a.eq(b).logical_or(a.isnan().logical_and(b.isnan()));
        diff = where(same, zeros_like(diff), diff);
        double maxAbs = diff.max().item<double>();
        double maxRel = (diff / b.abs().clamp_min(1e-12)).where(diff > 0, zeros_like(diff)).max().item<double>();
        bool ok = diff.le(tolerance.Absolute + tolerance.Relative * b.abs()).logical_or(same).all().item<bool>();
        return new OutputComparison(name, actual.shape, maxAbs, maxRel, ok);
    }
}
