using System.Security.Cryptography;
using System.Text;

namespace OnnxGradSign.Onnx;

/// <summary>Deterministic partition of model files into shards, by a hash of each path, so job arrays can split one run.</summary>
public static class Shards
{
    /// <summary>The files of shard "I/N" (0 ≤ I &lt; N).</summary>
    public static List<string> Select(IEnumerable<string> files, string spec)
    {
        var parts = spec.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[0], out var index) || !int.TryParse(parts[1], out var count) || count < 1 || index < 0 || index >= count)
            throw new ArgumentException($"shard '{spec}': expected I/N with 0 ≤ I < N");
        return files.Where(f => Of(f, count) == index).ToList();
    }

    /// <summary>The shard of a path: the same on every machine and run, whatever else is in the folder.</summary>
    public static int Of(string path, int count)
    {
        var normalized = path.Replace('\\', '/');
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(normalized));
        return (int)(BitConverter.ToUInt32(hash, 0) % (uint)count);
    }
}
