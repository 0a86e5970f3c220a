using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Gradients;

public class SignAccumulatorTests
{
    [Fact]
    public void Sums_signs_counts_zeros_and_poisons_weights_with_non_finite_gradients()
    {
        var info = new ParameterInfo("w", "w", LayerKind.Linear, ParameterRole.Weight, "n", [4], 1, 1, 1);
        var accumulator = new SignAccumulator(info, CPU);
        // Three samples of a 4-weight layer: weight 2 gets NaN from sample 1, weight 3 +inf from sample 2.
        accumulator.Add(tensor(new float[,] { { 0.5f, -1e-30f, 0, 2 }, { 3, -2, float.NaN, 1 }, { -1, -7, 0, float.PositiveInfinity } }));
        var sums = accumulator.SignSum.data<double>().ToArray();
        Assert.Equal(1, sums[0]);
        Assert.Equal(-3, sums[1]);
        Assert.True(double.IsNaN(sums[2]));
        Assert.True(double.IsNaN(sums[3]));
        Assert.Equal(2 + 1, accumulator.Zeros); // two exact zeros, and torch's sign(NaN) counts as zero
        Assert.Equal(2, accumulator.NonFinite);
        Assert.Equal(3, accumulator.Samples);
        Assert.Equal(4.0, accumulator.SignSum.abs().nansum().item<double>());
    }
}
