using OnnxGradSign.Onnx;
using System.IO.Compression;
using static TorchSharp.torch;

namespace OnnxGradSign.Data;

/// <summary>
/// Loads the data named by the data option: a .npz with x and y; `idx:IMAGES,LABELS` (MNIST/Fashion-MNIST IDX files, gzipped or not);
/// `cifar10:FILE[,FILE...]` / `cifar100:FILE[,FILE...]` binary batches; or `synthetic` (seeded normal inputs, random labels,
/// shaped like the model's input, made by <see cref="Synthetic"/>).
/// </summary>
public static class DatasetLoader
{
    public const string SyntheticName = "synthetic";

    public static Dataset Load(string spec, long limit)
    {
        try
        {
            if (spec.StartsWith("idx:")) return Idx(spec[4..], limit);
            if (spec.StartsWith("cifar10:")) return Cifar(spec["cifar10:".Length..], 1, limit);
            if (spec.StartsWith("cifar100:")) return Cifar(spec["cifar100:".Length..], 2, limit);
            if (spec.EndsWith(".npz")) return Npz(spec, limit);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"`data` '{spec}': {e.Message}", e);
        }
        throw new ArgumentException($"`data` '{spec}': expected a .npz file, idx:IMAGES,LABELS, cifar10:FILES, cifar100:FILES or synthetic");
    }

    /// <summary>
    /// Seeded inputs of the given per-sample shape, normal or, with an index range, uniform integers below it (token ids),
    /// and uniformly random labels in [0, classes).
    /// </summary>
    public static Dataset Synthetic(long[] sampleShape, long count, long classes, long seed, long? indexRange = null)
    {
        var generator = new Generator((ulong)seed);
        var x = indexRange is { } range ? randint(0, range, [count, .. sampleShape], generator: generator)
            : randn([count, .. sampleShape], generator: generator);
        return new Dataset(x, randint(0, classes, [count], generator: generator), SyntheticName);
    }

    private static Dataset Npz(string path, long limit)
    {
        InputFiles.CheckReadable(path, "data");
        var arrays = NpyReader.ReadNpz(path, limit);
        if (!arrays.TryGetValue("x", out var x) || !arrays.TryGetValue("y", out var y))
            throw new InvalidDataException($"the archive must hold arrays 'x' and 'y' (it holds {string.Join(", ", arrays.Keys)})");
        if (x.dim() == 0) throw new InvalidDataException("x must hold samples along its first axis; it is a single number");
        if (y.dim() == 0 || y.shape[0] != x.shape[0] || (y.dim() > 1 && !y.is_floating_point()))
            throw new InvalidDataException($"y must hold one integer label or one float target (of any shape) per sample of x: x [{string.Join(",", x.shape)}], y [{string.Join(",", y.shape)}]");
        var targets = y.is_floating_point() ? y.to_type(ScalarType.Float32) : y.to_type(ScalarType.Int64);
        return Take(x.to_type(x.is_floating_point() ? ScalarType.Float32 : ScalarType.Int64), targets, limit, path);
    }

    private static Dataset Idx(string spec, long limit)
    {
        var parts = spec.Split(',');
        if (parts.Length != 2) throw new InvalidDataException("expected idx:IMAGES,LABELS");
        var images = ReadIdx(parts[0], limit);
        var labels = ReadIdx(parts[1], limit);
        if (labels.dim() != 1 || labels.shape[0] != images.shape[0])
            throw new InvalidDataException($"{parts[1]} holds {labels.shape[0]} labels for {images.shape[0]} images");
        // One channel: [N, 1, H, W], scaled to [0, 1].
        return Take(images.unsqueeze(1).to_type(ScalarType.Float32) / 255, labels.to_type(ScalarType.Int64), limit, spec);
    }

    /// <summary>An IDX array of unsigned bytes, its first <paramref name="maxRows"/> rows only (streamed, so a gzip bomb costs nothing).</summary>
    private static Tensor ReadIdx(string path, long maxRows)
    {
        using var stream = OpenMaybeGzipped(path);
        var magic = new byte[4];
        if (stream.ReadAtLeast(magic, 4, throwOnEndOfStream: false) < 4 || magic[0] != 0 || magic[1] != 0 || magic[2] != 0x08)
            throw new InvalidDataException($"{path}: not an IDX file of unsigned bytes");
        int rank = magic[3];
        var header = new byte[4 * rank];
        if (rank == 0 || stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false) < header.Length)
            throw new InvalidDataException($"{path}: an IDX header of rank {rank} needs at least {4 + 4 * rank} bytes and a dimension");
        var dims = Enumerable.Range(0, rank).Select(d => (long)System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(4 * d))).ToArray();
        if (dims.Any(d => d < 0)) throw new InvalidDataException($"{path}: IDX dims [{string.Join(",", dims)}] include a negative one");
        long rowBytes = dims.Skip(1).Aggregate(1L, (a, b) => a == 0 || b <= long.MaxValue / a ? a * b : long.MaxValue); // int32 dims
        bool cut = dims[0] > maxRows;
        long rows = Math.Min(dims[0], maxRows);
        var data = NpyReader.ReadExactly(stream, rowBytes > 0 && rows > long.MaxValue / rowBytes ? long.MaxValue : rows * rowBytes, path,
            $"IDX dims [{string.Join(",", dims)}]");
        if (!cut && stream.ReadByte() >= 0) throw new InvalidDataException($"{path}: more bytes of data than dims [{string.Join(",", dims)}] need");
        return tensor(data, [rows, .. dims[1..]]);
    }

    private static Dataset Cifar(string spec, int labelBytes, long limit)
    {
        const int imageBytes = 3 * 32 * 32;
        int size = labelBytes + imageBytes;
        var images = new List<byte[]>();
        var labels = new List<long>();
        foreach (var file in spec.Split(','))
        {
            using var stream = OpenMaybeGzipped(file);
            var record = new byte[size];
            for (int read; images.Count < limit && (read = stream.ReadAtLeast(record, size, throwOnEndOfStream: false)) > 0;)
            {
                if (read < size) throw new InvalidDataException($"{file}: the file is not a whole number of {size}-byte records");
                labels.Add(record[labelBytes - 1]); // CIFAR-100 keeps (coarse, fine): the fine label is the second byte
                images.Add(record[labelBytes..]);
            }
        }
        if (images.Count == 0) throw new InvalidDataException($"{spec}: no records");
        var x = tensor(images.SelectMany(i => i).ToArray(), [images.Count, 3, 32, 32]).to_type(ScalarType.Float32) / 255;
        return new Dataset(x, tensor(labels.ToArray()), spec);
    }

    /// <summary>The file as a stream, decompressed when it is gzipped.</summary>
    private static Stream OpenMaybeGzipped(string path)
    {
        try
        {
            InputFiles.CheckReadable(path, "data", InputFiles.MaxProtobufBytes);
        }
        catch (Exception e) when (e is InvalidDataException or FileNotFoundException)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
        var file = File.OpenRead(path);
        bool gzipped = file.ReadByte() == 0x1f && file.ReadByte() == 0x8b;
        file.Position = 0;
        return gzipped ? new GZipStream(file, CompressionMode.Decompress) : file;
    }

    private static Dataset Take(Tensor x, Tensor y, long limit, string source) =>
        x.shape[0] <= limit ? new Dataset(x, y, source) : new Dataset(x[..(int)limit], y[..(int)limit], source);
}
