using OnnxGradSign.Data;
using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Tests.Data;

/// <summary>Which samples each model of a run gets, and how token-id inputs are fed.</summary>
public class DataChoiceTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("onnx-gradsign-choice").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string Place(string source, string relative)
    {
        var path = Path.Combine(_root, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Copy(source, path);
        return path;
    }

    [Fact]
    public void Each_model_takes_the_sample_of_its_own_folder_else_the_nearest_above_it()
    {
        var images = Place(TestPaths.Model("fashion-mnist-sample.npz"), "images.npz");
        var tokens = Place(TestPaths.Model("text/sample.npz"), "text/tokens.npz");
        var cnn = Place(TestPaths.Model("nb201_a.onnx"), "cnn.onnx");
        var nested = Place(TestPaths.Model("nb201_b.onnx"), "more/deeper/cnn.onnx");
        var text = Place(TestPaths.Model("text/text_classifier.onnx"), "text/text_classifier.onnx");

        var choice = DataChoice.Resolve(null, [_root], [cnn, nested, text], 8);
        Assert.Equal(images, choice.For(cnn)!.Source);
        Assert.Equal(images, choice.For(nested)!.Source);
        Assert.Equal(tokens, choice.For(text)!.Source);
        Assert.Same(choice.For(cnn), choice.For(nested)); // loaded once

        // Naming a subfolder stops the search there: nothing above it is used.
        Assert.Null(DataChoice.Resolve(null, [Path.Combine(_root, "more")], [nested], 8).For(nested));
        // An explicit spec serves every model.
        var given = DataChoice.Resolve(images, [_root], [cnn, text], 8);
        Assert.Equal(images, given.For(text)!.Source);
        Assert.Null(DataChoice.Resolve(DatasetLoader.SyntheticName, [_root], [cnn], 8).For(cnn));
    }

    [Fact]
    public void A_broken_sample_beside_a_model_is_an_error_naming_both()
    {
        var cnn = Place(TestPaths.Model("nb201_a.onnx"), "cnn.onnx");
        var broken = Path.Combine(_root, "broken.npz");
        File.WriteAllText(broken, "not a zip");
        var e = Assert.Throws<ArgumentException>(() => DataChoice.Resolve(null, [_root], [cnn], 8));
        Assert.Contains(broken, e.Message);
        Assert.Contains(cnn, e.Message);
        Assert.Contains("`data`", e.Message);
    }

    [Fact]
    public void Token_ids_load_as_integers_and_feed_the_model_unnormalized()
    {
        var data = DatasetLoader.Load(TestPaths.Model("text/sample.npz"), 64);
        Assert.Equal(ScalarType.Int64, data.X.dtype);
        var model = OnnxModel.Load(TestPaths.Model("text/text_classifier.onnx"));
        var (x, _) = InputPreparation.Batch(model, data, 4, new Normalization([0.5], [2]), seed: 0);
        Assert.Equal(ScalarType.Int64, x.dtype);
        Assert.True(x.eq(data.X[..4]).all().item<bool>());

        var e = Assert.Throws<ArgumentException>(() => InputPreparation.Fit(randn(2, 32), [-1, 32], Normalization.None, "m.onnx", "input", ScalarType.Int64));
        Assert.Contains("token ids", e.Message);
        Assert.Contains("'input'", e.Message);
    }

    [Fact]
    public void Synthetic_token_ids_stay_below_the_vocabulary_of_the_embedding_they_index()
    {
        var model = OnnxModel.Load(TestPaths.Model("text/text_classifier.onnx"));
        Assert.Equal(1000, model.IndexRange("input"));
        var (x, y) = InputPreparation.Batch(model, null, 64, Normalization.None, seed: 3);
        Assert.Equal(ScalarType.Int64, x.dtype);
        Assert.InRange(x.min().item<long>(), 0, 999);
        Assert.InRange(x.max().item<long>(), 2, 999); // more than the 0/1 of a table-less guess
        Assert.InRange(y.max().item<long>(), 0, 3);   // the model's 4 classes
    }
}
