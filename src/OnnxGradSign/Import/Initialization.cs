using OnnxGradSign.Onnx;
using static TorchSharp.torch;

namespace OnnxGradSign.Import;

/// <summary>Which framework's default initializers a fresh initialization mimics.</summary>
public enum InitStyle { PyTorch, Keras, Paddle }

/// <summary>
/// Fresh random weights in the style of the framework that exported the model. Each parameter draws from its own stream,
/// seeded by (seed, parameter key), so weights are bit-identical across runs, thread counts and the order of import.
/// </summary>
public static class Initialization
{
    /// <summary>Keras' rules for tf2onnx and keras2onnx files, Paddle's for paddle2onnx, PyTorch's for anything else.</summary>
    public static InitStyle StyleFor(Exporter exporter) => exporter.Family switch
    {
        ExporterFamily.Tf2Onnx or ExporterFamily.Keras2Onnx => InitStyle.Keras,
        ExporterFamily.Paddle => InitStyle.Paddle,
        _ => InitStyle.PyTorch,
    };

    /// <summary>The rules of a style in a line, for `inspect`.</summary>
    public static string Describe(InitStyle style) => style switch
    {
        InitStyle.Keras => "glorot_uniform kernels (Keras' depthwise fan rule), orthogonal recurrent kernels, zero biases (LSTM forget gate 1), embeddings U(±0.05), norms γ=1 β=0",
        InitStyle.Paddle => "Conv weights N(0, √(2/(in·∏k))), Linear, ConvTranspose and embeddings Xavier-uniform, zero biases, norms 1/0",
        _ => "Conv/Linear weights and biases U(±1/√fan_in), recurrent W, R, B U(±1/√hidden), embeddings N(0,1), norms 1/0, PReLU 0.25",
    };

    public static void Apply(ImportedModel model, InitStyle style, long seed)
    {
        using var noGrad = no_grad();
        var byNode = model.ParameterInfos.GroupBy(p => p.Node).ToDictionary(g => g.Key, g => g.ToList());
        foreach (var info in model.ParameterInfos.Where(p => p.Role != ParameterRole.Learned)) // no framework rule for these: kept
        {
            var target = model.TensorOf(info);
            var values = Draw(info, style, seed, byNode[info.Node]);
            using var fresh = tensor(values, info.Shape).to(target.dtype, target.device);
            target.copy_(fresh);
        }
    }

    private static double[] Draw(ParameterInfo info, InitStyle style, long seed, List<ParameterInfo> sameLayer)
    {
        var count = info.Count;
        if (info.IsRecurrent) return Recurrent(info, style, seed);
        switch (info.Role)
        {
            case ParameterRole.NormScale:
            case ParameterRole.RunningVar:
                return Filled(count, 1);
            case ParameterRole.NormBias:
            case ParameterRole.RunningMean:
                return Filled(count, 0);
            case ParameterRole.Slope:
                return Filled(count, style == InitStyle.Keras ? 0 : 0.25); // nn.PReLU() and paddle's start at 0.25, keras PReLU at zeros
            case ParameterRole.Bias when style != InitStyle.PyTorch:
                return Filled(count, 0);
            case ParameterRole.Bias:
                // PyTorch draws a layer's bias from U(±1/√fan_in) of its weight.
                var weight = sameLayer.FirstOrDefault(p => p.Role == ParameterRole.Weight);
                long fanIn = weight?.FanIn ?? info.FanIn;
                return Uniform(count, fanIn > 0 ? 1 / Math.Sqrt(fanIn) : 0, seed, info.Key);
            case ParameterRole.Weight when info.Kind == LayerKind.Embedding:
                // torch.nn.Embedding draws N(0,1); keras Embedding U(±0.05); paddle's Xavier-uniform over [vocab, dim].
                return style switch
                {
                    InitStyle.Keras => Uniform(count, 0.05, seed, info.Key),
                    InitStyle.Paddle => Uniform(count, Math.Sqrt(6.0 / Math.Max(info.Shape[0] + info.Shape[^1], 1)), seed, info.Key),
                    _ => Normal(count, 1, seed, info.Key),
                };
            case ParameterRole.Weight when info.Kind == LayerKind.Conv && style == InitStyle.Paddle:
                // paddle.nn.Conv*D: Normal(0, √(2 / (in_channels·∏k))), in_channels counting every group.
                return Normal(count, Math.Sqrt(2.0 / Math.Max(info.FanIn * info.Groups, 1)), seed, info.Key);
            default:
                return Uniform(count, WeightBound(info, style), seed, info.Key);
        }
    }

    /// <summary>
    /// torch.nn.LSTM/GRU/RNN (and paddle's) draw W, R and both biases from U(±1/√H). Keras draws kernels glorot_uniform (fans: input
    /// and gates·H), recurrent kernels orthogonal, biases zero but for an LSTM's forget gate (unit_forget_bias), which keras2onnx and
    /// tf2onnx write into the input half of B.
    /// </summary>
    private static double[] Recurrent(ParameterInfo info, InitStyle style, long seed)
    {
        if (style != InitStyle.Keras) return Uniform(info.Count, 1 / Math.Sqrt(Math.Max(Ops.RecurrentOps.HiddenSize(info), 1)), seed, info.Key);
        switch (info.Role)
        {
            case ParameterRole.Weight:
                return Uniform(info.Count, Math.Sqrt(6.0 / Math.Max(info.FanIn + info.FanOut, 1)), seed, info.Key);
            case ParameterRole.RecurrentWeight:
                return Orthogonal(info, seed);
            default:
                var values = Filled(info.Count, 0);
                long hidden = Ops.RecurrentOps.HiddenSize(info), perDirection = info.Shape[^1];
                if (info.Kind == LayerKind.Lstm) // gate blocks i, o, f, c: f is the third
                    for (long d = 0; d < info.Count / perDirection; d++)
                        Array.Fill(values, 1.0, (int)(d * perDirection + 2 * hidden), (int)hidden);
                return values;
        }
    }

    /// <summary>
    /// keras.initializers.Orthogonal on each direction's recurrent kernel [H, gates·H]: the Q of a Gaussian matrix's QR, columns
    /// signed by R's diagonal. ONNX stores the kernel transposed ([gates·H, H], gate blocks reordered), so Q's columns are orthonormal.
    /// </summary>
    private static double[] Orthogonal(ParameterInfo info, long seed)
    {
        using var scope = NewDisposeScope();
        var gaussian = tensor(Normal(info.Count, 1, seed, info.Key), [info.Count / (info.Shape[^2] * info.Shape[^1]), info.Shape[^2], info.Shape[^1]]);
        var blocks = Enumerable.Range(0, (int)gaussian.shape[0]).Select(d =>
        {
            var (q, r) = linalg.qr(gaussian[d]);
            return q * r.diagonal().sign().unsqueeze(0);
        });
        return stack(blocks).contiguous().data<double>().ToArray();
    }

    private static double WeightBound(ParameterInfo info, InitStyle style)
    {
        if (style == InitStyle.PyTorch)
            return 1 / Math.Sqrt(Math.Max(info.FanIn, 1)); // kaiming_uniform_(a=√5)
        if (style == InitStyle.Paddle) // Xavier-uniform, paddle's default: Linear [in,out], and ConvTranspose fans read off [in, out/g, k...]
            return info.Kind == LayerKind.ConvTranspose
                ? Math.Sqrt(6.0 / Math.Max(info.Count / info.Shape[0] + info.Count / info.Shape[1], 1))
                : Math.Sqrt(6.0 / Math.Max(info.FanIn + info.FanOut, 1));
        // glorot_uniform; a Keras depthwise kernel (kh,kw,in,mult) counts fan_in = ∏k·in and fan_out = ∏k·mult.
        long fanIn = info.FanIn, fanOut = info.FanOut;
        if (info.Kind == LayerKind.Conv && info.Groups > 1 && info.Shape.Length > 2 && info.Shape[1] == 1)
        {
            long receptive = info.Shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            fanIn = receptive * info.Groups;
            fanOut = receptive * (info.Shape[0] / info.Groups);
        }
        return Math.Sqrt(6.0 / Math.Max(fanIn + fanOut, 1));
    }

    private static double[] Filled(long count, double value) => Enumerable.Repeat(value, checked((int)count)).ToArray();

    private static double[] Uniform(long count, double bound, long seed, string key)
    {
        var rng = new SplitMix64(Mix((ulong)seed, key));
        var values = new double[count];
        for (long i = 0; i < count; i++) values[i] = (2 * rng.NextDouble() - 1) * bound;
        return values;
    }

    private static double[] Normal(long count, double std, long seed, string key)
    {
        var rng = new SplitMix64(Mix((ulong)seed, key));
        var values = new double[count];
        for (long i = 0; i < count; i++) // Box-Muller
            values[i] = std * Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
        return values;
    }

    private static ulong Mix(ulong seed, string name)
    {
        ulong h = 14695981039346656037UL ^ seed; // FNV-1a over the name, started from the seed
        foreach (var c in name) h = (h ^ c) * 1099511628211UL;
        return h;
    }

    /// <summary>A tiny, well-mixed generator whose sequence is fixed forever (unlike System.Random's implementation).</summary>
    private struct SplitMix64(ulong state)
    {
        private ulong _state = state;

        public double NextDouble()
        {
            ulong z = _state += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            z ^= z >> 31;
            return (z >> 11) * (1.0 / (1UL << 53));
        }
    }
}
