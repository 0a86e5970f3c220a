using OnnxGradSign.Data;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Reporting;

public sealed record TensorSummary(string Name, string Type, string[] Shape);

public sealed record LayerKindCount(string Kind, int Tensors, long Parameters);

/// <summary>What `inspect` reports; Family is the producer as recognized, Rules what the import applies because of it (init, layout, weights).</summary>
public sealed record InspectionReport(
    string Model, string Producer, string ProducerVersion, long IrVersion, string Family, string InitStyle, IReadOnlyDictionary<string, long> Opsets,
    IReadOnlyList<TensorSummary> Inputs, IReadOnlyList<TensorSummary> Outputs, IReadOnlyDictionary<string, int> Ops,
    IReadOnlyList<LayerKindCount>? Parameters, long? TrainableParameters, IReadOnlyList<string> Rules, IReadOnlyList<UnsupportedNode> Unsupported,
    IReadOnlyList<string> Warnings, string? Error);

/// <summary>What a user needs to know about a model before scoring it, above all whether BatchNorm survived the export.</summary>
public static class ModelInspector
{
    public static InspectionReport Inspect(string path)
    {
        OnnxModel model;
        try
        {
            model = OnnxModel.Load(path);
        }
        catch (OnnxModelException e)
        {
            return new InspectionReport(path, "", "", 0, "", "", new Dictionary<string, long>(), [], [], new Dictionary<string, int>(), null, null, [], [], [], e.Message);
        }

        var ops = model.Nodes.GroupBy(n => (n.Domain.Length > 0 ? n.Domain + "." : "") + n.OpType)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key).ToDictionary(g => g.Key, g => g.Count());
        IReadOnlyList<LayerKindCount>? parameters = null;
        IReadOnlyList<UnsupportedNode> unsupported = [];
        var style = Initialization.StyleFor(model.Exporter);
        var rules = new List<string> { $"exporter: {model.Exporter.Describe()}, from its {model.Exporter.Evidence}", $"fresh init: {style} defaults, {Initialization.Describe(style)}" };
        rules.AddRange(model.Inputs.Take(1).Select(i => InputRule(model, i)));
        if (model.Inputs.Count > 1) rules.AddRange(SideInputRules(model));
        if (Dequantization.IsQuantized(model)) rules.Add(Dequantization.Rule);
        var warnings = Warnings(model);
        string? error = null;
        try
        {
            var scored = Dequantization.FloatNetwork(model); // the graph as score imports it
            using var imported = OnnxImporter.Import(scored, new ImportOptions(WeightInit.Keep) { InputValues = FixedSideInputs(model) });
            var trainable = imported.ParameterInfos.Where(p => p.Trainable).ToList();
            parameters = trainable.GroupBy(p => p.Kind).Select(g => new LayerKindCount(g.Key.ToString(), g.Count(), g.Sum(p => p.Count))).ToList();
            int fromNodes = trainable.Count(p => !scored.Initializers.ContainsKey(p.Name));
            if (fromNodes > 0)
                rules.Add($"{fromNodes} parameter tensor(s) come from Constant/ConstantOfShape nodes or constant subgraphs, not initializers: " +
                    "trained and re-initialized like initializers");
            rules.Add(RunOnSyntheticSamples(model, imported));
            int placeholders = trainable.Count(p => p.IsLayerWeight && p.Count > 1 && IsOneRepeatedValue(imported.TensorOf(p)));
            if (placeholders > 0)
                warnings.Add($"{placeholders} layer weight(s) hold one repeated value: placeholders, as in ONNX's \"light\" models " +
                    "(ConstantOfShape). Fresh init (the default) replaces them; `init keep` and `verify` use the placeholder values.");
        }
        catch (UnsupportedOpsException e)
        {
            unsupported = e.Nodes;
        }
        catch (Exception e) when (e is not OutOfMemoryException) // the report still shows what could be read
        {
            var message = NativeErrors.Brief(e.Message);
            error = message.Contains(path) ? message : $"{path}: {message}";
        }

        return new InspectionReport(path, model.ProducerName, model.ProducerVersion, model.Proto.IrVersion, model.Exporter.Describe(),
            style.ToString(), model.Opsets, model.Inputs.Select(Summarize).ToList(), model.Outputs.Select(Summarize).ToList(), ops,
            parameters, parameters?.Sum(p => p.Parameters), rules, unsupported, warnings, error);
    }

    /// <summary>The side inputs scoring feeds one value on every pass (a sample rate), which it folds at import too.</summary>
    private static Dictionary<string, double>? FixedSideInputs(OnnxModel model)
    {
        try
        {
            return SideInput.FixedValues(SideInputs.For(model, null, null));
        }
        catch (ArgumentException)
        {
            return null; // reported with the side-input rules
        }
    }

    /// <summary>How scoring feeds an input: image layout, token ids, or as given.</summary>
    /// <summary>
    /// Runs the graph once on synthetic samples, as score will feed it, so that contradictions only shapes reveal (matrices that
    /// cannot multiply, axes out of range) are reported naming the node, and says which batch sizes the graph takes.
    /// </summary>
    private static string RunOnSyntheticSamples(OnnxModel model, ImportedModel imported)
    {
        using var scope = TorchSharp.torch.NewDisposeScope();
        TorchSharp.torch.Tensor x;
        long declared = InputPreparation.DeclaredShape(model.Inputs[0]) is [> 0 and var b, ..] ? b : 0;
        try
        {
            x = InputPreparation.Batch(model, null, Math.Max(2, declared), Normalization.None, 0).X;
            imported.SideInputs = SideInputs.Feed(SideInputs.For(model, null, null));
        }
        catch (ArgumentException e)
        {
            return $"shapes: not run on synthetic samples ({e.Message.Replace($"{model.Path}: ", "")})";
        }
        // Run once as given (a declared batch, else 2 samples); only a graph that fails so is probed for a batch it fixes, and
        // a contradiction that no batch size explains is the model's error, naming the node.
        var fixedBatch = declared > 0 ? FixedBatchDetection.Detect(imported, x) : null;
        imported.FixedBatch = fixedBatch?.Size;
        try
        {
            Run(imported, x);
        }
        catch (OnnxModelException) when (fixedBatch is null && FixedBatchDetection.Detect(imported, x) is { } found)
        {
            fixedBatch = found; // detection ran the graph at that size
        }
        return fixedBatch is null ? "batch: any size (the graph ran on synthetic samples)"
            : $"batch: fixed at {fixedBatch.Size} ({fixedBatch.Evidence}); score runs it in passes of {fixedBatch.Size}";
    }

    private static void Run(ImportedModel imported, TorchSharp.torch.Tensor x)
    {
        using var noGrad = TorchSharp.torch.no_grad();
        imported.Run.BatchNorm = BatchNormMode.PerSample;
        imported.forward([x]);
    }

    /// <summary>How score feeds each input after the first (Data.SideInputs), or what it needs to be told.</summary>
    private static IEnumerable<string> SideInputRules(OnnxModel model)
    {
        try
        {
            return SideInputs.For(model, null, null).Select(i => $"input '{i.Name}': {i.How}").ToList();
        }
        catch (ArgumentException e)
        {
            return [$"other inputs: {e.Message}"];
        }
    }

    private static string InputRule(OnnxModel model, ValueInfoProto input)
    {
        var shape = Data.InputPreparation.DeclaredShape(input);
        var type = (TensorProto.Types.DataType)(input.Type?.TensorType?.ElemType ?? 1);
        if (type is not (TensorProto.Types.DataType.Float or TensorProto.Types.DataType.Double or TensorProto.Types.DataType.Float16 or TensorProto.Types.DataType.Bfloat16))
            return $"input '{input.Name}': {type.ToString().ToLowerInvariant()} token ids, fed as they are; synthetic ids stay below " +
                (model.IndexRange(input.Name) is { } range ? $"{range} (the embedding it indexes)" : "2 (no embedding table found)");
        if (shape.Length != 4) return $"input '{input.Name}': fed as given, normalized by `mean`/`std`";
        return Data.InputPreparation.IsNhwc(shape)
            ? $"input '{input.Name}': NHWC images (Keras' layout); NCHW data is permuted to it"
            : $"input '{input.Name}': NCHW images; NHWC data is permuted to it";
    }

    private static bool IsOneRepeatedValue(TorchSharp.torch.Tensor t) => t.flatten().eq(t.flatten()[0]).all().item<bool>();

    private static TensorSummary Summarize(ValueInfoProto value)
    {
        var type = value.Type?.TensorType;
        var elementType = type is null ? "?" : ((TensorProto.Types.DataType)type.ElemType).ToString().ToLowerInvariant();
        var shape = type?.Shape?.Dim.Select(d => d.ValueCase == TensorShapeProto.Types.Dimension.ValueOneofCase.DimValue ? d.DimValue.ToString()
            : d.DimParam.Length > 0 ? d.DimParam : "?").ToArray() ?? [];
        return new TensorSummary(value.Name, elementType, shape);
    }

    public static List<string> Warnings(OnnxModel model)
    {
        var warnings = new List<string>();
        if (ExportWarnings.FoldedBatchNorm(model) is { } folded) warnings.Add(folded);
        var batchNorms = model.Nodes.Count(n => n.OpType == "BatchNormalization");
        if (batchNorms > 0 && !ExportWarnings.IsTrainingExport(model))
            warnings.Add($"{batchNorms} BatchNormalization node(s) were exported in inference mode; `verify` runs them on their running statistics, " +
                "`score` uses each sample's own statistics as the official GradSign code does in train mode.");
        var dropouts = model.Nodes.Count(n => n.OpType == "Dropout");
        if (dropouts > 0)
            warnings.Add($"{dropouts} Dropout node(s) act as the identity: scoring is deterministic.");
        return warnings;
    }
}
