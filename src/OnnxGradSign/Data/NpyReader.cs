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
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            arrays[Path.GetFileNameWithoutExtension(entry.Name)] = ReadNpy(memory.ToArray(), $"{path}:{entry.Name}");
        }
        return arrays;
    }

    public static Tensor ReadNpy(byte[] bytes, string name)
    {
        if (bytes.Length < 10 || bytes[0] != 0x93 || Encoding.ASCII.GetString(bytes, 1, 5) != "NUMPY")
            throw new InvalidDataException($"{name}: not a .npy array");
        int major = bytes[6];
        int headerLength = major == 1 ? BitConverter.ToUInt16(bytes, 8) : BitConverter.ToInt32(bytes, 8);
        int offset = major == 1 ? 10 : 12;
        var header = Encoding.Latin1.GetString(bytes, offset, headerLength);
        var descr = Descr().Match(header).Groups[1].Value;
        if (FortranOrder().IsMatch(header)) throw new InvalidDataException($"{name}: Fortran-ordered arrays are not supported");
        var shape = Shape().Match(header).Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(long.Parse).ToArray();
        var data = bytes.AsSpan(offset + headerLength);
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

    private static T[] Cast<T>(ReadOnlySpan<byte> bytes) where T : struct => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, T>(bytes).ToArray();

    [GeneratedRegex(@"'descr':\s*'([^']+)'")]
    private static partial Regex Descr();

    [GeneratedRegex(@"'fortran_order':\s*True")]
    private static partial Regex FortranOrder();

    [GeneratedRegex(@"'shape':\s*\(([^)]*)\)")]
    private static partial Regex Shape();
}
