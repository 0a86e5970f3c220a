using Xunit;

namespace OnnxGradSign.Tests.Import.Ops;

public class ConvolutionTests
{
    /// <summary>One Conv or ConvTranspose node with a random weight (and bias), checked against ONNX Runtime; null attributes are left out.</summary>
    private static void Check(string op, long[] x, long[] w, long biasSize, params (string Name, object? Value)[] attributes)
    {
        var graph = new TestGraph(11).Input("x", x).RandomInitializer("w", w);
        if (biasSize > 0) graph.RandomInitializer("b", biasSize);
        graph.Node(op, biasSize > 0 ? ["x", "w", "b"] : ["x", "w"], ["y"],
                attributes.Where(a => a.Value is not null).Select(a => (a.Name, a.Value!)).ToArray())
            .Output("y")
            .AssertMatchesOrt(name: op);
    }

    [Theory]
    [InlineData(new long[] { 2, 3, 11 }, new long[] { 4, 3, 3 }, 1, null, null, null)] // 1-D
    [InlineData(new long[] { 2, 3, 11 }, new long[] { 4, 3, 3 }, 1, new long[] { 2 }, new long[] { 2 }, new long[] { 2, 1 })] // 1-D, asymmetric pads
    [InlineData(new long[] { 2, 3, 9, 9 }, new long[] { 4, 3, 3, 3 }, 1, null, null, null)] // 2-D
    [InlineData(new long[] { 1, 2, 5, 6, 7 }, new long[] { 3, 2, 3, 2, 3 }, 1, null, null, new long[] { 1, 0, 1, 1, 0, 1 })] // 3-D
    [InlineData(new long[] { 1, 2, 7, 6, 7 }, new long[] { 4, 1, 3, 3, 3 }, 2, new long[] { 2, 1, 2 }, null, new long[] { 0, 1, 2, 1, 0, 0 })] // 3-D grouped, asymmetric
    [InlineData(new long[] { 2, 4, 8, 8 }, new long[] { 6, 2, 3, 3 }, 2, null, null, new long[] { 1, 1, 1, 1 })] // groups
    [InlineData(new long[] { 2, 4, 8, 8 }, new long[] { 4, 1, 3, 3 }, 4, null, null, new long[] { 1, 1, 1, 1 })] // depthwise
    [InlineData(new long[] { 2, 4, 8, 8 }, new long[] { 8, 1, 3, 3 }, 4, new long[] { 2, 2 }, null, null)] // depthwise, multiplier 2
    [InlineData(new long[] { 1, 3, 12, 11 }, new long[] { 4, 3, 3, 3 }, 1, null, new long[] { 2, 3 }, new long[] { 2, 3, 2, 3 })] // dilations
    [InlineData(new long[] { 1, 3, 12, 11 }, new long[] { 4, 3, 3, 2 }, 1, new long[] { 2, 3 }, null, null)] // strides
    [InlineData(new long[] { 1, 3, 9, 9 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, null, new long[] { 0, 1, 2, 1 })] // asymmetric pads
    [InlineData(new long[] { 1, 3, 9, 10 }, new long[] { 4, 3, 3, 3 }, 1, null, new long[] { 2, 1 }, new long[] { 0, 0, 3, 1 })] // one-sided pads
    public void Conv(long[] x, long[] w, long group, long[]? strides, long[]? dilations, long[]? pads) =>
        Check("Conv", x, w, w[0], ("group", group), ("strides", strides), ("dilations", dilations), ("pads", pads));

    [Fact]
    public void ConvWithoutBias() => Check("Conv", [2, 3, 9, 9], [4, 3, 3, 3], 0, ("pads", new long[] { 1, 1, 1, 1 }));

    [Theory]
    [InlineData("SAME_UPPER", new long[] { 1, 3, 9, 7 }, new long[] { 4, 3, 4, 3 }, new long[] { 2, 2 })] // odd total pads: asymmetric
    [InlineData("SAME_LOWER", new long[] { 1, 3, 9, 7 }, new long[] { 4, 3, 4, 3 }, new long[] { 2, 2 })]
    [InlineData("VALID", new long[] { 1, 3, 9, 7 }, new long[] { 4, 3, 4, 3 }, new long[] { 2, 2 })]
    [InlineData("SAME_UPPER", new long[] { 1, 3, 9, 7 }, new long[] { 4, 3, 3, 3 }, new long[] { 1, 1 })]
    [InlineData("SAME_UPPER", new long[] { 2, 3, 11 }, new long[] { 4, 3, 4 }, new long[] { 2 })] // 1-D
    [InlineData("SAME_LOWER", new long[] { 2, 3, 11 }, new long[] { 4, 3, 4 }, new long[] { 2 })]
    [InlineData("SAME_LOWER", new long[] { 1, 2, 5, 7, 6 }, new long[] { 2, 2, 2, 3, 3 }, new long[] { 2, 2, 1 })] // 3-D
    public void ConvAutoPad(string autoPad, long[] x, long[] w, long[] strides) =>
        Check("Conv", x, w, w[0], ("auto_pad", autoPad), ("strides", strides));

    [Theory]
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, null, null, null)] // strides
    [InlineData(new long[] { 2, 4, 5, 6 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, null, null)] // pads
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 3 }, new long[] { 0, 1, 2, 1 }, null, null)] // asymmetric pads
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, new long[] { 1, 1 }, null)] // output_padding
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 3, 2 }, null, new long[] { 2, 0 }, null)] // output_padding, no pads
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, null, null, new long[] { 10, 9 })] // output_shape
    [InlineData(new long[] { 1, 4, 5, 5 }, new long[] { 4, 3, 3, 3 }, 1, new long[] { 2, 2 }, null, new long[] { 1, 1 }, new long[] { 12, 11 })] // output_shape + output_padding
    [InlineData(new long[] { 2, 4, 5, 5 }, new long[] { 4, 2, 3, 3 }, 2, new long[] { 2, 2 }, new long[] { 1, 1, 1, 1 }, null, null)] // group
    [InlineData(new long[] { 2, 4, 5, 5 }, new long[] { 4, 1, 3, 3 }, 4, new long[] { 1, 1 }, null, null, null)] // depthwise
    [InlineData(new long[] { 2, 3, 7 }, new long[] { 3, 2, 4 }, 1, new long[] { 2 }, new long[] { 1, 2 }, null, null)] // 1-D
    [InlineData(new long[] { 2, 3, 7 }, new long[] { 3, 2, 3 }, 1, new long[] { 3 }, null, new long[] { 1 }, null)] // 1-D output_padding
    [InlineData(new long[] { 1, 2, 3, 4, 3 }, new long[] { 2, 2, 2, 3, 2 }, 1, new long[] { 2, 1, 2 }, new long[] { 0, 1, 0, 0, 1, 1 }, null, null)] // 3-D
    public void ConvTranspose(long[] x, long[] w, long group, long[]? strides, long[]? pads, long[]? outputPadding, long[]? outputShape) =>
        Check("ConvTranspose", x, w, w[1] * group, ("group", group), ("strides", strides), ("pads", pads),
            ("output_padding", outputPadding), ("output_shape", outputShape));

    [Theory]
    [InlineData("SAME_UPPER", new long[] { 2, 2 })]
    [InlineData("SAME_LOWER", new long[] { 2, 2 })]
    [InlineData("SAME_UPPER", new long[] { 3, 2 })] // odd total pads
    [InlineData("SAME_LOWER", new long[] { 3, 2 })]
    [InlineData("VALID", new long[] { 2, 3 })]
    public void ConvTransposeAutoPad(string autoPad, long[] strides) =>
        Check("ConvTranspose", [1, 4, 5, 4], [4, 3, 4, 3], 3, ("auto_pad", autoPad), ("strides", strides));

    [Fact]
    public void ConvTransposeWithDilations() =>
        Check("ConvTranspose", [1, 3, 4, 5], [3, 2, 3, 3], 2, ("strides", new long[] { 2, 1 }), ("dilations", new long[] { 2, 2 }),
            ("pads", new long[] { 1, 0, 1, 2 }));
}
