using System.Diagnostics;
using OnnxGradSign.Data;
using TorchSharp;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>Scores one model file: import (fresh or kept weights, per seed), fit the data to its input, per-sample gradients, GradSign.</summary>
internal static class ModelScorer
{
    /// <param name="data">The labelled samples, or null for synthetic data shaped like the model's input.</param>
    /// <summary>A failed record carrying the run's settings fields: what every record of this run starts from.</summary>
    public static ScoreRecord Blank(string path, Dataset? data, ValidatedOptions run) => new()
    {
        Model = path, Status = ScoreRecord.Failed, DataUsed = data?.Source ?? DatasetLoader.SyntheticName, Settings = run.Options,
    };

    /// <param name="cache">Parsed models by content hash (the server's), or null to read the file.</param>
    /// <param name="sha256">The file's hash when the caller has it already (a results-cache lookup), so it is read once.</param>
    public static ScoreRecord Score(string path, Dataset? data, ValidatedOptions run, ModelCache? cache = null, string? sha256 = null)
    {
        var clock = Stopwatch.StartNew();
        var record = Blank(path, data, run);
        var settings = run.Options;
        try
        {
            var sha = sha256 ?? ModelFiles.Sha256(path);
            record = record with { Sha256 = sha };
            var model = cache?.Get(path, sha) ?? OnnxModel.Load(path);
            if (model.Inputs.Count == 0) throw new OnnxModelException(path, "the graph takes no input, so there are no samples to score");
            var sideInputs = SideInputs.For(model, settings.InputShape, settings.InputValue);
            int outputIndex = OutputIndex(model, settings.OutputName);
            var device = new Device(settings.Device);

            var values = run.Computed.ToDictionary(p => p.Name, _ => new List<double>());
            var warnings = new List<string>();
            var failures = new List<string>(); // proxies that could not be computed
            if (ExportWarnings.FoldedBatchNorm(model) is { } folded) warnings.Add(folded);
            if (data is null)
                warnings.Add("no data file: scored on synthetic inputs with random labels, so the score says how the network reacts to noise, " +
                    "not to the task (give `data`, or put a .npz beside the models)");
            SignSums? signs = null;
            List<LayerReport>? layers = null;
            long parameters = 0;
            FixedBatch? fixedBatch = null;
            var loss = settings.Loss;
            (long Values, bool Float)[] outputs = [];
            foreach (var seed in settings.Seeds)
            {
                using var scope = NewDisposeScope();
                var options = new ImportOptions(settings.Init, seed, Dequantize: true) { InputValues = SideInput.FixedValues(sideInputs) };
                using var imported = Import(model, options, device, settings.Float64);
                parameters = imported.ParameterInfos.Where(p => p.Trainable).Sum(p => p.Count);
                imported.SideInputs = SideInputs.Feed(sideInputs, device, settings.Float64);
                var (x, y) = InputPreparation.Batch(model, data, settings.BatchSize, run.Normalization, seed, shapes: settings.InputShape);
                if (x.is_floating_point()) x = x.to_type(settings.Float64 ? ScalarType.Float64 : ScalarType.Float32); // token ids stay integers
                x = x.to(device);
                y = y.to(device);
                bool first = seed == settings.Seeds[0]; // what the graph is, found once
                if (first && FixedBatchDetection.Detect(imported, x) is { } found)
                {
                    fixedBatch = found;
                    warnings.Add(FixedBatchWarning(found, x.shape[0]));
                }
                if (fixedBatch is { Size: var size })
                {
                    if (x.shape[0] < size)
                        throw new ArgumentException($"the graph fixes its batch at {size} ({fixedBatch.Evidence}); a batch of {x.shape[0]} is smaller");
                    imported.FixedBatch = size;
                    (x, y) = (x.narrow(0, 0, x.shape[0] / size * size), y.narrow(0, 0, x.shape[0] / size * size));
                }
                if (first) outputs = OutputSizes(imported, x);
                // Synthetic labels range over the classes the scored output really has (its declared shape may be missing or another head's).
                if (data is null && Math.Max(outputs[outputIndex].Values, 2) is var classes && classes != InputPreparation.DeclaredClasses(model))
                    y = InputPreparation.Batch(model, data, settings.BatchSize, run.Normalization, seed, classes, settings.InputShape).Y
                        .narrow(0, 0, x.shape[0]).to(device);
                if (first) loss = Losses.Resolve(settings.Loss, outputs[outputIndex].Values, y);
                var heads = settings.Outputs == OutputSelection.All ? ExtraHeads(model, outputs, outputIndex, settings.Loss, x.shape[0], seed, device, warnings) : [];
                ImportedModel Reimport()
                {
                    var copy = Import(model, options, device, settings.Float64);
                    copy.FixedBatch = imported.FixedBatch;
                    copy.SideInputs = imported.SideInputs;
                    return copy;
                }
                var context = new ProxyContext(imported, x, y,
                    new GradientSettings(loss, settings.ParamScope, outputIndex, run.MaxMemoryBytes) { ExtraHeads = heads }, settings.Engine, settings.Reduce,
                    Reimport);
                foreach (var proxy in run.Computed)
                {
                    try
                    {
                        values[proxy.Name].Add(proxy.Compute(context));
                    }
                    catch (Exception e) when (e is not OutOfMemoryException)
                    {
                        // One proxy failing (a batch too small for zico, a libtorch error) leaves the others standing.
                        failures.Add($"{proxy.Name}: {Brief(e)}");
                    }
                }
                if (run.Computed.Any(p => p.Name == "gradsign"))
                {
                    signs = context.Signs;
                    layers = settings.PerLayer ? GradSign.Layers(signs) : null; // the sign sums die with this seed's scope
                }
            }
            // A record whose every proxy failed says why instead of passing for a result.
            if (values.Values.All(v => v.Count == 0) && failures.Count > 0) throw new InvalidOperationException(string.Join("; ", failures.Distinct()));
            var engine = signs?.Engine.ToString().ToLowerInvariant();
            return record with
            {
                Status = ScoreRecord.Ok,
                Scores = Summarize(values, settings.Seeds.Count),
                Params = parameters,
                EngineUsed = engine,
                LossUsed = Losses.Name(loss),
                OutputUsed = settings.Outputs == OutputSelection.All ? "all" : model.Outputs[outputIndex].Name,
                Warnings = warnings.Concat(failures).Distinct().Concat(signs is null ? [] : Warnings(signs)).ToList(),
                Layers = layers,
                Seconds = clock.Elapsed.TotalSeconds,
            };
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // The per-model boundary: whatever one model does (bad file, libtorch error, a converter's bug) is its error record alone,
            // and every error names the model (messages from deeper down, data or loss, may not).
            var brief = Brief(e);
            var message = brief.Contains(path) ? brief : $"{path}: {brief}";
            return record with { Error = message, Seconds = clock.Elapsed.TotalSeconds };
        }
    }

    /// <summary>How many values one sample's output has, and whether it is a float (differentiable), for each output: one sample's forward pass.</summary>
    private static (long Values, bool Float)[] OutputSizes(ImportedModel model, Tensor x)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        model.Run.BatchNorm = BatchNormMode.PerSample;
        return model.forward([x.narrow(0, 0, 1)]).Select(o => (o.NumberOfElements, o.is_floating_point())).ToArray();
    }

    /// <summary>
    /// With every output scored: each float output besides the first scored one, its loss resolved from its own size, compared
    /// with seeded random labels over its own classes (the data's labels belong to the first); integer outputs are left out.
    /// </summary>
    private static List<ExtraHead> ExtraHeads(OnnxModel model, (long Values, bool Float)[] outputs, int scored, LossKind requested, long samples,
        long seed, Device device, List<string> warnings)
    {
        var heads = new List<ExtraHead>();
        for (int k = 0; k < outputs.Length; k++)
        {
            if (k == scored) continue;
            if (!outputs[k].Float)
            {
                warnings.Add($"output '{model.Outputs[k].Name}' holds integers (no gradient): left out of the summed loss");
                continue;
            }
            var labels = randint(0, Math.Max(outputs[k].Values, 2), [samples], generator: new Generator((ulong)(seed * 1_000_003 + k))).to(device);
            heads.Add(new ExtraHead(k, Losses.Resolve(requested, outputs[k].Values, labels), labels));
        }
        if (heads.Count > 0)
            warnings.Add($"the loss sums {heads.Count + 1} outputs' per-sample losses ({string.Join(", ", heads.Select(h => $"'{model.Outputs[h.Output].Name}' {Losses.Name(h.Loss)}"))} " +
                "besides the first); outputs after the first are compared with seeded random labels");
        return heads;
    }

    private static string FixedBatchWarning(FixedBatch batch, long samples)
    {
        long used = samples / batch.Size * batch.Size;
        var how = batch.Size == 1 ? "one sample at a time, as the official algorithm runs every model" : $"in passes of {batch.Size} samples";
        var dropped = used < samples ? $"; {used} of the {samples} samples fill whole passes and are the ones scored" : "";
        return $"the graph fixes its batch at {batch.Size} ({batch.Evidence}): scored {how}, batch statistics taken per pass{dropped}";
    }

    private static string Brief(Exception e) => NativeErrors.Brief(e.Message);

    private static ImportedModel Import(OnnxModel model, ImportOptions options, Device device, bool float64)
    {
        var imported = OnnxImporter.Import(model, options);
        imported.to(device);
        if (float64) imported.to(ScalarType.Float64);
        return imported;
    }

    /// <summary>Each proxy's mean over seeds (null when it failed every time), its standard deviation with several seeds, synflow's log10.</summary>
    private static Dictionary<string, double?> Summarize(Dictionary<string, List<double>> values, int seeds)
    {
        var scores = new Dictionary<string, double?>();
        foreach (var (name, list) in values)
        {
            double? mean = list.Count > 0 ? list.Average() : null;
            scores[name] = mean;
            if (seeds > 1)
                scores[name + "_std"] = list.Count > 1 ? Math.Sqrt(list.Sum(v => (v - mean!.Value) * (v - mean.Value)) / (list.Count - 1)) : null;
            if (name == "synflow") scores["synflow_log10"] = mean is > 0 ? Math.Log10(mean.Value) : null;
        }
        return scores;
    }

    public static int OutputIndex(OnnxModel model, string? name)
    {
        if (name is null) return 0;
        for (int k = 0; k < model.Outputs.Count; k++)
            if (model.Outputs[k].Name == name) return k;
        throw new ArgumentException($"{model.Path}: `output_name {name}` is not a graph output (outputs: {string.Join(", ", model.Outputs.Select(o => o.Name))})");
    }

    private static List<string> Warnings(SignSums sums)
    {
        var warnings = new List<string>();
        long nonFinite = sums.Parameters.Sum(a => a.NonFinite);
        if (nonFinite > 0)
            warnings.Add($"{nonFinite} weights have a NaN or infinite gradient for some sample (in {string.Join(", ", sums.Parameters.Where(a => a.NonFinite > 0).Select(a => a.Parameter.Name).Take(5))}); nansum skips their weights");
        if (sums.Engine == EngineKind.Loop && sums.Parameters.FirstOrDefault(a => a.Parameter.IsRecurrent) is { } recurrent)
            warnings.Add(PerSampleGradients.RecurrentNeedsLoop(recurrent.Parameter));
        if (sums.OutputIgnoresInput)
            warnings.Add("the loss does not depend on the input (every input gradient is zero): the network ignores its input");
        var dead = sums.Parameters.Where(a => a.Zeros == a.Parameter.Count * a.Samples && a.Samples > 0).Select(a => a.Parameter.Name).ToList();
        if (dead.Count > 0)
            warnings.Add($"{dead.Count} layer(s) get exactly zero gradient for every sample (dead or disconnected): {string.Join(", ", dead.Take(5))}");
        return warnings;
    }
}
