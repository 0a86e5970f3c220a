using Google.Protobuf;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Tests.Onnx;

/// <summary>Broken files give an error that names the file and the node at fault, never a crash or a hang.</summary>
public class MalformedModelTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-malformed").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static ModelProto ReluModel()
    {
        var graph = new GraphProto { Name = "g" };
        graph.Input.Add(FloatInput("x", 1, 4));
        graph.Output.Add(FloatInput("y", 1, 4));
        graph.Node.Add(Node("relu1", "Relu", ["x"], ["y"]));
        var model = new ModelProto { IrVersion = 8, ProducerName = "test", Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = 17 });
        return model;
    }

    private static ValueInfoProto FloatInput(string name, params long[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var d in dims) shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        return new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = 1, Shape = shape } } };
    }

    private static NodeProto Node(string name, string op, string[] inputs, string[] outputs)
    {
        var node = new NodeProto { Name = name, OpType = op };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        return node;
    }

    private string Save(ModelProto model, string name)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }

    private static OnnxModelException Fails(string path) =>
        Assert.ThrowsAny<OnnxModelException>(() => OnnxImporter.Import(OnnxModel.Load(path), new ImportOptions(WeightInit.Keep)));

    [Fact]
    public void Truncated_file_is_reported_as_corrupt()
    {
        var bytes = ReluModel().ToByteArray();
        var path = Path.Combine(_dir, "truncated.onnx");
        File.WriteAllBytes(path, bytes[..(bytes.Length / 2)]);
        var e = Fails(path);
        Assert.Contains(path, e.Message);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void Cycle_names_its_nodes()
    {
        var model = ReluModel();
        model.Graph.Node.Clear();
        model.Graph.Node.Add(Node("first", "Add", ["x", "b"], ["a"]));
        model.Graph.Node.Add(Node("second", "Relu", ["a"], ["b"]));
        model.Graph.Node.Add(Node("third", "Relu", ["a"], ["y"]));
        var e = Fails(Save(model, "cycle.onnx"));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("'first'", e.Message);
        Assert.Contains("'second'", e.Message);
    }

    [Fact]
    public void Unknown_ops_are_all_reported_at_once()
    {
        var model = ReluModel();
        model.Graph.Node.Clear();
        model.Graph.Node.Add(Node("mystery1", "FrobnicateA", ["x"], ["a"]));
        model.Graph.Node.Add(Node("mystery2", "FrobnicateB", ["a"], ["y"]));
        var e = Assert.IsType<UnsupportedOpsException>(Fails(Save(model, "unknown.onnx")));
        Assert.Equal(["mystery1", "mystery2"], e.Nodes.Select(n => n.Node));
        Assert.Contains("FrobnicateB", e.Message);
    }

    [Fact]
    public void Missing_initializer_names_the_node_and_the_value()
    {
        var model = ReluModel();
        model.Graph.Node.Clear();
        model.Graph.Node.Add(Node("add_bias", "Add", ["x", "bias"], ["y"]));
        var e = Fails(Save(model, "missing.onnx"));
        Assert.Equal("add_bias", e.Node);
        Assert.Contains("'bias'", e.Message);
    }

    /// <summary>A model adding a [1,4] float bias stored in weights.bin at the given offset and length.</summary>
    private static ModelProto WithExternalBias(string? offset, string length)
    {
        var model = ReluModel();
        model.Graph.Node.Clear();
        model.Graph.Node.Add(Node("add_bias", "Add", ["x", "bias"], ["y"]));
        var bias = new TensorProto { Name = "bias", DataType = 1, DataLocation = TensorProto.Types.DataLocation.External };
        bias.Dims.AddRange([1, 4]);
        bias.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "weights.bin" });
        if (offset is not null) bias.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset });
        bias.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length });
        model.Graph.Initializer.Add(bias);
        return model;
    }

    [Fact]
    public void External_data_of_the_wrong_length_is_reported()
    {
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), new byte[16]);
        var e = Fails(Save(WithExternalBias(null, "12"), "external.onnx")); // 4 floats need 16 bytes
        Assert.Contains("'bias'", e.Message);
        Assert.Contains("12 bytes", e.Message);
    }

    [Fact]
    public void External_data_is_read_relative_to_the_model()
    {
        var values = new float[] { 99, 1, 2, 3, 4 };
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), values.SelectMany(BitConverter.GetBytes).ToArray());
        var loaded = OnnxModel.Load(Save(WithExternalBias("4", "16"), "external_ok.onnx"));
        Assert.Equal([1f, 2, 3, 4], loaded.ReadInitializer("bias").data<float>().ToArray());
    }

    [Fact]
    public void A_file_that_is_not_onnx_is_rejected()
    {
        var path = Path.Combine(_dir, "text.onnx");
        File.WriteAllText(path, "this is not a model");
        Assert.Contains(path, Fails(path).Message);
    }

    [Fact]
    public void External_data_past_two_gigabytes_is_read()
    {
        // Models over protobuf's 2 GB limit keep their weights in external files: read a tensor 2.5 GB into a sparse file.
        const long offset = 5L << 29;
        var weights = Path.Combine(_dir, "weights.bin");
        using (var file = File.Create(weights))
        {
            file.SetLength(offset + 16);
            file.Seek(offset, SeekOrigin.Begin);
            file.Write(new float[] { 1, 2, 3, 4 }.SelectMany(BitConverter.GetBytes).ToArray());
        }
        var loaded = OnnxModel.Load(Save(WithExternalBias(offset.ToString(), "16"), "huge.onnx"));
        Assert.Equal([1f, 2, 3, 4], loaded.ReadInitializer("bias").data<float>().ToArray());
    }
}
