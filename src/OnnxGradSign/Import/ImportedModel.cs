using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>One node of the runtime graph: which value slots it reads and writes, and which slots are dead after it.</summary>
public sealed record ImportedStep(NodeProto Node, int[] Inputs, int[] Outputs, OpKernel Kernel)
{
    public int[] FreeAfter { get; set; } = [];
}

/// <summary>A value slot filled from a registered parameter or buffer of the module.</summary>
public sealed record ConstantSlot(int Slot, string Key, bool IsParameter);

/// <summary>
/// A graph as numbered value slots: the main graph, or a subgraph (an If branch taken at run time, a Loop or Scan body) run by its
/// node's kernel through <see cref="RunContext.RunGraph"/>. A subgraph's input slots are its formal inputs followed by the values
/// it reads from enclosing graphs, which its node passes on as extra inputs.
/// </summary>
public sealed class GraphProgram
{
    public int SlotCount { get; }
    public int[] InputSlots { get; }
    public int[] OutputSlots { get; }
    public IReadOnlyList<ImportedStep> Steps { get; }
    public ConstantSlot[] Constants { get; }

    internal GraphProgram(int slotCount, int[] inputSlots, int[] outputSlots, IReadOnlyList<ImportedStep> steps, IEnumerable<ConstantSlot> constants)
    {
        SlotCount = slotCount;
        InputSlots = inputSlots;
        OutputSlots = outputSlots;
        Steps = steps;
        Constants = constants.ToArray();
        ComputeLastUses();
    }

    public bool IsConstantSlot(int slot) => Constants.Any(c => c.Slot == slot);

    /// <summary>Slots the program computes itself, which it may free (inputs and constants belong to others).</summary>
    public bool IsOwned(int slot) => !InputSlots.Contains(slot) && !IsConstantSlot(slot);

    private void ComputeLastUses()
    {
        var lastUse = new Dictionary<int, int>();
        for (int s = 0; s < Steps.Count; s++)
            foreach (var slot in Steps[s].Inputs.Where(IsOwned))
                if (slot >= 0) lastUse[slot] = s;
        // A step's output that nobody reads (e.g. BatchNorm's running-mean outputs) dies right away.
        for (int s = 0; s < Steps.Count; s++)
            foreach (var slot in Steps[s].Outputs)
                if (slot >= 0) lastUse.TryAdd(slot, s);
        foreach (var output in OutputSlots) lastUse.Remove(output);
        foreach (var group in lastUse.GroupBy(kv => kv.Value))
            Steps[group.Key].FreeAfter = group.Select(kv => kv.Key).ToArray();
    }
}

/// <summary>
/// An ONNX graph as a TorchSharp module: it runs the nodes in order over numbered value slots and disposes each activation
/// as soon as no later node needs it. Weights are registered parameters; other constants are buffers, so to(device) moves everything.
/// </summary>
public sealed class ImportedModel : nn.Module<Tensor[], Tensor[]>
{
    private readonly GraphProgram _main;

    public OnnxModel Source { get; }
    /// <summary>The main graph's steps (subgraphs run inside their nodes' steps).</summary>
    public IReadOnlyList<ImportedStep> Steps => _main.Steps;
    public IReadOnlyList<ParameterInfo> ParameterInfos { get; }
    public IReadOnlyList<ValueInfoProto> InputInfos => Source.Inputs;
    public IReadOnlyList<string> OutputNames { get; }
    public RunContext Run { get; } = new();

    /// <param name="tensors">Every parameter and buffer by key, the subgraphs' included, and whether it is a parameter.</param>
    internal ImportedModel(OnnxModel source, GraphProgram main, IReadOnlyList<ParameterInfo> parameters, IReadOnlyDictionary<string, (Tensor Tensor, bool IsParameter)> tensors)
        : base(System.IO.Path.GetFileNameWithoutExtension(source.Path))
    {
        Source = source;
        _main = main;
        ParameterInfos = parameters;
        OutputNames = source.Outputs.Select(o => o.Name).ToList();
        foreach (var (key, (tensor, isParameter)) in tensors)
        {
            if (isParameter) register_parameter(key, new TorchSharp.Modules.Parameter(tensor, requires_grad: true));
            else register_buffer(key, tensor);
        }
        Run.RunGraph = RunGraph;
    }

    public TorchSharp.Modules.Parameter Parameter(ParameterInfo info) => get_parameter(info.Key)!;
    public Tensor Buffer(string key) => get_buffer(key)!;

    /// <summary>The tensor behind a parameter or buffer slot (running statistics are buffers).</summary>
    public Tensor TensorOf(ParameterInfo info) => info.Trainable ? Parameter(info) : Buffer(info.Key);

    /// <summary>
    /// The batch size the graph's own constants fix (set by the caller once detected, see <see cref="FixedBatchDetection"/>), or
    /// null when it takes any: such a graph then runs any batch in passes of exactly that size.
    /// </summary>
    public long? FixedBatch { get; set; }

    /// <summary>
    /// The graph's other inputs for a pass of n samples, when a forward is given only the first (the one whose samples are scored):
    /// masks, states, scalars. Null when every forward is given all inputs.
    /// </summary>
    public Func<long, Tensor[]>? SideInputs { get; set; }

    public override Tensor[] forward(Tensor[] inputs)
    {
        if (FixedBatch is { } size && inputs.Length > 0 && inputs[0].dim() > 0 && inputs[0].shape[0] != size) return ForwardInPasses(inputs, size);
        return Outputs(_main, Execute(_main, WithSideInputs(inputs), null));
    }

    /// <summary>Runs a subgraph on its inputs (formal ones, then captured values); its outputs are the caller's to keep.</summary>
    private Tensor[] RunGraph(GraphProgram program, Tensor?[] inputs) => Outputs(program, Execute(program, inputs, null));

    private static Tensor[] Outputs(GraphProgram program, Tensor?[] values) =>
        program.OutputSlots.Select(s => program.IsOwned(s) ? values[s]! : values[s]!.alias()).ToArray();

    /// <summary>
    /// Passes of exactly <paramref name="size"/> samples, the last padded with copies of its last sample; outputs (and the layer calls
    /// observers see) are cut back to the real samples and the passes' outputs joined. Node observers see whole passes.
    /// </summary>
    private Tensor[] ForwardInPasses(Tensor[] inputs, long size)
    {
        long n = inputs[0].shape[0];
        var passes = new List<Tensor[]>();
        var observe = Run.OnWeightLayer;
        try
        {
            for (long start = 0; start < n; start += size)
            {
                long real = Math.Min(size, n - start);
                var pass = inputs.Select(x => x.narrow(0, start, real)).Select(x => real == size ? x
                    : cat([x, x.narrow(0, real - 1, 1).expand([size - real, .. x.shape[1..]])], 0)).ToArray();
                Run.OnWeightLayer = observe is not null && real < size
                    ? call => observe(call with { Input = call.Input.narrow(0, 0, real), Output = call.Output.narrow(0, 0, real) })
                    : observe;
                var values = Execute(_main, WithSideInputs(pass), null);
                passes.Add(_main.OutputSlots.Select(s => values[s]!.narrow(0, 0, real)).ToArray());
            }
        }
        finally
        {
            Run.OnWeightLayer = observe;
        }
        return Enumerable.Range(0, _main.OutputSlots.Length).Select(k => cat(passes.Select(p => p[k]).ToArray(), 0)).ToArray();
    }

    /// <summary>Runs the graph without gradients in per-sample normalization mode and returns copies of the given slots' values.</summary>
    internal Dictionary<int, Tensor> Probe(Tensor[] inputs, IReadOnlySet<int> slots)
    {
        using var noGrad = no_grad();
        var mode = Run.BatchNorm;
        Run.BatchNorm = BatchNormMode.PerSample; // defined even at batch size 1
        var captured = new Dictionary<int, Tensor>();
        try
        {
            Execute(_main, WithSideInputs(inputs), (slot, value) => { if (slots.Contains(slot)) captured[slot] = value.clone(); });
        }
        finally
        {
            Run.BatchNorm = mode;
        }
        return captured;
    }

    internal bool IsConstantSlot(int slot) => _main.IsConstantSlot(slot);

    private Tensor[] WithSideInputs(Tensor[] inputs)
    {
        if (inputs.Length == 1 && _main.InputSlots.Length > 1 && SideInputs is { } side) inputs = [inputs[0], .. side(inputs[0].shape[0])];
        if (inputs.Length != _main.InputSlots.Length)
            throw new ArgumentException($"{Source.Path}: the model takes {_main.InputSlots.Length} inputs, {inputs.Length} given");
        return inputs;
    }

    private Tensor?[] Execute(GraphProgram program, Tensor?[] inputs, Action<int, Tensor>? capture)
    {
        var values = new Tensor?[program.SlotCount];
        for (int i = 0; i < inputs.Length; i++) values[program.InputSlots[i]] = inputs[i];
        foreach (var c in program.Constants) values[c.Slot] = c.IsParameter ? get_parameter(c.Key) : get_buffer(c.Key);

        foreach (var step in program.Steps)
        {
            var args = new Tensor?[step.Inputs.Length];
            for (int i = 0; i < args.Length; i++) args[i] = step.Inputs[i] < 0 ? null : values[step.Inputs[i]];
            Tensor[] results;
            try
            {
                results = step.Kernel(args, Run);
            }
            catch (Exception e) when (e is not OnnxModelException)
            {
                throw new OnnxModelException(Source.Path, $"{step.Node.OpType} failed: {NativeErrors.Describe(e)}", OnnxModel.Describe(step.Node), e);
            }
            Run.OnNode?.Invoke(step.Node, args, results);
            if (results.Length < step.Outputs.Length)
                throw new OnnxModelException(Source.Path, $"{step.Node.OpType} produced {results.Length} of its {step.Outputs.Length} outputs", OnnxModel.Describe(step.Node));
            for (int o = 0; o < step.Outputs.Length; o++)
            {
                if (step.Outputs[o] < 0) continue;
                // Every slot owns its handle, so freeing one slot never invalidates another that holds the same tensor.
                var r = results[o];
                values[step.Outputs[o]] = args.Any(a => ReferenceEquals(a, r)) ? r.alias() : r;
                capture?.Invoke(step.Outputs[o], values[step.Outputs[o]]!);
            }
            foreach (var dead in step.FreeAfter)
            {
                // Observers (the vectorized engine, proxies) keep layer inputs and outputs past their last use.
                if (Run.OnWeightLayer is null && Run.OnNode is null) values[dead]?.Dispose();
                values[dead] = null;
            }
        }
        return values;
    }
}
