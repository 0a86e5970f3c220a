using Google.Protobuf;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Onnx;

public class TensorDataTests
{
    private static TensorProto Raw(TensorProto.Types.DataType type, byte[] bytes, params long[] dims)
    {
        var proto = new TensorProto { Name = "t", DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        proto.Dims.AddRange(dims);
        return proto;
    }

    [Fact]
    public void Half_precision_types_widen_to_float32()
    {
        var halves = new[] { (Half)1.5, (Half)(-2.25) }.SelectMany(h => BitConverter.GetBytes(BitConverter.HalfToUInt16Bits(h))).ToArray();
        var f16 = TensorData.ToTensor(Raw(TensorProto.Types.DataType.Float16, halves, 2));
        Assert.Equal(ScalarType.Float32, f16.dtype);
        Assert.Equal([1.5f, -2.25f], f16.data<float>().ToArray());

        // bfloat16 is the top half of a float32.
        var bf16 = new[] { 3.0f, -0.5f }.SelectMany(f => BitConverter.GetBytes((ushort)(BitConverter.SingleToInt32Bits(f) >> 16))).ToArray();
        Assert.Equal([3.0f, -0.5f], TensorData.ToTensor(Raw(TensorProto.Types.DataType.Bfloat16, bf16, 2)).data<float>().ToArray());
    }

    [Fact]
    public void Typed_fields_and_raw_data_agree()
    {
        var typed = new TensorProto { DataType = (int)TensorProto.Types.DataType.Int64 };
        typed.Dims.Add(3);
        typed.Int64Data.AddRange([5, -6, 7]);
        var raw = Raw(TensorProto.Types.DataType.Int64, new long[] { 5, -6, 7 }.SelectMany(BitConverter.GetBytes).ToArray(), 3);
        Assert.Equal(TensorData.ToTensor(typed).data<long>().ToArray(), TensorData.ToTensor(raw).data<long>().ToArray());

        var doubles = new TensorProto { DataType = (int)TensorProto.Types.DataType.Double };
        doubles.Dims.AddRange([1, 2]);
        doubles.DoubleData.AddRange([0.25, 1e300]);
        Assert.Equal([0.25, 1e300], TensorData.ToTensor(doubles).data<double>().ToArray());
    }

    [Theory]
    [InlineData(TensorProto.Types.DataType.Int8, new[] { -3, 4 })]
    [InlineData(TensorProto.Types.DataType.Uint8, new[] { 200, 4 })]
    [InlineData(TensorProto.Types.DataType.Int32, new[] { -70000, 4 })]
    [InlineData(TensorProto.Types.DataType.Bool, new[] { 1, 0 })]
    public void Small_integer_types_read_from_int32_data(TensorProto.Types.DataType type, int[] values)
    {
        var proto = new TensorProto { DataType = (int)type };
        proto.Dims.Add(values.Length);
        proto.Int32Data.AddRange(values);
        var t = TensorData.ToTensor(proto);
        Assert.Equal(values.Select(v => (long)v), t.to_type(ScalarType.Int64).data<long>().ToArray());
    }

    [Fact]
    public void Too_few_values_for_the_dims_is_an_error()
    {
        var e = Assert.Throws<InvalidDataException>(() => TensorData.ToTensor(Raw(TensorProto.Types.DataType.Float, new byte[8], 3)));
        Assert.Contains("12", e.Message);
    }
}
