using System.Text.RegularExpressions;
using OnnxGradSign.Onnx;

namespace OnnxGradSign.Import;

/// <summary>Traits of how a file was exported that change what its score means; `inspect` shows them and `score` records them.</summary>
public static partial class ExportWarnings
{
    /// <summary>What an eval-mode export's folded Conv feeds directly: an activation or a residual addition.</summary>
    private static readonly HashSet<string> Activations = ["Relu", "LeakyRelu", "PRelu", "Clip", "HardSwish", "HardSigmoid", "Sigmoid", "Tanh", "Elu", "Selu", "Celu", "Mish", "Softplus", "Add", "Sum"];

    public static bool IsTrainingExport(OnnxModel model) =>
        model.Nodes.Any(n => n.OpType == "BatchNormalization" && Ops.NormalizationOps.IsTrainingForm(n, model.OpsetFor(n.Domain)));

    /// <summary>
    /// The warning for BatchNorm folded into convolutions at export (eval mode), or null. Eval-mode export merges each
    /// Conv→BatchNorm into one biased Conv feeding the activation (or residual Add) directly. It is told apart from networks
    /// built without normalization by PyTorch's folded-weight names, or, for TensorFlow and Paddle exports (whose converters
    /// fold by default), by such convolutions outnumbering the BatchNorms kept (a few stay where folding was not possible).
    /// </summary>
    public static string? FoldedBatchNorm(OnnxModel model)
    {
        if (IsTrainingExport(model)) return null;
        var consumers = model.Nodes.SelectMany(n => n.Input.Where(i => i.Length > 0).Select(i => (Input: i, Node: n)))
            .ToLookup(p => p.Input, p => p.Node);
        var folded = model.Nodes.Where(n => n.OpType == "Conv" && n.Input.Count > 2 && n.Input[2].Length > 0
            && consumers[n.Output[0]].Any() && consumers[n.Output[0]].All(c => Activations.Contains(c.OpType))).ToList();
        if (folded.Count == 0) return null;
        int batchNorms = model.Nodes.Count(n => n.OpType == "BatchNormalization");
        bool foldedNames = folded.Any(n => FoldedWeightName().IsMatch(n.Input[1]) || n.Input[1].Contains("batchnorm", StringComparison.OrdinalIgnoreCase));
        bool foldingExporter = Initialization.StyleFor(model.Exporter) is InitStyle.Keras or InitStyle.Paddle && folded.Count > batchNorms;
        if (!foldedNames && !foldingExporter) return null;
        return $"BatchNorm looks folded into {folded.Count} convolution(s) at export (an eval-mode export): biased Convs feed activations " +
            "or additions directly" + (foldedNames ? " and carry folded-weight names such as 'onnx::Conv_N'" : batchNorms > 0 ? $", and only {batchNorms} BatchNorm(s) remain" : "") +
            ". GradSign's per-sample statistics depend on BatchNorm, so scores of this file differ from the network's. Re-export keeping BatchNorm: in PyTorch " +
            "torch.onnx.export(model, x, path, training=torch.onnx.TrainingMode.TRAINING, do_constant_folding=False, opset_version=14 or later); " +
            "with tf2onnx, export before fusing BatchNorm (no inference-graph optimization of the Keras model).";
    }

    [GeneratedRegex(@"^onnx::Conv_\d+$")]
    private static partial Regex FoldedWeightName();
}
