using System.IO.Compression;
using System.Text;
using OnnxGradSign.Data;

namespace OnnxGradSign.Tests.Data;

/// <summary>Malformed or hostile data files give an InvalidDataException naming the file, never a crash or memory exhaustion.</summary>
public class HostileDataTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-data").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>A version-1 .npy file with this header text and data.</summary>
    private static byte[] Npy(string header, byte[] data)
    {
        var text = Encoding.ASCII.GetBytes(header);
        return [0x93, .. "NUMPY"u8, 1, 0, (byte)(text.Length & 0xff), (byte)(text.Length >> 8), .. text, .. data];
    }

    [Theory]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (2, garbage), }", "not a count")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (-2, 2), }", "not a count")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (9223372036854775807, 4), }", "overflows")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, 'shape': (3, 3), }", "needs 36 bytes")]
    [InlineData("{'descr': '<f4', 'fortran_order': False, }", "no 'shape'")]
    [InlineData("{'fortran_order': False, 'shape': (4,), }", "no 'descr'")]
    public void Npy_headers_that_lie_are_refused(string header, string expected)
    {
        var e = Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpy(Npy(header, new byte[16]), "bad.npy"));
        Assert.Contains("bad.npy", e.Message);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_header_longer_than_the_file_is_refused()
    {
        var bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", []);
        bytes[8] = 0xff; bytes[9] = 0xff;
        Assert.Contains("cut short", Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpy(bytes, "short.npy")).Message);
    }

    /// <summary>An .npz whose x.npy claims `rows` rows of 1 KiB and holds a gigabyte of zeros (a few MB on disk).</summary>
    private string Bomb(long rows)
    {
        var path = Path.Combine(_dir, "bomb.npz");
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        using var entry = zip.CreateEntry("x.npy", CompressionLevel.SmallestSize).Open();
        entry.Write(Npy($"{{'descr': '|u1', 'fortran_order': False, 'shape': ({rows}, 1024), }}", []));
        var zeros = new byte[1 << 20];
        for (int written = 0; written < 1024; written++) entry.Write(zeros);
        return path;
    }

    [Fact]
    public void A_zip_bomb_costs_no_more_than_the_rows_a_batch_reads()
    {
        var path = Bomb(rows: 1 << 20);
        Assert.True(new FileInfo(path).Length < 8 << 20, "the bomb is small on disk");
        Assert.Equal([4L, 1024], NpyReader.ReadNpz(path, maxRows: 4)["x"].shape);
    }

    [Fact]
    public void An_array_whose_header_claims_another_size_than_it_holds_is_refused()
    {
        var message = Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpz(Bomb(rows: 1), maxRows: 4)).Message;
        Assert.Contains("needs 1024 bytes, the array holds 1073741824", message);
    }

    [Fact]
    public void An_npy_format_version_numpy_never_wrote_is_refused()
    {
        var bytes = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", new byte[16]);
        bytes[6] = 99;
        Assert.Contains("format version 99", Assert.Throws<InvalidDataException>(() => NpyReader.ReadNpy(bytes, "v99.npy")).Message);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 8, 0 }, "rank 0")]
    [InlineData(new byte[] { 0, 0, 8, 2, 0xff, 0xff, 0xff, 0xfe, 0, 0, 0, 2 }, "negative")]
    [InlineData(new byte[] { 0, 0, 8, 3, 0, 0, 0, 1 }, "needs at least 16 bytes")]
    public void Idx_files_of_rank_0_negative_dims_or_a_cut_header_are_refused(byte[] bytes, string expected)
    {
        var images = Path.Combine(_dir, "images.idx");
        File.WriteAllBytes(images, bytes);
        File.WriteAllBytes(Path.Combine(_dir, "labels.idx"), [0, 0, 8, 1, 0, 0, 0, 1, 3]);
        var e = Assert.Throws<ArgumentException>(() => DatasetLoader.Load($"idx:{images},{Path.Combine(_dir, "labels.idx")}", 4));
        Assert.Contains(images, e.Message);
        Assert.Contains(expected, e.Message);
    }
}
