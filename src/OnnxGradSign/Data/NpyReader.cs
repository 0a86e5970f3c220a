using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>Reads arrays from .npz archives (numpy's zip of .npy files, compressed or not): little-endian numeric types, C order.</summary>
public static partial class NpyReader
{
    public static Dictionary<string, Tensor> ReadNpz(string path)
    {
        using var zip = ZipFile.OpenRead(path);
        var arrays = new Dictionary<string, Tensor>();
        foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".npy")))
        {
            using var stream = entry.Open();
            arrays[Path.GetFileNameWithoutExtension(entry.Name)] = ReadNpy(ReadBounded(stream, $"{path}:{entry.Name}"), $"{path}:{entry.Name}");
        }
        return arrays;
    }

    /// <summary>The most bytes one decompressed array may have: a batch of data is far smaller, and a zip or gzip bomb stops here.</summary>
    public const long MaxArrayBytes = 1L << 30;

    /// <summary>The stream's bytes, refusing more than <see cref="MaxArrayBytes"/>.</summary>
    public static byte[] ReadBounded(Stream stream, string name)
    {
        using var memory = new MemoryStream();
        var buffer = new byte[1 << 16];
        for (int read; (read = stream.Read(buffer)) > 0;)
        {
            if (memory.Length + read > MaxArrayBytes)
                throw new InvalidDataException($"{name}: decompresses to more than {MaxArrayBytes >> 20} MiB (a compression bomb, or far more data than a batch needs)");
            memory.Write(buffer, 0, read);
        }
        return memory.ToArray();
    }

    public static Tensor ReadNpy(byte[] bytes, string name)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{name}: not a .npy array");
        int major = bytes[6];
        int offset = major == 1 ? 10 : 12;
        long headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : bytes.Length >= 12 ? BitConverter.ToUInt32(bytes, 8) : -1;
        if (headerLength < 0 || offset + headerLength > bytes.Length)
            throw new InvalidDataException($"{name}: the .npy header is cut short (it claims {headerLength} bytes of {bytes.Length})");
        var header = Encoding.Latin1.GetString(bytes, offset, (int)headerLength);
        var descr = Descr().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new InvalidDataException($"{name}: the .npy header has no 'descr'");
        if (FortranOrder().IsMatch(header)) throw new InvalidDataException($"{name}: Fortran-ordered arrays are not supported");
        var shapeText = Shape().Match(header) is { Success: true } m ? m.Groups[1].Value
            : throw new InvalidDataException($"{name}: the .npy header has no 'shape'");
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => long.TryParse(t, out var v) && v >= 0 ? v : throw new InvalidDataException($"{name}: shape ({shapeText}) has a dimension '{t}' that is not a count"))
            .ToArray();
        var data = bytes.AsSpan(offset + (int)headerLength);
        long count = 1;
        foreach (var dim in shape) count = dim == 0 || count <= long.MaxValue / dim ? count * dim
            : throw new InvalidDataException($"{name}: shape ({shapeText}) overflows");
        int size = ItemSize(descr) ?? throw new InvalidDataException($"{name}: dtype '{descr}' is not supported (use little-endian float32/64, int64/32, uint8, bool)");
        if (count > data.Length / size || count * size != data.Length)
            throw new InvalidDataException($"{name}: shape ({shapeText}) of '{descr}' needs {(count <= long.MaxValue / size ? $"{count * size}" : "more than 2^63")} bytes, the array holds {data.Length}");
        return descr switch
        {
            "<f4" => tensor(Cast<float>(data), shape),
            "<f8" => tensor(Cast<double>(data), shape),
            "<i8" => tensor(Cast<long>(data), shape),
            "<i4" => tensor(Cast<int>(data), shape),
            "|u1" or "<u1" => tensor(data.ToArray(), shape),
            "|i1" or "<i1" => tensor(Cast<sbyte>(data), shape),
            "|b1" => tensor(data.ToArray().Select(b => b != 0).ToArray(), shape),
            _ => throw new InvalidDataException($"{name}: dtype '{descr}' is not supported (use little-endian float32/64, int64/32, uint8, bool)"),
        };
    }

    private static int? ItemSize(string descr) => descr switch
    {
        "<f8" or "<i8" => 8,
        "<f4" or "<i4" => 4,
        "|u1" or "<u1" or "|i1" or "<i1" or "|b1" => 1,
        _ => null,
    };

    private static T[] Cast<T>(ReadOnlySpan<byte> bytes) where T : struct => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order':\s*True")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex Shape();
}
