using OnnxGradSign.Verification;
using Xunit;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import.Ops;

public class TensorTests
{
    /// <summary>One node over x [2,3,4,5] and integer initializers (shapes, axes, indices) given by name.</summary>
    private static void Check(long opset, string op, (string Name, long[] Values, long[] Dims)[] constants, object[] attributes,
        long[]? x = null, DataType output = DataType.Float)
    {
        var graph = new TestGraph(opset).Input("x", x ?? [2, 3, 4, 5]);
        foreach (var (name, values, dims) in constants) graph.Initializer(name, values, dims);
        graph.Node(op, ["x", .. constants.Select(c => c.Name)], ["y"], TestGraph.Pairs(attributes))
            .Output("y", output)
            .AssertMatchesOrt(name: op);
    }

    private static (string, long[], long[]) Ints(string name, params long[] values) => (name, values, [values.Length]);

    [Theory]
    [InlineData(0L)]
    [InlineData(1L)]
    [InlineData(2L)]
    [InlineData(-1L)]
    public void Flatten(long axis) => Check(13, "Flatten", [], ["axis", axis]);

    [Theory]
    [InlineData(new long[] { 0, -1 })]
    [InlineData(new long[] { 4, 0, 10 })]
    [InlineData(new long[] { -1, 0, 0, 1 })]
    [InlineData(new long[] { 2, 3, 20 })]
    public void Reshape(long[] shape) => Check(14, "Reshape", [Ints("shape", shape)], []);

    /// <summary>Checked on our side only: the oracle cannot hand ONNX Runtime an empty tensor (TorchSharp's data&lt;T&gt;().ToArray() throws).</summary>
    [Fact]
    public void ReshapeAllowZeroKeepsEmptyAxes()
    {
        using var imported = new TestGraph(14).Input("x", [0, 4]).Initializer("shape", [4, 0], 2)
            .Node("Reshape", ["x", "shape"], ["y"], ("allowzero", 1L)).Output("y")
            .Import();
        Assert.Equal([4L, 0L], imported.forward([zeros(0, 4)])[0].shape);
    }

    [Fact]
    public void ReshapeAllowZeroWithoutZeros() => Check(14, "Reshape", [Ints("shape", 6, -1)], ["allowzero", 1L]);

    [Theory]
    [InlineData(new long[] { 0, 2, 3, 1 })]
    [InlineData(new long[] { 3, 1, 0, 2 })]
    [InlineData(null)] // reverses the axes
    public void Transpose(long[]? perm) => Check(13, "Transpose", [], perm is null ? [] : ["perm", perm]);

    [Theory]
    [InlineData(new long[] { 1, 3 })]
    [InlineData(new long[] { -1 })]
    [InlineData(null)] // every unit axis
    public void SqueezeAttribute(long[]? axes) => Check(11, "Squeeze", [], axes is null ? [] : ["axes", axes], x: [2, 1, 3, 1]);

    [Theory]
    [InlineData(new long[] { 1, 3 })]
    [InlineData(new long[] { -1 })]
    [InlineData(null)]
    public void SqueezeInput(long[]? axes) => Check(13, "Squeeze", axes is null ? [] : [Ints("axes", axes)], [], x: [2, 1, 3, 1]);

    [Theory]
    [InlineData(new long[] { 0, 3 })]
    [InlineData(new long[] { -1 })]
    [InlineData(new long[] { 4, 1 })]
    public void UnsqueezeAttribute(long[] axes) => Check(11, "Unsqueeze", [], ["axes", axes], x: [2, 3, 4]);

    [Theory]
    [InlineData(new long[] { 0, 3 })]
    [InlineData(new long[] { 1, -1 })]
    public void UnsqueezeInput(long[] axes) => Check(13, "Unsqueeze", [Ints("axes", axes)], [], x: [2, 3, 4]);

    [Theory]
    [InlineData(1L)]
    [InlineData(-1L)]
    public void Concat(long axis) =>
        new TestGraph(13).Input("a", 2, 3, 4).Input("b", 2, 3, 4).RandomInitializer("c", 2, 3, 4)
            .Node("Concat", ["a", "b", "c"], ["y"], ("axis", axis))
            .Output("y")
            .AssertMatchesOrt();

    /// <summary>Split of x [2,6,7] into as many outputs as `outputs` names; every piece is compared.</summary>
    private static void CheckSplit(long opset, int outputs, long[]? splitInput, params (string, object)[] attributes)
    {
        var graph = new TestGraph(opset).Input("x", 2, 6, 7);
        if (splitInput is not null) graph.Initializer("split", splitInput, splitInput.Length);
        var names = Enumerable.Range(0, outputs).Select(k => $"y{k}").ToArray();
        graph.Node("Split", splitInput is null ? ["x"] : ["x", "split"], names, attributes);
        foreach (var name in names) graph.Output(name);
        graph.AssertMatchesOrt(name: "Split");
    }

    [Fact]
    public void SplitAttribute() => CheckSplit(11, 3, null, ("axis", 1L), ("split", new long[] { 2, 3, 1 }));

    [Fact]
    public void SplitEqually() => CheckSplit(11, 3, null, ("axis", 1L));

    [Fact]
    public void SplitInput() => CheckSplit(13, 2, [5, 2], ("axis", -1L));

    [Theory]
    [InlineData(2L, 1L)]
    [InlineData(3L, -1L)] // 7 into 3, 3, 1: the last piece is smaller
    [InlineData(4L, 2L)] // 7 into 2, 2, 2, 1
    public void SplitNumOutputs(long numOutputs, long axis) => CheckSplit(18, (int)numOutputs, null, ("axis", axis), ("num_outputs", numOutputs));

    private static void CheckSlice(long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        (string, long[], long[])[] inputs = [Ints("starts", starts), Ints("ends", ends)];
        if (axes is not null) inputs = [.. inputs, Ints("axes", axes)];
        if (steps is not null) inputs = [.. inputs, Ints("steps", steps)];
        Check(13, "Slice", inputs, [], x: [5, 6, 7]);
    }

    [Theory]
    [InlineData(new long[] { 1, 0 }, new long[] { 4, 5 }, null, null)]
    [InlineData(new long[] { -4, 2 }, new long[] { -1, 100 }, new long[] { 1, 2 }, null)] // negative starts/ends, end past the axis
    [InlineData(new long[] { 0, 1 }, new long[] { 7, -1 }, new long[] { -1, 0 }, new long[] { 2, 3 })] // steps, negative axis
    [InlineData(new long[] { -1 }, new long[] { long.MinValue }, new long[] { 2 }, new long[] { -1 })] // full reverse
    [InlineData(new long[] { 5, 4 }, new long[] { 0, -100 }, new long[] { 1, 0 }, new long[] { -2, -1 })] // negative steps
    [InlineData(new long[] { 100 }, new long[] { 2 }, new long[] { 1 }, new long[] { -1 })] // start past the end, negative step
    [InlineData(new long[] { -10 }, new long[] { -100 }, new long[] { 1 }, new long[] { -1 })] // start before the beginning, negative step
    [InlineData(new long[] { 3 }, new long[] { 1 }, new long[] { 2 }, null)] // empty
    public void Slice(long[] starts, long[] ends, long[]? axes, long[]? steps) => CheckSlice(starts, ends, axes, steps);

    [Theory]
    [InlineData(0L, new long[] { 0, -1, 1, -2 }, new long[] { 2, 2 })]
    [InlineData(1L, new long[] { -1, 0, -3 }, new long[] { 3 })]
    [InlineData(-1L, new long[] { 4, -5 }, new long[] { 2 })]
    [InlineData(2L, new long[] { 1 }, new long[0])] // scalar index drops the axis
    public void Gather(long axis, long[] indices, long[] indexShape) =>
        Check(13, "Gather", [("indices", indices, indexShape)], ["axis", axis]);

    /// <summary>ScatterND into x [4,3,2]: index rows of length k address slices, updates [rows…, x.shape[k..]…] replace or combine.</summary>
    [Theory]
    [InlineData(11L, "none", new long[] { 1, 3 }, new long[] { 2, 1 })]
    [InlineData(11L, "none", new long[] { 0, 1, -1, 0, 2, 2 }, new long[] { 3, 2 })] // negative index counts from the end
    [InlineData(13L, "none", new long[] { 0, 1, 1, 3, 2, 0 }, new long[] { 2, 3 })] // whole-element rows
    [InlineData(11L, "none", new long[] { 1, 0, 2, 3 }, new long[] { 2, 2, 1 })] // rows in a 2-D grid of index rows
    [InlineData(16L, "add", new long[] { 1, 1, 0, 1 }, new long[] { 4, 1 })] // repeated rows add up
    [InlineData(16L, "mul", new long[] { 2, 0, 2 }, new long[] { 3, 1 })]
    [InlineData(18L, "max", new long[] { 3, 1, 3, 3 }, new long[] { 4, 1 })]
    [InlineData(18L, "min", new long[] { 0, 2, 0, 2 }, new long[] { 2, 2 })]
    public void ScatterND(long opset, string reduction, long[] indices, long[] indexShape)
    {
        long[] data = [4, 3, 2];
        long[] updates = [.. indexShape[..^1], .. data[(int)indexShape[^1]..]];
        var attributes = reduction == "none" ? Array.Empty<(string, object)>() : [("reduction", reduction)];
        new TestGraph(opset).Input("x", data).Input("u", updates).Initializer("indices", indices, indexShape)
            .Node("ScatterND", ["x", "indices", "u"], ["y"], attributes)
            .Output("y")
            .AssertMatchesOrt();
    }

    [Theory]
    [InlineData(new long[] { 3, 1 }, new long[] { 2, 3, 4 })]
    [InlineData(new long[] { 1, 3, 1 }, new long[] { 2, 1, 4 })] // both sides broadcast
    [InlineData(new long[] { 2, 3 }, new long[] { 1 })] // a smaller shape keeps the input
    public void Expand(long[] x, long[] shape) => Check(13, "Expand", [Ints("shape", shape)], [], x: x);

    [Fact]
    public void Tile() => Check(13, "Tile", [Ints("repeats", 2, 1, 3)], [], x: [2, 3, 4]);

    /// <summary>x.view(x.size(0), -1) as PyTorch exports it: Shape, Gather, Unsqueeze, Concat with [-1], Reshape.</summary>
    [Theory]
    [InlineData(11)]
    [InlineData(13)]
    public void ShapeChainFlattensBatch(long opset)
    {
        var graph = new TestGraph(opset).Input("x", 2, 3, 4, 5)
            .Initializer("zero", [0L]).Initializer("minusOne", [-1L], 1)
            .Node("Shape", "x", "shape")
            .Node("Gather", ["shape", "zero"], ["batch"], ("axis", 0L));
        if (opset >= 13) graph.Initializer("axes", [0L], 1).Node("Unsqueeze", ["batch", "axes"], ["batch1"]);
        else graph.Node("Unsqueeze", "batch", "batch1", ("axes", new long[] { 0 }));
        graph.Node("Concat", ["batch1", "minusOne"], ["target"], ("axis", 0L))
            .Node("Reshape", ["x", "target"], ["y"])
            .Output("y")
            .AssertMatchesOrt();
    }

    [Fact]
    public void ShapeWithStartAndEnd() => Check(15, "Shape", [], ["start", 1L, "end", -1L], output: DataType.Int64);

    [Fact]
    public void ConstantOfShapeFloat() =>
        new TestGraph(9).Input("x", 2, 3)
            .Node("Shape", "x", "shape").Node("ConstantOfShape", "shape", "y", ("value", tensor(new[] { 1.5f })))
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void ConstantOfShapeInt64() =>
        new TestGraph(9).Input("x", 2, 3)
            .Node("Shape", "x", "shape").Node("ConstantOfShape", "shape", "y", ("value", tensor(new[] { 7L })))
            .Output("y", DataType.Int64)
            .AssertMatchesOrt();

    [Fact]
    public void ConstantOfShapeDefaultsToFloatZeros() =>
        new TestGraph(9).Input("x", 2, 3)
            .Node("Shape", "x", "shape").Node("ConstantOfShape", "shape", "zeros").Node("Add", ["x", "zeros"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void RangeOfFloats() =>
        new TestGraph(11).Input("x", 4)
            .Initializer("start", [0.5f]).Initializer("limit", [3.2f]).Initializer("delta", [0.7f])
            .Node("Range", ["start", "limit", "delta"], ["r"]).Node("Add", ["x", "r"], ["y"])
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void RangeUpToARuntimeSize() =>
        new TestGraph(11).Input("x", 2, 5)
            .Initializer("one", [1L]).Initializer("start", [4L]).Initializer("delta", [-1L])
            .Node("Shape", "x", "shape").Node("Gather", ["shape", "one"], ["n"])
            .Node("Range", ["n", "start", "delta"], ["y"]) // counts down from 5 to 4: one element
            .Output("y", DataType.Int64)
            .AssertMatchesOrt();

    [Fact]
    public void Identity() => Check(16, "Identity", [], []);

    [Theory]
    [InlineData(DataType.Int64)]
    [InlineData(DataType.Int32)]
    [InlineData(DataType.Double)]
    [InlineData(DataType.Bool)]
    public void Cast(DataType to) => Check(13, "Cast", [], ["to", (long)to], output: to);

    [Fact]
    public void CastBoolToFloat() =>
        new TestGraph(13).Input("a", 2, 3).Input("b", 2, 3)
            .Node("Less", ["a", "b"], ["less"]).Node("Cast", "less", "y", ("to", (long)DataType.Float))
            .Output("y")
            .AssertMatchesOrt();

    /// <summary>We run Dropout as the identity even in training mode; the oracle switches training off, so both give the input back.</summary>
    [Fact]
    public void DropoutInTrainingModeIsTheIdentity()
    {
        var graph = new TestGraph(13).Input("x", 2, 3, 4)
            .Initializer("ratio", tensor(0.5f)).Initializer("training", tensor(true))
            .Node("Dropout", ["x", "ratio", "training"], ["y", "mask"])
            .Output("y").Output("mask", DataType.Bool);
        using var imported = graph.Import();
        var inputs = TestGraph.RandomInputs(imported.Source);
        var results = ModelVerifier.Compare(imported, inputs, new Tolerance(0, 0));
        Assert.All(results, r => Assert.True(r.WithinTolerance, $"{r.Output}: max abs {r.MaxAbsoluteError}"));
        var y = imported.forward([.. inputs])[0];
        Assert.Equal(inputs[0].shape, y.shape);
        Assert.Equal(inputs[0].data<float>().ToArray(), y.data<float>().ToArray());
    }

    [Theory]
    [InlineData(1L)]
    [InlineData(-1L)]
    public void GatherElements(long axis) =>
        Check(13, "GatherElements", [("indices", [0, -1, 2, 1, -3, 0], [1, 2, 3])], ["axis", axis], x: [3, 4, 3]);

    [Fact]
    public void Einsum() =>
        new TestGraph(12).Input("a", 2, 3, 4).Input("b", 2, 4, 5)
            .Node("Einsum", ["a", "b"], ["y"], ("equation", "bij,bjk->bik"))
            .Output("y")
            .AssertMatchesOrt();

    [Fact]
    public void SizeAndCastLike() =>
        new TestGraph(15).Input("x", 2, 3, 4)
            .Node("Size", "x", "n").Node("CastLike", ["n", "x"], ["nf"]).Node("Mul", ["x", "nf"], ["y"])
            .Output("y")
            .AssertMatchesOrt();
}
