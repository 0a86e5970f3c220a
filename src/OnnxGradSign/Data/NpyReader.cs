using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>Reads arrays from .npz archives (numpy's zip of .npy files, compressed or not): little-endian numeric types, C order.</summary>
public static partial class NpyReader
{
    /// <summary>The arrays of a .npz archive, each cut to its first <paramref name="maxRows"/> rows (a batch needs no more).</summary>
    public static Dictionary<string, Tensor> ReadNpz(string path, long maxRows = long.MaxValue)
    {
        using var zip = ZipFile.OpenRead(path);
        var arrays = new Dictionary<string, Tensor>();
        foreach (var entry in zip.Entries.Where(e => e.Name.EndsWith(".npy")))
        {
            using var stream = entry.Open();
            arrays[Path.GetFileNameWithoutExtension(entry.Name)] = ReadNpy(stream, $"{path}:{entry.Name}", maxRows, entry.Length);
        }
        return arrays;
    }

    /// <summary>The most bytes one array (after the row cut) may have: a batch of data is far smaller.</summary>
    public const long MaxArrayBytes = 1L << 30;

    /// <summary>Exactly <paramref name="count"/> bytes of the stream (at most <see cref="MaxArrayBytes"/>), or an error saying how many it had.</summary>
    public static byte[] ReadExactly(Stream stream, long count, string name, string what)
    {
        if (count > MaxArrayBytes)
            throw new InvalidDataException($"{name}: {what} needs {count} bytes, more than the {MaxArrayBytes >> 20} MiB one array may have");
        var bytes = new byte[count];
        int read = stream.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
        if (read < count) throw new InvalidDataException($"{name}: {what} needs {count} bytes, the file holds {read}");
        return bytes;
    }

    public static Tensor ReadNpy(byte[] bytes, string name) => ReadNpy(new MemoryStream(bytes), name, long.MaxValue, bytes.Length);

    /// <summary>
    /// One .npy array, streamed: only the first <paramref name="maxRows"/> rows are read, so an archive that claims (or a
    /// compression bomb that inflates to) far more data than a batch costs no more memory than the batch.
    /// </summary>
    /// <param name="storedLength">The array file's length (the zip directory's uncompressed size): a header whose shape needs
    /// another length lies, even where only the first rows are read.</param>
    public static Tensor ReadNpy(Stream stream, string name, long maxRows, long storedLength)
    {
        var preamble = new byte[8];
        if (stream.ReadAtLeast(preamble, 8, throwOnEndOfStream: false) < 8 || preamble[0] != 0x93 || Encoding.ASCII.GetString(preamble, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{name}: not a .npy array");
        int major = preamble[6];
        if (major is < 1 or > 3) throw new InvalidDataException($"{name}: .npy format version {major}.{preamble[7]} is not one numpy writes (1, 2 or 3)");
        var length = new byte[major == 1 ? 2 : 4]; // version 1 stores the header length in 2 bytes, 2 and 3 in 4
        if (stream.ReadAtLeast(length, length.Length, throwOnEndOfStream: false) < length.Length)
            throw new InvalidDataException($"{name}: the .npy header is cut short");
        long headerLength = major == 1 ? BitConverter.ToUInt16(length) : BitConverter.ToUInt32(length);
        if (headerLength > 1 << 20) throw new InvalidDataException($"{name}: the .npy header claims {headerLength} bytes");
        var headerBytes = new byte[headerLength];
        int got = stream.ReadAtLeast(headerBytes, headerBytes.Length, throwOnEndOfStream: false);
        if (got < headerLength) throw new InvalidDataException($"{name}: the .npy header is cut short (it claims {headerLength} bytes, the file has {got})");
        var header = Encoding.Latin1.GetString(headerBytes);
        var descr = Descr().Match(header) is { Success: true } d ? d.Groups[1].Value
            : throw new InvalidDataException($"{name}: the .npy header has no 'descr'");
        if (FortranOrder().IsMatch(header)) throw new InvalidDataException($"{name}: Fortran-ordered arrays are not supported");
        var shapeText = Shape().Match(header) is { Success: true } m ? m.Groups[1].Value
            : throw new InvalidDataException($"{name}: the .npy header has no 'shape'");
        var shape = shapeText.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(t => long.TryParse(t, out var v) && v >= 0 ? v : throw new InvalidDataException($"{name}: shape ({shapeText}) has a dimension '{t}' that is not a count"))
            .ToArray();
        int size = ItemSize(descr) ?? throw new InvalidDataException($"{name}: dtype '{descr}' is not supported (use little-endian float32/64, int64/32, uint8, bool)");
        long count = 1;
        foreach (var dim in shape) count = dim == 0 || count <= long.MaxValue / size / dim ? count * dim
            : throw new InvalidDataException($"{name}: shape ({shapeText}) overflows");
        long dataStart = 8 + (major == 1 ? 2 : 4) + headerLength;
        if (storedLength - dataStart != count * size)
            throw new InvalidDataException($"{name}: shape ({shapeText}) of '{descr}' needs {count * size} bytes, the array holds {storedLength - dataStart}");
        bool cut = shape.Length > 0 && shape[0] > maxRows;
        if (cut)
        {
            count = count / shape[0] * maxRows;
            shape[0] = maxRows;
        }
        var data = ReadExactly(stream, count * size, name, $"shape ({shapeText}) of '{descr}'");
        if (!cut && stream.ReadByte() >= 0) throw new InvalidDataException($"{name}: the array holds more bytes than its shape ({shapeText}) of '{descr}' needs");
        return descr switch
        {
            "<f4" => tensor(Cast<float>(data), shape),
            "<f8" => tensor(Cast<double>(data), shape),
            "<i8" => tensor(Cast<long>(data), shape),
            "<i4" => tensor(Cast<int>(data), shape),
            "|u1" or "<u1" => tensor(data, shape),
            "|i1" or "<i1" => tensor(Cast<sbyte>(data), shape),
            "|b1" => tensor(data.Select(b => b != 0).ToArray(), shape),
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
