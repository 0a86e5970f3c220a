using Google.Protobuf;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Onnx;

/// <summary>Turns a TensorProto, in any of its storage forms, into a torch tensor (float16/bfloat16 are widened to float32).</summary>
public static class TensorData
{
    public static Tensor ToTensor(TensorProto proto, string? modelDirectory = null)
    {
        var dims = proto.Dims.ToArray();
        long count = dims.Aggregate(1L, (a, b) => a * b);
        var type = (TensorProto.Types.DataType)proto.DataType;
        var bytes = RawBytes(proto, modelDirectory);
        if (bytes is not null)
            return FromRaw(bytes, type, dims, count, proto.Name);

        return type switch
        {
            TensorProto.Types.DataType.Float => Check(proto, proto.FloatData.Count, count, () => tensor(proto.FloatData.ToArray(), dims)),
            TensorProto.Types.DataType.Double => Check(proto, proto.DoubleData.Count, count, () => tensor(proto.DoubleData.ToArray(), dims)),
            TensorProto.Types.DataType.Int64 => Check(proto, proto.Int64Data.Count, count, () => tensor(proto.Int64Data.ToArray(), dims)),
            TensorProto.Types.DataType.Int32 => Check(proto, proto.Int32Data.Count, count, () => tensor(proto.Int32Data.ToArray(), dims)),
            TensorProto.Types.DataType.Int16 or TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8
                or TensorProto.Types.DataType.Uint16
                => Check(proto, proto.Int32Data.Count, count, () => tensor(proto.Int32Data.ToArray(), dims).to_type(TorchType(type))),
            TensorProto.Types.DataType.Bool => Check(proto, proto.Int32Data.Count, count, () => tensor(proto.Int32Data.Select(v => v != 0).ToArray(), dims)),
            TensorProto.Types.DataType.Float16 => Check(proto, proto.Int32Data.Count, count,
                () => tensor(proto.Int32Data.Select(v => (float)BitConverter.UInt16BitsToHalf((ushort)v)).ToArray(), dims)),
            TensorProto.Types.DataType.Bfloat16 => Check(proto, proto.Int32Data.Count, count,
                () => tensor(proto.Int32Data.Select(v => BFloat16ToSingle((ushort)v)).ToArray(), dims)),
            TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64
                => Check(proto, proto.Uint64Data.Count, count, () => tensor(proto.Uint64Data.Select(v => checked((long)v)).ToArray(), dims)),
            _ => throw new InvalidDataException($"tensor '{proto.Name}': data type {type} is not supported"),
        };
    }

    /// <summary>The torch element type a tensor of this ONNX type becomes (half types are computed in float32).</summary>
    public static ScalarType TorchType(TensorProto.Types.DataType type) => type switch
    {
        TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 => ScalarType.Float32,
        TensorProto.Types.DataType.Double => ScalarType.Float64,
        TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint32 or TensorProto.Types.DataType.Uint64 => ScalarType.Int64,
        TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint16 => ScalarType.Int32,
        TensorProto.Types.DataType.Int16 => ScalarType.Int16,
        TensorProto.Types.DataType.Int8 => ScalarType.Int8,
        TensorProto.Types.DataType.Uint8 => ScalarType.Byte,
        TensorProto.Types.DataType.Bool => ScalarType.Bool,
        _ => throw new InvalidDataException($"ONNX data type {type} is not supported"),
    };

    /// <summary>The ONNX element type that holds a torch tensor of this type.</summary>
    public static TensorProto.Types.DataType OnnxType(ScalarType type) => type switch
    {
        ScalarType.Float32 => TensorProto.Types.DataType.Float,
        ScalarType.Float64 => TensorProto.Types.DataType.Double,
        ScalarType.Int64 => TensorProto.Types.DataType.Int64,
        ScalarType.Int32 => TensorProto.Types.DataType.Int32,
        ScalarType.Int16 => TensorProto.Types.DataType.Int16,
        ScalarType.Int8 => TensorProto.Types.DataType.Int8,
        ScalarType.Byte => TensorProto.Types.DataType.Uint8,
        ScalarType.Bool => TensorProto.Types.DataType.Bool,
        _ => throw new InvalidDataException($"torch type {type} has no ONNX counterpart here"),
    };

    /// <summary>A tensor as a TensorProto with raw_data (used to hand in-memory models to ONNX Runtime and to write test data).</summary>
    public static TensorProto FromTensor(Tensor t, string name)
    {
        using var cpu = t.detach().cpu().contiguous();
        var proto = new TensorProto { Name = name, DataType = (int)OnnxType(cpu.dtype) };
        proto.Dims.AddRange(cpu.shape);
        var bytes = new byte[cpu.NumberOfElements * cpu.ElementSize];
        cpu.bytes.CopyTo(bytes);
        proto.RawData = ByteString.CopyFrom(bytes);
        return proto;
    }

    public static float BFloat16ToSingle(ushort bits) => BitConverter.Int32BitsToSingle(bits << 16);

    private static Tensor Check(TensorProto proto, int stored, long expected, Func<Tensor> make)
    {
        if (stored != expected)
            throw new InvalidDataException($"tensor '{proto.Name}' holds {stored} values but its dims {Dims(proto)} need {expected}");
        return make();
    }

    private static string Dims(TensorProto proto) => "[" + string.Join(",", proto.Dims) + "]";

    /// <summary>raw_data, or the bytes an external-data tensor points at; null when the typed fields hold the values.</summary>
    private static byte[]? RawBytes(TensorProto proto, string? modelDirectory)
    {
        if (proto.DataLocation == TensorProto.Types.DataLocation.External || proto.ExternalData.Count > 0)
            return ExternalBytes(proto, modelDirectory);
        return proto.HasRawData ? proto.RawData.ToByteArray() : null;
    }

    private static byte[] ExternalBytes(TensorProto proto, string? modelDirectory)
    {
        var entries = proto.ExternalData.ToDictionary(e => e.Key, e => e.Value);
        if (!entries.TryGetValue("location", out var location) || string.IsNullOrEmpty(location))
            throw new InvalidDataException($"tensor '{proto.Name}' is stored externally but names no location");
        if (Path.IsPathRooted(location) || location.Split('/', '\\').Contains(".."))
            throw new InvalidDataException($"tensor '{proto.Name}': external data location '{location}' must stay inside the model's folder");
        var folder = modelDirectory ?? ".";
        var path = Path.Combine(folder, location);
        try
        {
            InputFiles.CheckReadable(path, "external data");
            // As ONNX's checker requires: after resolving links (the file's or a folder's on the way), the data stays in the model's folder.
            if (!InputFiles.IsInside(path, folder))
                throw new InvalidDataException($"'{location}' resolves to '{InputFiles.RealPath(path)}', outside the model's folder");
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            throw new InvalidDataException($"tensor '{proto.Name}': external data '{path}': {e.Message}", e);
        }
        long Number(string key) => long.TryParse(entries[key], out var v) ? v
            : throw new InvalidDataException($"tensor '{proto.Name}': external data {key} '{entries[key]}' is not a number");
        long offset = entries.ContainsKey("offset") ? Number("offset") : 0;
        using var stream = System.IO.File.OpenRead(path);
        long length = entries.ContainsKey("length") ? Number("length") : stream.Length - offset;
        if (offset < 0 || length < 0 || length > stream.Length - offset)
            throw new InvalidDataException(
                $"tensor '{proto.Name}': external data [{offset}, {offset + length}) lies outside '{path}' ({stream.Length} bytes)");
        var bytes = new byte[length];
        stream.Seek(offset, SeekOrigin.Begin);
        stream.ReadExactly(bytes);
        return bytes;
    }

    private static Tensor FromRaw(byte[] bytes, TensorProto.Types.DataType type, long[] dims, long count, string name)
    {
        int size = type switch
        {
            TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Int64 or TensorProto.Types.DataType.Uint64 => 8,
            TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Int32 or TensorProto.Types.DataType.Uint32 => 4,
            TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16 or TensorProto.Types.DataType.Int16
                or TensorProto.Types.DataType.Uint16 => 2,
            TensorProto.Types.DataType.Int8 or TensorProto.Types.DataType.Uint8 or TensorProto.Types.DataType.Bool => 1,
            _ => throw new InvalidDataException($"tensor '{name}': data type {type} is not supported"),
        };
        if (bytes.LongLength != count * size)
            throw new InvalidDataException($"tensor '{name}' has {bytes.LongLength} bytes of data but dims [{string.Join(",", dims)}] of {type} need {count * size}");

        return type switch
        {
            TensorProto.Types.DataType.Float => tensor(Cast<float>(bytes), dims),
            TensorProto.Types.DataType.Double => tensor(Cast<double>(bytes), dims),
            TensorProto.Types.DataType.Int64 => tensor(Cast<long>(bytes), dims),
            TensorProto.Types.DataType.Int32 => tensor(Cast<int>(bytes), dims),
            TensorProto.Types.DataType.Int16 => tensor(Cast<short>(bytes), dims),
            TensorProto.Types.DataType.Uint16 => tensor(Cast<ushort>(bytes).Select(v => (int)v).ToArray(), dims),
            TensorProto.Types.DataType.Uint32 => tensor(Cast<uint>(bytes).Select(v => (long)v).ToArray(), dims),
            TensorProto.Types.DataType.Uint64 => tensor(Cast<ulong>(bytes).Select(v => checked((long)v)).ToArray(), dims),
            TensorProto.Types.DataType.Int8 => tensor(Cast<sbyte>(bytes), dims),
            TensorProto.Types.DataType.Uint8 => tensor(bytes, dims),
            TensorProto.Types.DataType.Bool => tensor(bytes.Select(b => b != 0).ToArray(), dims),
            TensorProto.Types.DataType.Float16 => tensor(Cast<Half>(bytes).Select(h => (float)h).ToArray(), dims),
            TensorProto.Types.DataType.Bfloat16 => tensor(Cast<ushort>(bytes).Select(BFloat16ToSingle).ToArray(), dims),
            _ => throw new InvalidDataException($"tensor '{name}': data type {type} is not supported"),
        };
    }

    private static T[] Cast<T>(byte[] bytes) where T : struct =>
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();
}
