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
    public void A_server_reads_external_data_anew_for_every_copy_of_a_model()
    {
        // Two byte-identical model files, one beside its weights, one beside a link out of its folder: the model file's hash is
        // the same, so a cache keyed by it must not hand the second the first one's (checked) weights.
        var good = Save(WithExternalBias(null, "16"), "model.onnx");
        File.WriteAllBytes(Path.Combine(_dir, "weights.bin"), new byte[16]);
        var other = Directory.CreateTempSubdirectory("onnx-gradsign-copy").FullName;
        var outside = Directory.CreateTempSubdirectory("onnx-gradsign-outside").FullName;
        try
        {
            File.Copy(good, Path.Combine(other, "model.onnx"));
            File.WriteAllBytes(Path.Combine(outside, "weights.bin"), new byte[16]);
            File.CreateSymbolicLink(Path.Combine(other, "weights.bin"), Path.Combine(outside, "weights.bin"));
            var cache = new ModelCache(4);
            var sha = ModelFiles.Sha256(good);
            Assert.True(cache.Get(good, sha).HasExternalData);
            var copy = cache.Get(Path.Combine(other, "model.onnx"), sha);
            var e = Assert.ThrowsAny<OnnxModelException>(() => OnnxImporter.Import(copy, new ImportOptions(WeightInit.Keep)));
            Assert.Contains("outside the model's folder", e.Message);
        }
        finally
        {
            Directory.Delete(other, recursive: true);
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void External_data_that_a_link_takes_outside_the_model_folder_is_refused()
    {
        // A file outside the model's folder, reached through a linked file and through a linked folder: ONNX's checker refuses
        // both, and reading them would let any server client read any file.
        var outside = Directory.CreateTempSubdirectory("onnx-gradsign-outside").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(outside, "weights.bin"), new byte[16]);
            File.CreateSymbolicLink(Path.Combine(_dir, "weights.bin"), Path.Combine(outside, "weights.bin"));
            var e = Fails(Save(WithExternalBias(null, "16"), "linked_file.onnx"));
            Assert.Contains("outside the model's folder", e.Message);
            Assert.Contains("'bias'", e.Message);

            File.Delete(Path.Combine(_dir, "weights.bin"));
            Directory.CreateSymbolicLink(Path.Combine(_dir, "data"), outside);
            var model = WithExternalBias(null, "16");
            model.Graph.Initializer[0].ExternalData[0].Value = "data/weights.bin";
            Assert.Contains("outside the model's folder", Fails(Save(model, "linked_folder.onnx")).Message);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Links_fifos_and_devices_as_the_model_are_errors_not_hangs()
    {
        File.CreateSymbolicLink(Path.Combine(_dir, "dangling.onnx"), "/nonexistent/model.onnx");
        Assert.Contains("symbolic link to the missing", Fails(Path.Combine(_dir, "dangling.onnx")).Message);
        File.CreateSymbolicLink(Path.Combine(_dir, "a.onnx"), "b.onnx");
        File.CreateSymbolicLink(Path.Combine(_dir, "b.onnx"), "a.onnx");
        Assert.Contains("symbolic links", Fails(Path.Combine(_dir, "a.onnx")).Message);
        File.CreateSymbolicLink(Path.Combine(_dir, "zero.onnx"), "/dev/zero");
        Assert.Contains("not a regular file", Fails(Path.Combine(_dir, "zero.onnx")).Message);
        var fifo = Path.Combine(_dir, "fifo.onnx");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo)) mkfifo.WaitForExit();
        Assert.Contains("not a regular file", Fails(fifo).Message);
        Directory.CreateDirectory(Path.Combine(_dir, "folder.onnx"));
        Assert.Contains("a folder", Fails(Path.Combine(_dir, "folder.onnx")).Message);
    }

    [Fact]
    public void A_folder_search_does_not_follow_a_link_to_an_ancestor_and_skips_folders_named_onnx()
    {
        File.WriteAllBytes(Path.Combine(_dir, "m.onnx"), [1]);
        Directory.CreateDirectory(Path.Combine(_dir, "x.onnx"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "up"), _dir);
        Assert.Equal([Path.Combine(_dir, "m.onnx")], ModelFiles.Expand([_dir]));
        Assert.Throws<FileNotFoundException>(() => ModelFiles.Expand([Path.Combine(_dir, "x.onnx")])); // an empty folder
    }

    /// <summary>A Conv model whose weight is [out, 1, 3, 3].</summary>
    private static ModelProto ConvModel(long outChannels, params long[] kernel)
    {
        var model = ReluModel();
        model.Graph.Node.Clear();
        var conv = Node("conv1", "Conv", ["x", "w"], ["y"]);
        if (kernel.Length > 0) conv.Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Ints, Ints = { kernel } });
        model.Graph.Node.Add(conv);
        var weight = new TensorProto { Name = "w", DataType = 1, Dims = { outChannels, 1, 3, 3 } };
        weight.FloatData.AddRange(new float[outChannels * 9]);
        model.Graph.Initializer.Add(weight);
        return model;
    }

    public static IEnumerable<object[]> CheckerCases()
    {
        var twice = ReluModel();
        twice.OpsetImport.Add(new OperatorSetIdProto { Domain = "ai.onnx", Version = 13 });
        yield return [twice, "domain 'ai.onnx' twice", null!];
        var none = ReluModel();
        none.OpsetImport.Clear();
        yield return [none, "requires opset_import", null!];
        var empty = ReluModel();
        empty.Graph.Node.Clear();
        yield return [empty, "no nodes", null!];
        var extra = ReluModel();
        extra.Graph.Node[0].Input.Add("x");
        yield return [extra, "Relu-14 takes 1 input(s), this node has 2", "relu1"];
        var attribute = ConvModel(2, 3, 3);
        attribute.Graph.Node[0].Attribute.Add(attribute.Graph.Node[0].Attribute[0].Clone());
        yield return [attribute, "'kernel_shape' is given 2 times", "conv1"];
        yield return [ConvModel(2, 0, 3), "must be positive", "conv1"];
        yield return [ConvModel(2, 1_000_000_000, 3), "contradicts weight", "conv1"];
        yield return [ConvModel(2, 5, 5), "contradicts weight", "conv1"];
        yield return [ConvModel(0), "no channels", "conv1"];
        var wrongType = ConvModel(2);
        wrongType.Graph.Node[0].Attribute.Add(new AttributeProto { Name = "kernel_shape", Type = AttributeProto.Types.AttributeType.Float, F = 3 });
        yield return [wrongType, "'kernel_shape' of Conv must be Ints, it is Float", "conv1"];
        var noAxis = ReluModel();
        noAxis.Graph.Node[0].OpType = "Concat";
        yield return [noAxis, "Concat-13 requires attribute 'axis'", "relu1"];
        var twoOutputs = ReluModel();
        twoOutputs.Graph.Node[0].Output.Add("extra");
        yield return [twoOutputs, "Relu-14 gives 1 output(s), this node has 2", "relu1"];
    }

    [Theory]
    [MemberData(nameof(CheckerCases))]
    public void Structure_is_checked_like_onnx_checker_before_anything_runs(ModelProto model, string expected, string? node)
    {
        var path = Save(model, "checked.onnx");
        var e = Assert.Throws<OnnxModelException>(() => OnnxModel.Load(path));
        Assert.Contains(expected, e.Message);
        Assert.Contains(path, e.Message);
        Assert.Equal(node, e.Node);
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
