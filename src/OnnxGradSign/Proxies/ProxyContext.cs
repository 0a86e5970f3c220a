using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Proxies;

/// <summary>One Conv/Linear layer call of the batch pass with the gradient of the batch loss at its output.</summary>
public sealed record LayerGradient(WeightLayerCall Call, Tensor OutputGrad);

/// <summary>The batch pass the gradient proxies share: batch statistics, the batch's mean loss, gradients of weights and layer outputs.</summary>
public sealed record BatchGradients(IReadOnlyDictionary<ParameterInfo, Tensor> Weights, IReadOnlyList<LayerGradient> Layers);

/// <summary>
/// Everything the proxies of one model share: the imported model, its batch, the settings, and passes computed once on first
/// use (the batch gradients serve grad_norm, snip and fisher; the per-sample sign sums serve gradsign).
/// </summary>
public sealed class ProxyContext(ImportedModel model, Tensor x, Tensor y, GradientSettings gradients, EngineKind engine, GradSignReduce reduce,
    Func<ImportedModel> reimport)
{
    private BatchGradients? _batch;
    private SignSums? _signs;

    public ImportedModel Model { get; } = model;
    public Tensor X { get; } = x;

    /// <summary>Proxies that feed or differentiate a float input have no meaning on token ids: a clear error, the others still run.</summary>
    public void RequireFloatInput(string proxy, string what)
    {
        if (!X.is_floating_point()) throw new NotSupportedException($"{proxy} {what}, and this model's input holds integer indices (token ids)");
    }
    public Tensor Y { get; } = y;
    public GradientSettings Gradients { get; } = gradients;
    public GradSignReduce Reduce { get; } = reduce;
    /// <summary>A fresh copy of the model with the same weights, for proxies that change weights or precision (SynFlow).</summary>
    public Func<ImportedModel> Reimport { get; } = reimport;
    public IReadOnlyList<ParameterInfo> Weights => PerSampleGradients.Scored(Model, Gradients.Scope);

    public SignSums Signs => _signs ??= PerSampleGradients.Compute(Model, X, Y, Gradients, engine);

    public BatchGradients Batch => _batch ??= ComputeBatch();

    /// <summary>The model's scored output for the given input, with BatchNorm as asked and the weight-layer calls observed.</summary>
    public (Tensor Output, List<WeightLayerCall> Calls) Forward(Tensor input, BatchNormMode batchNorm, ImportedModel? other = null)
    {
        var (outputs, calls) = ForwardAll(input, batchNorm, other);
        return (outputs[Gradients.OutputIndex], calls);
    }

    private (Tensor[] Outputs, List<WeightLayerCall> Calls) ForwardAll(Tensor input, BatchNormMode batchNorm, ImportedModel? other = null)
    {
        var model = other ?? Model;
        var calls = new List<WeightLayerCall>();
        model.Run.BatchNorm = batchNorm;
        model.Run.OnWeightLayer = calls.Add;
        try
        {
            return (model.forward([input]), calls);
        }
        finally
        {
            model.Run.OnWeightLayer = null;
        }
    }

    /// <summary>Gradients of the mean loss of samples [start, start+count) (batch statistics, as in train mode) with respect to the given weights.</summary>
    public Tensor[] GradientsOfMeanLoss(long start, long count, IReadOnlyList<ParameterInfo> weights, bool createGraph = false)
    {
        var (outputs, _) = ForwardAll(X.narrow(0, start, count), BatchNormMode.Batch);
        var targets = weights.Select(Model.TensorOf).ToList();
        // TorchSharp keeps retain_graph false unless told, even with create_graph (PyTorch ties the two): a second backward needs it.
        var grads = Autograd.Grad(Losses.SumOfPerSample(outputs, Y, Gradients, start, count) / count, targets, retainGraph: createGraph, createGraph: createGraph);
        return grads.Select((g, k) => g ?? zeros_like(targets[k])).ToArray();
    }

    private BatchGradients ComputeBatch()
    {
        var weights = Weights;
        var (outputs, calls) = ForwardAll(X, BatchNormMode.Batch);
        var targets = weights.Select(Model.TensorOf).Concat(calls.Select(c => c.Output)).ToList();
        var grads = Autograd.Grad(Losses.SumOfPerSample(outputs, Y, Gradients, 0, X.shape[0]) / X.shape[0], targets);
        var byWeight = weights.Select((w, k) => (w, g: grads[k] ?? zeros_like(targets[k]))).ToDictionary(p => p.w, p => p.g);
        var layers = calls.Select((c, k) => new LayerGradient(c, grads[weights.Count + k] ?? zeros_like(c.Output))).ToList();
        return new BatchGradients(byWeight, JoinPasses(layers));
    }

    /// <summary>
    /// A graph with a fixed batch runs the batch in passes, each calling every layer once: the k-th call of every pass is joined
    /// into one call over the whole batch, so per-layer proxies see each layer once, as for any other graph.
    /// </summary>
    private IReadOnlyList<LayerGradient> JoinPasses(List<LayerGradient> layers)
    {
        if (Model.FixedBatch is not { } size || X.shape[0] <= size) return layers;
        int passes = (int)(X.shape[0] / size), perPass = layers.Count / passes;
        return Enumerable.Range(0, perPass).Select(k =>
        {
            var pieces = Enumerable.Range(0, passes).Select(p => layers[p * perPass + k]).ToList();
            var call = pieces[0].Call with
            {
                Input = cat(pieces.Select(l => l.Call.Input).ToArray(), 0),
                Output = cat(pieces.Select(l => l.Call.Output).ToArray(), 0),
            };
            return new LayerGradient(call, cat(pieces.Select(l => l.OutputGrad).ToArray(), 0));
        }).ToList();
    }
}
