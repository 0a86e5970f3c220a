using System.IO.Compression;
using OnnxGradSign.Data;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Data;

public class DatasetLoaderTests : IDisposable
{
    private const string FashionMnist = "/usr/share/datasets/fashion-mnist";
    private readonly string _dir = Directory.CreateTempSubdirectory("onnx-gradsign-data").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Idx_files_load_as_grey_images_in_unit_range_with_their_labels()
    {
        // Debian's dataset-fashion-mnist (installed by tools/bootstrap.sh): the bundled sample was taken from its test set.
        var images = Path.Combine(FashionMnist, "t10k-images-idx3-ubyte.gz");
        var labels = Path.Combine(FashionMnist, "t10k-labels-idx1-ubyte.gz");
        var data = DatasetLoader.Load($"idx:{images},{labels}", 20);
        Assert.Equal([20L, 1, 28, 28], data.X.shape);
        Assert.Equal(ScalarType.Int64, data.Y.dtype);
        Assert.InRange(data.X.min().item<float>(), 0, 0);
        Assert.InRange(data.X.max().item<float>(), 0.5f, 1);
        Assert.InRange(data.Y.max().item<long>(), 0, 9);

        // The first test image of the sample is the first image of class 0 in the IDX file.
        var sample = DatasetLoader.Load(TestPaths.Model("fashion-mnist-sample.npz"), 1);
        var first = (int)data.Y.eq(sample.Y[0]).nonzero()[0, 0].item<long>();
        Assert.True(data.X[first].eq(sample.X[0]).all().item<bool>());
    }

    [Fact]
    public void Cifar_batches_read_labels_and_planar_rgb()
    {
        var record = new byte[1 + 3072];
        var path = Path.Combine(_dir, "data_batch_1.bin");
        using (var file = File.Create(path))
            for (byte label = 0; label < 3; label++)
            {
                record[0] = label;
                for (int p = 0; p < 3072; p++) record[1 + p] = (byte)(p / 1024 * 100 + label); // channel c holds 100·c + label
                file.Write(record);
            }
        var data = DatasetLoader.Load($"cifar10:{path}", 10);
        Assert.Equal([3L, 3, 32, 32], data.X.shape);
        Assert.Equal([0L, 1, 2], data.Y.data<long>().ToArray());
        Assert.Equal((200 + 2) / 255f, data.X[2, 2, 31, 31].item<float>(), 6);

        File.WriteAllBytes(Path.Combine(_dir, "bad.bin"), new byte[100]);
        var e = Assert.Throws<ArgumentException>(() => DatasetLoader.Load($"cifar10:{Path.Combine(_dir, "bad.bin")}", 10));
        Assert.Contains("bad.bin", e.Message);
    }

    [Fact]
    public void Npz_without_labels_is_a_clear_error()
    {
        var path = Path.Combine(_dir, "x_only.npz");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        {
            var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }".PadRight(117) + "\n";
            using var entry = zip.CreateEntry("x.npy").Open();
            entry.Write([0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0, (byte)header.Length, 0]);
            entry.Write(System.Text.Encoding.ASCII.GetBytes(header));
            entry.Write(new byte[8]);
        }
        var e = Assert.Throws<ArgumentException>(() => DatasetLoader.Load(path, 10));
        Assert.Contains("'y'", e.Message);
        Assert.Contains(path, e.Message);
    }

    [Fact]
    public void Fitting_replicates_grey_channels_normalizes_and_follows_an_nhwc_model()
    {
        var grey = arange(2 * 1 * 2 * 2, ScalarType.Float32).reshape(2, 1, 2, 2);
        var rgb = InputPreparation.Fit(grey, [-1, 3, 2, 2], new Normalization([1], [2]), "m.onnx", "input");
        Assert.Equal([2L, 3, 2, 2], rgb.shape);
        Assert.True(rgb[.., 2].eq((grey[.., 0] - 1) / 2).all().item<bool>());

        var nhwc = InputPreparation.Fit(grey, [-1, 2, 2, 3], Normalization.None, "m.onnx", "input");
        Assert.Equal([2L, 2, 2, 3], nhwc.shape);
        Assert.True(nhwc[.., .., .., 1].eq(grey[.., 0]).all().item<bool>());

        var e = Assert.Throws<ArgumentException>(() => InputPreparation.Fit(grey, [-1, 1, 28, 28], Normalization.None, "m.onnx", "input"));
        Assert.Contains("[?,1,28,28]", e.Message);
        Assert.Contains("[1,2,2]", e.Message);
    }
}
