using static TorchSharp.torch;

namespace OnnxGradSign.Import.Ops;

/// <summary>
/// RNN, GRU and LSTM, unrolled over time in plain tensor operations (so autograd differentiates them like any other node).
/// W [dirs, gates·H, I], R [dirs, gates·H, H] and B [dirs, 2·gates·H] are the layer's weights when constant; gate blocks are
/// ordered as ONNX says: LSTM i,o,f,c; GRU z,r,h. Opset 14 added `layout` (batch-first tensors); earlier versions differ only in
/// attributes whose defaults keep them equal (GRU-1's missing linear_before_reset, the unused output_sequence of version 1).
/// </summary>
public static class RecurrentOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("RNN", [1, 7, 14], node => Recurrent(node, LayerKind.Rnn));
        registry.Add("GRU", [1, 3, 7, 14], node => Recurrent(node, LayerKind.Gru));
        registry.Add("LSTM", [1, 7, 14], node => Recurrent(node, LayerKind.Lstm));
    }

    /// <summary>Gate blocks per direction in W and R.</summary>
    public static long Gates(LayerKind kind) => kind switch { LayerKind.Lstm => 4, LayerKind.Gru => 3, _ => 1 };

    /// <summary>The hidden size of a recurrent layer's W, R or B, whose FanOut the converter sets to gates·H.</summary>
    public static long HiddenSize(ParameterInfo info) => info.FanOut / Gates(info.Kind);

    private static readonly string[][] DefaultActivations = [["Tanh"], ["Sigmoid", "Tanh"], ["Sigmoid", "Tanh", "Tanh"]];

    private sealed record Settings(LayerKind Kind, long Hidden, bool[] Reverse, Func<Tensor, Tensor>[][] Activations, double? Clip,
        bool LinearBeforeReset, bool InputForget, bool BatchFirst);

    private static OpKernel Recurrent(NodeContext node, LayerKind kind)
    {
        var settings = Read(node, kind);
        long gates = Gates(kind), hidden = settings.Hidden;
        if (node.Constant(1) is { } w && w.dim() == 3)
            node.Declare(1, new ParameterDeclaration(kind, ParameterRole.Weight, FanIn: w.shape[2], FanOut: gates * hidden));
        node.Declare(2, new ParameterDeclaration(kind, ParameterRole.RecurrentWeight, FanIn: hidden, FanOut: gates * hidden));
        node.Declare(3, new ParameterDeclaration(kind, ParameterRole.Bias, FanIn: hidden, FanOut: gates * hidden));

        return (inputs, _) =>
        {
            using var scope = NewDisposeScope();
            var outputs = Run(inputs, settings);
            return outputs.Take(node.OutputCount).Select(o => o.MoveToOuterDisposeScope()).ToArray();
        };
    }

    private static Settings Read(NodeContext node, LayerKind kind)
    {
        var direction = node.String("direction", "forward");
        bool[] reverse = direction switch
        {
            "forward" => [false],
            "reverse" => [true],
            "bidirectional" => [false, true],
            _ => throw node.Unsupported($"direction '{direction}' (forward, reverse or bidirectional)"),
        };
        long layout = node.Int("layout", 0);
        if (layout is not (0 or 1)) throw node.Unsupported($"layout {layout} (0 or 1)");
        long hidden = node.Int("hidden_size", 0);
        if (hidden <= 0 && node.Constant(2) is { } r && r.dim() == 3) hidden = r.shape[2]; // R [dirs, gates·H, H]
        if (hidden <= 0) throw node.Unsupported("hidden_size is missing and R is not a constant to read it from");
        double? clip = node.Has("clip") ? node.Float("clip", 0) : null;
        if (clip is <= 0) throw node.Unsupported($"clip {clip} (a positive threshold)");
        if (kind != LayerKind.Lstm && node.HasInput(7)) throw node.Unsupported("input 7 (peepholes belong to LSTM)");
        return new Settings(kind, hidden, reverse, Activations(node, kind, reverse.Length), clip,
            node.Int("linear_before_reset", 0) != 0, node.Int("input_forget", 0) != 0, layout == 1);
    }

    /// <summary>
    /// One list of activations per direction (f, g, h as the op uses them). A bidirectional node may name one direction's list for
    /// both, as ONNX Runtime accepts. activation_alpha/beta are consumed in order by the functions that take them.
    /// </summary>
    private static Func<Tensor, Tensor>[][] Activations(NodeContext node, LayerKind kind, int directions)
    {
        var perDirection = DefaultActivations[Gates(kind) switch { 1 => 0, 3 => 1, _ => 2 }];
        var names = node.Has("activations") ? StringList(node) : null;
        names ??= Enumerable.Repeat(perDirection, directions).SelectMany(a => a).ToArray();
        if (names.Length == perDirection.Length && directions == 2) names = [.. names, .. names];
        if (names.Length != perDirection.Length * directions)
            throw node.Unsupported($"activations lists {names.Length} functions; {node.Node.OpType} takes {perDirection.Length} per direction");
        var alphas = new Queue<float>(node.Floats("activation_alpha") ?? []);
        var betas = new Queue<float>(node.Floats("activation_beta") ?? []);
        var functions = names.Select(name => Activation(node, name, alphas, betas)).ToArray();
        return Enumerable.Range(0, directions).Select(d => functions.Skip(d * perDirection.Length).Take(perDirection.Length).ToArray()).ToArray();
    }

    private static string[] StringList(NodeContext node) =>
        node.Node.Attribute.First(a => a.Name == "activations").Strings.Select(s => s.ToStringUtf8()).ToArray();

    private static Func<Tensor, Tensor> Activation(NodeContext node, string name, Queue<float> alphas, Queue<float> betas)
    {
        double Next(Queue<float> values, double fallback) => values.Count > 0 ? values.Dequeue() : fallback;
        switch (name.ToLowerInvariant())
        {
            case "sigmoid": return t => t.sigmoid();
            case "tanh": return t => t.tanh();
            case "relu": return t => t.relu();
            case "softsign": return t => t / (1 + t.abs());
            case "softplus": return t => nn.functional.softplus(t);
            case "affine": { double a = Next(alphas, 1), b = Next(betas, 0); return t => a * t + b; }
            case "leakyrelu": { double a = Next(alphas, 0.01); return t => nn.functional.leaky_relu(t, a); }
            case "thresholdedrelu": { double a = Next(alphas, 1); return t => where(t > a, t, zeros_like(t)); }
            case "scaledtanh": { double a = Next(alphas, 1), b = Next(betas, 1); return t => a * (b * t).tanh(); }
            case "hardsigmoid": { double a = Next(alphas, 0.2), b = Next(betas, 0.5); return t => (a * t + b).clamp(0, 1); }
            case "elu": { double a = Next(alphas, 1); return t => nn.functional.elu(t, a); }
            default: throw node.Unsupported($"activation '{name}'");
        }
    }

    /// <summary>Y [seq, dirs, batch, H], Y_h and Y_c [dirs, batch, H] (batch first with layout 1).</summary>
    private static Tensor[] Run(Tensor?[] inputs, Settings s)
    {
        Expect(inputs[0]!.dim() == 3, $"X must be 3-D, not [{string.Join(",", inputs[0]!.shape)}]");
        var x = s.BatchFirst ? inputs[0]!.transpose(0, 1) : inputs[0]!; // [seq, batch, I]
        // Everything in X's type: a model run in float64 still builds its zero initial states with float32 ConstantOfShape.
        Tensor? At(int i) => i < inputs.Length && inputs[i] is { } t ? (t.is_floating_point() ? t.to_type(x.dtype) : t) : null;
        Tensor w = At(1)!, r = At(2)!;
        long seq = x.shape[0], batch = x.shape[1], gates = Gates(s.Kind), hidden = s.Hidden, dirs = s.Reverse.Length;
        Expect(w.shape.SequenceEqual([dirs, gates * hidden, x.shape[2]]), $"W is [{string.Join(",", w.shape)}], expected [{dirs},{gates * hidden},{x.shape[2]}]");
        Expect(r.shape.SequenceEqual([dirs, gates * hidden, hidden]), $"R is [{string.Join(",", r.shape)}], expected [{dirs},{gates * hidden},{hidden}]");
        var b = At(3);
        Expect(b is null || b.shape.SequenceEqual([dirs, 2 * gates * hidden]), $"B must be [{dirs},{2 * gates * hidden}]");
        var lengths = At(4)?.to_type(ScalarType.Int64).to(x.device);
        Expect(lengths is null || lengths.shape.SequenceEqual([batch]), $"sequence_lens must be [{batch}]");
        Tensor? State(int i)
        {
            var state = At(i);
            if (state is not null && s.BatchFirst) state = state.transpose(0, 1);
            Expect(state is null || state.shape.SequenceEqual([dirs, batch, hidden]), $"input {i} (initial state) must be [{dirs},{batch},{hidden}]");
            return state;
        }
        Tensor? initialH = State(5), initialC = State(6), peepholes = At(7);
        Expect(peepholes is null || peepholes.shape.SequenceEqual([dirs, 3 * hidden]), $"P must be [{dirs},{3 * hidden}]");

        // Steps at or past a sample's length leave its state alone and output zeros.
        var valid = lengths is null ? null : arange(seq, device: x.device).unsqueeze(1).lt(lengths.unsqueeze(0)).unsqueeze(2); // [seq, batch, 1]
        var ys = new List<Tensor>();
        var hs = new List<Tensor>();
        var cs = new List<Tensor>();
        for (int d = 0; d < dirs; d++)
        {
            // A reverse pass reads each sample's own valid steps backwards: one index per (step, sample), its own inverse.
            var order = s.Reverse[d] ? ReversedOrder(seq, batch, lengths, x.device) : null;
            var xd = order is null ? x : x.gather(0, order.unsqueeze(2).expand(seq, batch, x.shape[2]));
            var weights = new Direction(w[d], r[d], b?[d], peepholes?[d], s.Activations[d]);
            var h = initialH?[d] ?? zeros(batch, hidden, dtype: x.dtype, device: x.device);
            var c = initialC?[d] ?? zeros(batch, hidden, dtype: x.dtype, device: x.device);
            var projected = LinearOps.Product(xd, weights.W.t()); // every step's input term at once: [seq, batch, gates·H]
            if (weights.Wb is { } wb) projected = projected + wb;
            var steps = new Tensor[seq];
            for (long t = 0; t < seq; t++)
            {
                var (hNext, cNext) = Step(s, weights, projected[t], h, c);
                if (valid is not null)
                {
                    hNext = where(valid[t], hNext, h);
                    cNext = where(valid[t], cNext, c);
                }
                steps[t] = valid is null ? hNext : where(valid[t], hNext, zeros_like(hNext));
                (h, c) = (hNext, cNext);
            }
            var y = stack(steps); // [seq, batch, H]
            ys.Add(order is null ? y : y.gather(0, order.unsqueeze(2).expand(seq, batch, hidden)));
            hs.Add(h);
            cs.Add(c);
        }
        var yAll = stack(ys, 1); // [seq, dirs, batch, H]
        Tensor yH = stack(hs), yC = stack(cs);
        return s.BatchFirst ? [yAll.permute(2, 0, 1, 3), yH.transpose(0, 1), yC.transpose(0, 1)] : [yAll, yH, yC];
    }

    private sealed record Direction(Tensor W, Tensor R, Tensor? B, Tensor? P, Func<Tensor, Tensor>[] Activations)
    {
        public Tensor? Wb => B?.chunk(2)[0];
        public Tensor? Rb => B?.chunk(2)[1];
    }

    /// <summary>One time step: the gate pre-activations from the projected input and the previous state, then the cell's update.</summary>
    private static (Tensor H, Tensor C) Step(Settings s, Direction d, Tensor input, Tensor h, Tensor c)
    {
        long hidden = s.Hidden;
        Tensor Clip(Tensor t) => s.Clip is { } limit ? t.clamp(-limit, limit) : t;
        Tensor Block(Tensor t, long k) => t.narrow(-1, k * hidden, hidden);
        Tensor Recurrent(Tensor state, long from, long blocks)
        {
            var term = LinearOps.Product(state, d.R.narrow(0, from * hidden, blocks * hidden).t());
            return d.Rb is { } rb ? term + rb.narrow(0, from * hidden, blocks * hidden) : term;
        }
        var f = d.Activations;
        switch (s.Kind)
        {
            case LayerKind.Rnn:
                return (f[0](Clip(input + Recurrent(h, 0, 1))), c);
            case LayerKind.Gru:
            {
                var zr = input.narrow(-1, 0, 2 * hidden) + Recurrent(h, 0, 2);
                var z = f[0](Clip(Block(zr, 0)));
                var reset = f[0](Clip(Block(zr, 1)));
                var candidateInput = Block(input, 2);
                var candidate = s.LinearBeforeReset
                    ? candidateInput + reset * Recurrent(h, 2, 1)
                    : candidateInput + Recurrent(reset * h, 2, 1);
                var hNew = f[1](Clip(candidate));
                return ((1 - z) * hNew + z * h, c);
            }
            default:
            {
                var all = input + Recurrent(h, 0, 4); // blocks i, o, f, c
                // P holds the peepholes of i, o, f.
                Tensor Gate(long k, long peephole, Tensor cell) => f[0](Clip(d.P is { } p ? Block(all, k) + Block(p, peephole) * cell : Block(all, k)));
                var i = Gate(0, 0, c);
                var forget = s.InputForget ? 1 - i : Gate(2, 2, c); // input_forget couples the gates, as ONNX Runtime does
                var cNew = forget * c + i * f[1](Clip(Block(all, 3)));
                var o = Gate(1, 1, cNew);
                return (o * f[2](cNew), cNew);
            }
        }
    }

    /// <summary>index[t, b] = L_b − 1 − t for the sample's valid steps, t itself for its padding (whose outputs are zeros anyway).</summary>
    private static Tensor ReversedOrder(long seq, long batch, Tensor? lengths, Device device)
    {
        var steps = arange(seq, device: device).unsqueeze(1).expand(seq, batch);
        if (lengths is null) return (seq - 1) - steps;
        var flipped = lengths.unsqueeze(0) - 1 - steps;
        return where(steps.lt(lengths.unsqueeze(0)), flipped, steps);
    }

    private static void Expect(bool condition, string message)
    {
        if (!condition) throw new ArgumentException(message);
    }
}
