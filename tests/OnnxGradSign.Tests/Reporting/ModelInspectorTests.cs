using OnnxGradSign.Reporting;

namespace OnnxGradSign.Tests.Reporting;

public class ModelInspectorTests
{
    [Fact]
    public void Eval_mode_export_warns_that_batchnorm_was_folded()
    {
        var report = ModelInspector.Inspect(TestPaths.Model("resnet_tiny_eval.onnx"));
        var warning = Assert.Single(report.Warnings, w => w.Contains("folded"));
        Assert.Contains("TrainingMode.TRAINING", warning);
        Assert.Contains("8 convolution", warning);
    }

    [Theory]
    [InlineData("resnet_tiny.onnx")]
    [InlineData("resnet_tiny_opset9.onnx")]
    [InlineData("mlp_matmul.onnx")]
    [InlineData("vit_tiny.onnx")]
    public void Training_mode_exports_raise_no_folding_warning(string file)
    {
        var report = ModelInspector.Inspect(TestPaths.Model(file));
        Assert.DoesNotContain(report.Warnings, w => w.Contains("folded"));
        Assert.Null(report.Error);
        Assert.Empty(report.Unsupported);
    }

    [Fact]
    public void Report_lists_producer_opsets_shapes_ops_and_parameters()
    {
        var report = ModelInspector.Inspect(TestPaths.Model("mobilenet_tiny.onnx"));
        Assert.Equal("pytorch", report.Producer);
        Assert.Equal(17, report.Opsets[""]);
        Assert.Equal(["batch", "1", "28", "28"], Assert.Single(report.Inputs).Shape);
        Assert.Equal(13, report.Ops["Conv"]);
        Assert.Equal(9946, report.TrainableParameters);
        Assert.Contains(report.Parameters!, p => p.Kind == "Conv");
    }
}
