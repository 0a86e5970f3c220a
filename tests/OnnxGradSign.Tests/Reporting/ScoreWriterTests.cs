using OnnxGradSign.Reporting;

namespace OnnxGradSign.Tests.Reporting;

public class ScoreWriterTests
{
    [Theory]
    [InlineData(1.658e9, "1.658e+09")]
    [InlineData(3899145.889, "3.899e+06")]
    [InlineData(12.3456, "12.35")]
    [InlineData(0.001234, "1.234e-03")]
    [InlineData(double.NegativeInfinity, "-inf")]
    [InlineData(double.NaN, "nan")]
    [InlineData(0.0, "0")]
    public void Table_numbers_have_four_significant_digits_in_one_style(double value, string shown) => Assert.Equal(shown, ScoreWriter.Short(value));
}
