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

    [Theory]
    [InlineData(new long[] { 2, 3, 4, 5 }, 2L)]
    [InlineData(new long[] { 2, 3, 7 }, 3L)]
    public void GlobalLpPool(long[] x, long p) => Check("GlobalLpPool", 2, x, ["p", p]);

    [Theory]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "p", 2L)]
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 3, 2 }, "pads", new long[] { 1, 0, 1, 1 }, "p", 3L)] // asymmetric
    [InlineData(new long[] { 2, 3, 11 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 1, 1 }, "p", 1L)] // 1-D
    public void LpPool(long[] x, params object[] attributes) => Check("LpPool", 11, x, attributes);

    [Theory]
    [InlineData(new long[] { 2, 3, 6, 7 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "pads", new long[] { 1, 1, 1, 1 })]
    [InlineData(new long[] { 1, 2, 7, 7 }, "kernel_shape", new long[] { 3, 3 }, "pads", new long[] { 0, 1, 2, 1 })] // asymmetric: padded beforehand
    [InlineData(new long[] { 1, 2, 7, 8 }, "kernel_shape", new long[] { 2, 3 }, "strides", new long[] { 2, 2 }, "storage_order", 1L)]
    [InlineData(new long[] { 1, 2, 8, 8 }, "kernel_shape", new long[] { 3, 3 }, "strides", new long[] { 2, 2 }, "ceil_mode", 1L)]
    [InlineData(new long[] { 2, 3, 11 }, "kernel_shape", new long[] { 3 }, "strides", new long[] { 2 }, "pads", new long[] { 1, 1 })] // 1-D
    [InlineData(new long[] { 1, 2, 5, 6, 7 }, "kernel_shape", new long[] { 2, 3, 2 }, "strides", new long[] { 2, 1, 2 })] // 3-D
    public void MaxPool_with_indices(long[] x, params object[] attributes) =>
        new TestGraph(12).Input("x", x)
            .Node("MaxPool", ["x"], ["y", "indices"], TestGraph.Pairs(attributes))
            .Output("y").Output("indices", OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType.Int64)
            .AssertMatchesOrt();

    /// <summary>MaxUnpool of what MaxPool kept (its indices are only meaningful so), to the pooled shape or to output_shape.</summary>
    [Theory]
    [InlineData(new long[] { 2, 3, 6, 6 }, null)]
    [InlineData(new long[] { 1, 2, 7, 7 }, new long[] { 1, 2, 7, 7 })] // output_shape restores the odd size
    [InlineData(new long[] { 1, 1, 4, 4 }, new long[] { 1, 1, 5, 5 })]
    public void MaxUnpool(long[] x, long[]? outputShape)
    {
        var graph = new TestGraph(11).Input("x", x)
            .Node("MaxPool", ["x"], ["pooled", "indices"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }));
        if (outputShape is not null) graph.Initializer("output_shape", outputShape, outputShape.Length);
        graph.Node("MaxUnpool", outputShape is null ? ["pooled", "indices"] : ["pooled", "indices", "output_shape"], ["y"],
                ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Output("y").AssertMatchesOrt();
    }

    [Fact]
    public void MaxUnpool_refuses_indices_outside_its_output_naming_the_node()
    {
        using var imported = new TestGraph(11).Input("x", 1, 1, 2, 2).Input("indices", OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType.Int64, 1, 1, 2, 2)
            .Node("MaxUnpool", ["x", "indices"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Output("y").Import();
        var e = Assert.ThrowsAny<Exception>(() => imported.forward([TorchSharp.torch.ones(1, 1, 2, 2), TorchSharp.torch.tensor(new long[] { 0, 1, 2, 16 }).reshape(1, 1, 2, 2)]));
        Assert.Contains("indices outside the 16 elements", e.Message);
    }

    [Fact]
    public void MaxUnpool_refuses_a_hostile_output_shape_naming_it()
    {
        using var imported = new TestGraph(11).Input("x", 1, 1, 2, 2).Input("indices", OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType.Int64, 1, 1, 2, 2)
            .Initializer("output_shape", new long[] { 1, 1, 1L << 20, 1L << 20 }, 4)
            .Node("MaxUnpool", ["x", "indices", "output_shape"], ["y"], ("kernel_shape", new long[] { 2, 2 }), ("strides", new long[] { 2, 2 }))
            .Output("y").Import();
        var e = Assert.ThrowsAny<Exception>(() => imported.forward([TorchSharp.torch.ones(1, 1, 2, 2), TorchSharp.torch.zeros(1, 1, 2, 2, TorchSharp.torch.ScalarType.Int64)]));
        Assert.Contains("output shape [1,1,1048576,1048576]", e.Message);
    }
}
