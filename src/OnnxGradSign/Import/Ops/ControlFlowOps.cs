using static TorchSharp.torch;

namespace OnnxGradSign.Import.Ops;

/// <summary>
/// If, Loop and Scan at run time: their subgraphs are imported as programs (weights inside them are the model's parameters) and run
/// by these kernels. An If whose condition is known at import never gets here: the importer keeps only its taken branch. A condition
/// is one boolean per graph run, so a batched run takes one branch for all its samples.
/// </summary>
public static class ControlFlowOps
{
    /// <summary>The most iterations a Loop or Scan may run: well past any recurrent net's sequence, and a bound on a hostile count.</summary>
    public const long MaxIterations = 100_000;

    public static void Register(OpRegistry registry)
    {
        registry.Add("If", 1, If);
        registry.Add("Loop", 1, Loop);
        registry.Add("Scan", 8, node => Scan(node, batchAxis: true));
        registry.Add("Scan", 9, node => Scan(node, batchAxis: false));
    }

    private static OpKernel If(NodeContext node)
    {
        var then = node.Subgraph("then_branch", 0);
        var otherwise = node.Subgraph("else_branch", 0);
        if (then.OutputCount != node.OutputCount || otherwise.OutputCount != node.OutputCount)
            throw node.Unsupported($"its branches give {then.OutputCount} and {otherwise.OutputCount} outputs for the node's {node.OutputCount}");
        return (inputs, run) => (Condition(inputs[0]!, "If") ? then : otherwise).Run(run, [], inputs);
    }

    /// <summary>Loop(M, cond, v...): the body maps (iteration, cond, v...) to (cond, v..., scan elements...); scan elements are stacked.</summary>
    private static OpKernel Loop(NodeContext node)
    {
        int carried = node.InputCount - 2;
        if (carried < 0) throw node.Unsupported("it needs a trip count and a condition input (either may be empty)");
        var body = node.Subgraph("body", 2 + carried);
        int scans = body.OutputCount - 1 - carried;
        if (scans < 0 || node.OutputCount > carried + scans)
            throw node.Unsupported($"its body gives {body.OutputCount} outputs, which cannot be the condition, {carried} loop-carried value(s) and the node's {node.OutputCount - carried} scan output(s)");
        return (inputs, run) =>
        {
            long? trips = inputs[0] is { } m ? m.to_type(ScalarType.Int64).item<long>() : null;
            if (trips > MaxIterations && inputs[1] is null)
                throw new InvalidOperationException($"Loop trip count {trips} exceeds the bound of {MaxIterations} iterations");
            bool going = inputs[1] is not { } condition || Condition(condition, "Loop");
            var device = inputs.FirstOrDefault(t => t is not null)?.device ?? CPU;
            var state = inputs[2..(2 + carried)];
            var scanned = Enumerable.Range(0, scans).Select(_ => new List<Tensor>()).ToArray();
            for (long i = 0; going && (trips is null || i < trips); i++)
            {
                if (i == MaxIterations)
                    throw new InvalidOperationException($"Loop ran {MaxIterations} iterations without its condition turning false (the bound)");
                var outputs = body.Run(run, [tensor(i, ScalarType.Int64, device), tensor(going, ScalarType.Bool, device), .. state], inputs);
                going = Condition(outputs[0], "Loop body");
                state = outputs[1..(1 + carried)];
                for (int k = 0; k < scans; k++) scanned[k].Add(outputs[1 + carried + k]);
            }
            return [.. state.Select(s => s!), .. scanned.Select((s, k) => s.Count > 0 ? stack(s, 0) : body.EmptyStack(1 + carried + k, device))];
        };
    }

    /// <summary>
    /// Scan: the body maps (states..., one slice of each scan input) to (states..., scan elements...). Scan-9 and later slice along
    /// scan_input_axes in scan_input_directions and stack along scan_output_axes; Scan-8 has a batch axis first and optional
    /// sequence_lens (scan outputs past a shorter sequence are zeros).
    /// </summary>
    private static OpKernel Scan(NodeContext node, bool batchAxis)
    {
        int first = batchAxis ? 1 : 0; // Scan-8's sequence_lens comes first
        int scanInputs = (int)node.Int("num_scan_inputs", 0);
        int states = node.InputCount - first - scanInputs;
        if (scanInputs < 1 || states < 0) throw node.Unsupported($"num_scan_inputs {scanInputs} does not fit its {node.InputCount} inputs");
        var body = node.Subgraph("body", states + scanInputs);
        int scanOutputs = body.OutputCount - states;
        if (scanOutputs < 0 || node.OutputCount > states + scanOutputs)
            throw node.Unsupported($"its body gives {body.OutputCount} outputs for {states} state(s) and the node's {node.OutputCount - states} scan output(s)");
        long[] Per(string attribute, int count) => node.Ints(attribute) is { } given
            ? given.Length == count ? given : throw node.Unsupported($"{attribute} has {given.Length} entries for {count}")
            : new long[count];
        var inputAxes = batchAxis ? new long[scanInputs] : Per("scan_input_axes", scanInputs);
        var inputReversed = Per(batchAxis ? "directions" : "scan_input_directions", scanInputs).Select(d => d == 1).ToArray();
        var outputAxes = batchAxis ? new long[scanOutputs] : Per("scan_output_axes", scanOutputs);
        var outputReversed = batchAxis ? new bool[scanOutputs] : Per("scan_output_directions", scanOutputs).Select(d => d == 1).ToArray();

        Tensor[] Run(RunContext run, Tensor?[] stepInputs, Tensor?[] initial, Tensor[] sequences, long? length)
        {
            var axes = inputAxes.Select((a, j) => TensorOps.Axis(a, sequences[j].dim(), "Scan")).ToArray();
            long full = sequences[0].shape[axes[0]];
            if (sequences.Select((s, j) => s.shape[axes[j]]).Any(l => l != full))
                throw new InvalidOperationException($"Scan inputs have different sequence lengths ({string.Join(", ", sequences.Select((s, j) => s.shape[axes[j]]))})");
            if (full > MaxIterations) throw new InvalidOperationException($"Scan sequence length {full} exceeds the bound of {MaxIterations} iterations");
            long steps = length ?? full;
            var state = initial;
            var elements = Enumerable.Range(0, scanOutputs).Select(_ => new List<Tensor>()).ToArray();
            for (long t = 0; t < steps; t++)
            {
                var slices = sequences.Select((s, j) => (Tensor?)s.select(axes[j], inputReversed[j] ? steps - 1 - t : t));
                var outputs = body.Run(run, [.. state, .. slices], stepInputs);
                state = outputs[..states];
                for (int k = 0; k < scanOutputs; k++) elements[k].Add(outputs[states + k]);
            }
            return [.. state.Select(s => s!), .. elements.Select((list, k) =>
            {
                if (list.Count == 0) throw new InvalidOperationException("Scan over an empty sequence has no element shape for its scan outputs");
                if (outputReversed[k]) list.Reverse();
                if (steps < full) list.AddRange(Enumerable.Repeat(zeros_like(list[0]), (int)(full - steps)));
                return stack(list, TensorOps.Axis(outputAxes[k], list[0].dim() + 1, "Scan"));
            })];
        }

        if (!batchAxis)
            return (inputs, run) => Run(run, inputs, inputs[..states], inputs[states..(states + scanInputs)].Select(s => s!).ToArray(), null);
        return (inputs, run) =>
        {
            var initial = inputs[1..(1 + states)];
            var sequences = inputs[(1 + states)..(1 + states + scanInputs)].Select(s => s!).ToArray();
            var lengths = inputs[0] is { } given ? NodeContext.ToLongs(given) : null;
            var perBatch = Enumerable.Range(0, (int)sequences[0].shape[0]).Select(b =>
                Run(run, inputs, initial.Select(s => (Tensor?)s!.select(0, b)).ToArray(), sequences.Select(s => s.select(0, b)).ToArray(), lengths?[b])).ToList();
            return Enumerable.Range(0, states + scanOutputs).Select(k => stack(perBatch.Select(r => r[k]).ToArray(), 0)).ToArray();
        };
    }

    /// <summary>A control-flow condition: one boolean for the whole run.</summary>
    private static bool Condition(Tensor condition, string what)
    {
        if (condition.NumberOfElements != 1)
            throw new InvalidOperationException($"{what} condition has {condition.NumberOfElements} elements; it must be one boolean per run (a per-sample condition cannot steer a batched run)");
        return condition.to_type(ScalarType.Bool).item<bool>();
    }
}
