using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class PoolingTests
{
    private static void Check(string op, long opset, long[] x, object[] attributes) =>
        new TestGraph(opset).Input("x", x)
            .Node(op, "x", "y", TestGraph.Pairs(attributes))
            .Output("y")
            .AssertMatchesOrt(name: op);

    [Theory]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 })]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 1, 2, 8, 7 }, "kernel_shape", new long[] { 3, 2 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 1, 2, 5, 5 }, "kernel_shape", new long[] { 2, 2 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "ceil_mode", 1L)] // a last window would start in the end pad
    [InlineData(new long[] { 1, 2, 9, 9 }, "kernel_shape", new long[] { 3, 3 }, "dilations", new long[] { 2, 2 })]
    [InlineData(new long[] { 1, 2, 9, 10 }, "kernel_shape", new long[] { 3, 2 }, "dilations", new long[] { 2, 3 }, "strides", new long[] { 2, 1 }, "pads", new long[] { 2, 1, 2, 1 })]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "pads", new long[] { 0, 1, 2, 1 })] // asymmetric
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 0, 0, 1 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "auto_pad", "SAME_UPPER")]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 2, 3 }, "strides", new long[] { 2, 2 }, "auto_pad", "SAME_LOWER")]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 2, 3 }, "strides", new long[] { 2, 2 }, "auto_pad", "VALID")]
    [InlineData(new long[] { 2, 3, 11 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 1, 1 })] // 1-D
    [InlineData(new long[] { 2, 3, 10 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 0, 2 }, "ceil_mode", 1L)] // a last window would start in the end pad
    [InlineData(new long[] { 1, 2, 5, 6, 7 }, "kernel_shape", new long[] { 2, 3, 2 }, "strides", new long[] { 2, 1, 2 })] // 3-D
    [InlineData(new long[] { 1, 2, 5, 6, 7 }, "kernel_shape", new long[] { 3, 3, 3 }, "pads", new long[] { 1, 1, 1, 1, 1, 1 }, "strides", new long[] { 2, 2, 2 }, "ceil_mode", 1L)]
    public void MaxPool(long[] x, params object[] attributes) => Check("MaxPool", 12, x, attributes);

    [Theory]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "count_include_pad", 0L)]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "count_include_pad", 1L)]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "ceil_mode", 1L, "count_include_pad", 0L)]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "ceil_mode", 1L, "count_include_pad", 1L)]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "pads", new long[] { 0, 1, 2, 1 }, "count_include_pad", 0L)] // asymmetric
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "pads", new long[] { 0, 1, 2, 1 }, "count_include_pad", 1L)]
    [InlineData(new long[] { 1, 2, 6, 6 }, "kernel_shape", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 }, "strides", new long[] { 2, 2 }, "count_include_pad", 1L)]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "auto_pad", "SAME_UPPER")]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "auto_pad", "SAME_UPPER", "count_include_pad", 1L)]
    [InlineData(new long[] { 2, 3, 11 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 1, 1 })] // 1-D
    [InlineData(new long[] { 2, 3, 11 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 1, 1 }, "count_include_pad", 1L)]
    [InlineData(new long[] { 2, 3, 10 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 0, 2 }, "ceil_mode", 1L)] // a last window would start in the end pad
    [InlineData(new long[] { 2, 3, 10 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 0, 2 }, "ceil_mode", 1L, "count_include_pad", 1L)]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 0, 0, 2 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 1, 2, 5, 6, 7 }, "kernel_shape", new long[] { 2, 3, 2 }, "strides", new long[] { 2, 1, 2 }, "pads", new long[] { 1, 1, 0, 1, 1, 0 })] // 3-D
    public void AveragePool(long[] x, params object[] attributes) => Check("AveragePool", 11, x, attributes);

    [Theory]
    [InlineData("GlobalAveragePool", new long[] { 2, 3, 4, 5 })]
    [InlineData("GlobalAveragePool", new long[] { 1, 2, 3, 4, 5 })]
    [InlineData("GlobalAveragePool", new long[] { 2, 3, 7 })]
    [InlineData("GlobalMaxPool", new long[] { 2, 3, 4, 5 })]
    [InlineData("GlobalMaxPool", new long[] { 1, 2, 3, 4, 5 })]
    public void GlobalPool(string op, long[] x) => Check(op, 1, x, []);
}
