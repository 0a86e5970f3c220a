using System.Runtime.CompilerServices;
using Google.Protobuf;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using OnnxGradSign.Verification;
using Xunit;
using static TorchSharp.torch;
using DataType = OnnxGradSign.Onnx.Proto.TensorProto.Types.DataType;

namespace OnnxGradSign.Tests.Import;

/// <summary>
/// A fluent builder of small ONNX models for op-level tests, and the checks run on them: import with the file's weights,
/// run both engines on seeded random inputs, and require every output to agree with ONNX Runtime.
/// </summary>
public sealed class TestGraph
{
    public static readonly Tolerance Tolerance = new(1e-4, 1e-5);

    private readonly Generator _weights = new(20240601);

    public ModelProto Proto { get; }
    private GraphProto Graph => Proto.Graph;

    public TestGraph(long opset, string producer = "onnx-gradsign-tests")
    {
        Proto = new ModelProto { IrVersion = 8, ProducerName = producer, Graph = new GraphProto { Name = "test" } };
        Opset("", opset);
    }

    public TestGraph Opset(string domain, long version)
    {
        Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = domain, Version = version });
        return this;
    }

    public TestGraph Input(string name, params long[] shape) => Input(name, DataType.Float, shape);

    public TestGraph Input(string name, DataType type, params long[] shape)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = new TensorShapeProto() };
        foreach (var d in shape) tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        Graph.Input.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } });
        return this;
    }

    /// <summary>A graph output; its element type is needed by ONNX Runtime, its shape is left to inference unless given.</summary>
    public TestGraph Output(string name, DataType type = DataType.Float, long[]? shape = null)
    {
        var tensorType = new TypeProto.Types.Tensor { ElemType = (int)type };
        if (shape is not null)
        {
            tensorType.Shape = new TensorShapeProto();
            foreach (var d in shape) tensorType.Shape.Dim.Add(new TensorShapeProto.Types.Dimension { DimValue = d });
        }
        Graph.Output.Add(new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = tensorType } });
        return this;
    }

    public TestGraph Initializer(string name, float[] values, params long[] dims) => Initializer(name, tensor(values, dims));

    public TestGraph Initializer(string name, long[] values, params long[] dims) => Initializer(name, tensor(values, dims));

    public TestGraph Initializer(string name, Tensor value)
    {
        Graph.Initializer.Add(TensorData.FromTensor(value, name));
        return this;
    }

    /// <summary>A float initializer of standard normal values drawn from this graph's own seeded stream.</summary>
    public TestGraph RandomInitializer(string name, params long[] dims) => Initializer(name, randn(dims, generator: _weights));

    public TestGraph Node(string op, string input, string output, params (string Name, object Value)[] attributes) =>
        Node(op, [input], [output], attributes);

    /// <summary>A node; attribute values map to ONNX types by their C# type (long/int, long[], float/double, float[], string, string[], Tensor, TestGraph).</summary>
    public TestGraph Node(string op, string[] inputs, string[] outputs, params (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{Graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes.Select(a => Attribute(a.Name, a.Value)));
        Graph.Node.Add(node);
        return this;
    }

    /// <summary>Attributes written flat as name, value, name, value… (the form [InlineData] can carry).</summary>
    public static (string Name, object Value)[] Pairs(object[] nameValues) =>
        Enumerable.Range(0, nameValues.Length / 2).Select(k => ((string)nameValues[2 * k], nameValues[2 * k + 1])).ToArray();

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int or long:
                a.Type = AttributeProto.Types.AttributeType.Int;
                a.I = Convert.ToInt64(value);
                break;
            case float or double:
                a.Type = AttributeProto.Types.AttributeType.Float;
                a.F = Convert.ToSingle(value);
                break;
            case string s:
                a.Type = AttributeProto.Types.AttributeType.String;
                a.S = ByteString.CopyFromUtf8(s);
                break;
            case string[] strings:
                a.Type = AttributeProto.Types.AttributeType.Strings;
                a.Strings.AddRange(strings.Select(ByteString.CopyFromUtf8));
                break;
            case long[] ints:
                a.Type = AttributeProto.Types.AttributeType.Ints;
                a.Ints.AddRange(ints);
                break;
            case float[] floats:
                a.Type = AttributeProto.Types.AttributeType.Floats;
                a.Floats.AddRange(floats);
                break;
            case Tensor t:
                a.Type = AttributeProto.Types.AttributeType.Tensor;
                a.T = TensorData.FromTensor(t, name);
                break;
            case TestGraph subgraph: // an If branch, a Loop or Scan body: its graph (its own opset import is not part of it)
                a.Type = AttributeProto.Types.AttributeType.Graph;
                a.G = subgraph.Proto.Graph;
                break;
            default:
                throw new ArgumentException($"attribute '{name}': no ONNX type for {value.GetType().Name}");
        }
        return a;
    }

    public OnnxModel Build([CallerMemberName] string name = "test") => OnnxModel.FromProto(Proto, name + ".onnx");

    public ImportedModel Import(WeightInit init = WeightInit.Keep, [CallerMemberName] string name = "test") =>
        OnnxImporter.Import(Build(name), new ImportOptions(init));

    /// <summary>
    /// Seeded inputs laid out as the graph declares them: standard normal floats, random bools, small non-negative integers;
    /// `given` overrides inputs by name.
    /// </summary>
    public static List<Tensor> RandomInputs(OnnxModel model, long seed = 7, IReadOnlyDictionary<string, Tensor>? given = null)
    {
        var generator = new Generator((ulong)seed);
        return model.Inputs.Select(input =>
        {
            if (given?.TryGetValue(input.Name, out var value) == true) return value;
            var shape = input.Type.TensorType.Shape.Dim.Select(d => d.DimValue).ToArray();
            var type = TensorData.TorchType((DataType)input.Type.TensorType.ElemType);
            return type switch
            {
                ScalarType.Float32 or ScalarType.Float64 => randn(shape, type, generator: generator),
                ScalarType.Bool => randint(0, 2, shape, generator: generator).to_type(ScalarType.Bool),
                _ => randint(0, 4, shape, generator: generator).to_type(type),
            };
        }).ToList();
    }

    /// <summary>Imports the graph with its own weights and asserts that every output agrees with ONNX Runtime on seeded random inputs.</summary>
    public void AssertMatchesOrt(IReadOnlyDictionary<string, Tensor>? given = null, [CallerMemberName] string name = "test")
    {
        var model = Build(name);
        using var imported = OnnxImporter.Import(model, new ImportOptions(WeightInit.Keep));
        var results = ModelVerifier.Compare(imported, RandomInputs(model, given: given), Tolerance);
        Assert.Equal(model.Outputs.Count, results.Count);
        Assert.True(results.All(r => r.WithinTolerance), string.Join("\n", results.Select(r =>
            $"{r.Output} [{string.Join(",", r.Shape)}]: max abs {r.MaxAbsoluteError:G4}, max rel {r.MaxRelativeError:G4}{(r.WithinTolerance ? "" : "  <-- off")}")));
    }
}
