using System.Text.RegularExpressions;
using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Onnx;

public enum ExporterFamily { PyTorch, Tf2Onnx, Keras2Onnx, Paddle, Unknown }

/// <summary>The exporter a file came from, and how that was recognized (its producer_name, or the graph's own naming traits).</summary>
public sealed partial record Exporter(ExporterFamily Family, string Evidence)
{
    public string Describe() => (Family switch
    {
        ExporterFamily.PyTorch => "PyTorch (torch.onnx)",
        ExporterFamily.Tf2Onnx => "TensorFlow/Keras (tf2onnx)",
        ExporterFamily.Keras2Onnx => "Keras (keras2onnx)",
        ExporterFamily.Paddle => "PaddlePaddle (paddle2onnx)",
        _ => "unrecognized",
    });

    /// <summary>
    /// By producer_name first; a file without one (paddle2onnx leaves it empty in some versions) is recognized by the names its
    /// exporter gives: Paddle's parameters are `layer_N.w_K`/`.b_K` and its nodes `p2o.*`; tf2onnx writes TensorFlow tensor
    /// names (`…:0`, `…/ReadVariableOp`) and numbers its own constants `name__N`.
    /// </summary>
    public static Exporter Recognize(ModelProto proto)
    {
        var producer = proto.ProducerName.ToLowerInvariant();
        if (producer.Length > 0)
            return new(producer switch
            {
                "pytorch" => ExporterFamily.PyTorch,
                _ when producer.Contains("tf2onnx") => ExporterFamily.Tf2Onnx,
                _ when producer.Contains("keras") => ExporterFamily.Keras2Onnx,
                _ when producer.Contains("paddle") => ExporterFamily.Paddle,
                _ => ExporterFamily.Unknown,
            }, $"producer_name '{proto.ProducerName}'");
        var graph = proto.Graph;
        var names = graph.Initializer.Select(i => i.Name).Concat(graph.Node.Where(n => n.OpType == "Constant").SelectMany(n => n.Output)).ToList();
        if (graph.Node.Any(n => n.Name.StartsWith("p2o.", StringComparison.Ordinal)) || names.Count(n => PaddleParameter().IsMatch(n)) * 2 > names.Count && names.Count > 0)
            return new(ExporterFamily.Paddle, "parameter and node names (no producer_name)");
        if (names.Count(n => n.EndsWith(":0", StringComparison.Ordinal) || n.Contains("/ReadVariableOp") || Tf2OnnxConstant().IsMatch(n)) * 2 > names.Count && names.Count > 0)
            return new(ExporterFamily.Tf2Onnx, "TensorFlow tensor names (no producer_name)");
        return new(ExporterFamily.Unknown, "missing producer_name (and no exporter's naming traits)");
    }

    [GeneratedRegex(@"^[a-z][a-z0-9_]*_\d+\.(w|b)_\d+$")]
    private static partial Regex PaddleParameter();

    [GeneratedRegex(@"__\d+$")]
    private static partial Regex Tf2OnnxConstant();
}
