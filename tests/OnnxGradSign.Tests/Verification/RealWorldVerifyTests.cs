using OnnxGradSign.Verification;

namespace OnnxGradSign.Tests.Verification;

/// <summary>`verify` on real files published by others (../shared/realworld).</summary>
public class RealWorldVerifyTests
{
    [RealWorldFact("cls__squeezenet_fp16_caffe2.onnx")]
    public void A_float16_input_reaches_onnx_runtime_as_float16()
    {
        // ONNX Runtime refused float32 values for this float16 input. Now it runs in float16, and against a float64 run of our
        // import its float16 rounding, not our float32 one, is what separates the two.
        var result = ModelVerifier.Verify(Path.Combine(TestPaths.RealWorld, "cls__squeezenet_fp16_caffe2.onnx"), new Tolerance(), new InputSpec(1), seed: 0);
        Assert.Null(result.Error);
        var output = Assert.Single(result.Outputs);
        Assert.True(output.WithinTolerance || output.Noise is { WithinRounding: true }, $"max abs {output.MaxAbsoluteError}");
    }
}
