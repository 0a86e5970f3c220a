using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>Conv and ConvTranspose over 1, 2 or 3 spatial axes; 1-D runs as 2-D with a unit axis.</summary>
public static class ConvolutionOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("Conv", [1, 11], Conv);
        registry.Add("ConvTranspose", [1, 11], ConvTranspose);
    }

    private static OpKernel Conv(NodeContext node)
    {
        var weight = node.Constant(1);
        long groups = node.Int("group", 1);
        if (weight is not null)
        {
            long receptive = weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            var declaration = new ParameterDeclaration(LayerKind.Conv, ParameterRole.Weight, weight.shape[1] * receptive, weight.shape[0] * receptive, groups);
            node.Declare(1, declaration);
            node.Declare(2, declaration with { Role = ParameterRole.Bias });
        }
        var padding = new WindowPadding(node, SpatialRank(node, weight));
        var kernelShape = node.Ints("kernel_shape");

        return (inputs, run) =>
        {
            var x = inputs[0]!;
            var w = inputs[1]!;
            var b = inputs.Length > 2 ? inputs[2] : null;
            int rank = (int)x.dim() - 2;
            var kernel = kernelShape ?? w.shape.Skip(2).ToArray();
            var strides = node.Ints("strides") ?? Ones(rank);
            var dilations = node.Ints("dilations") ?? Ones(rank);
            var (begin, end) = padding.Resolve(x.shape.Skip(2).ToArray(), kernel, strides, dilations);
            var pads = begin;
            if (!WindowPadding.Symmetric(begin, end))
            {
                x = F.pad(x, WindowPadding.TorchPadArgument(begin, end));
                pads = new long[rank];
            }
            bool oneD = rank == 1;
            var x2 = oneD ? x.unsqueeze(2) : x;
            var w2 = oneD ? w.unsqueeze(2) : w;
            var s2 = oneD ? [1, .. strides] : strides;
            var p2 = oneD ? [0, .. pads] : pads;
            var d2 = oneD ? [1, .. dilations] : dilations;
            var y = (int)x2.dim() == 5
                ? F.conv3d(x2, w2, b, s2, p2, d2, groups)
                : F.conv2d(x2, w2, b, s2, p2, d2, groups);
            if (run.OnWeightLayer is { } observe && node.Declarations.TryGetValue(1, out _))
                observe(new WeightLayerCall(Weight(node), x2, y, new ConvGeometry(s2, p2, d2, groups, w2.shape[2..])));
            return [oneD ? y.squeeze(2) : y];
        };
    }

    private static OpKernel ConvTranspose(NodeContext node)
    {
        var weight = node.Constant(1);
        long groups = node.Int("group", 1);
        if (weight is not null)
        {
            // W is [in, out/groups, k...]; torch's fan rule reads dim 1, as nn.ConvTranspose does.
            long receptive = weight.shape.Skip(2).Aggregate(1L, (a, b) => a * b);
            var declaration = new ParameterDeclaration(LayerKind.ConvTranspose, ParameterRole.Weight, weight.shape[1] * receptive, weight.shape[0] * receptive, groups);
            node.Declare(1, declaration);
            node.Declare(2, declaration with { Role = ParameterRole.Bias });
        }
        var autoPad = node.String("auto_pad", "NOTSET");
        var givenPads = node.Ints("pads");
        var outputShape = node.Ints("output_shape");

        return (inputs, _) =>
        {
            var x = inputs[0]!;
            var w = inputs[1]!;
            var b = inputs.Length > 2 ? inputs[2] : null;
            int rank = (int)x.dim() - 2;
            var strides = node.Ints("strides") ?? Ones(rank);
            var dilations = node.Ints("dilations") ?? Ones(rank);
            var outputPadding = node.Ints("output_padding") ?? new long[rank];
            var explicitPads = givenPads ?? new long[2 * rank];
            // Compute the full, unpadded result, then crop the pads (and append output_padding) ourselves:
            // that covers asymmetric pads, output_shape and auto_pad, which torch's arguments cannot all express.
            bool oneD = rank == 1;
            var x2 = oneD ? x.unsqueeze(2) : x;
            var w2 = oneD ? w.unsqueeze(2) : w;
            var s2 = oneD ? [1, .. strides] : strides;
            var d2 = oneD ? [1, .. dilations] : dilations;
            var zeros = new long[s2.Length];
            var full = (int)x2.dim() == 5
                ? F.conv_transpose3d(x2, w2, null, s2, zeros, zeros, d2, groups)
                : F.conv_transpose2d(x2, w2, null, s2, zeros, zeros, d2, groups);
            if (oneD) full = full.squeeze(2);

            var y = full;
            for (int d = 0; d < rank; d++)
            {
                long inSize = x.shape[d + 2];
                long fullSize = full.shape[d + 2];
                long begin, end;
                if (outputShape is not null || autoPad is "SAME_UPPER" or "SAME_LOWER")
                {
                    long target = outputShape is not null ? outputShape[outputShape.Length - rank + d] : inSize * strides[d];
                    long total = fullSize + outputPadding[d] - target;
                    // An odd total puts the extra pad at the end only for SAME_UPPER; with output_shape alone it goes to the start.
                    begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    end = total - begin;
                    if (total < 0) (begin, end) = (0, total); // a larger output_shape extends at the end, as output_padding does
                }
                else if (autoPad == "VALID") (begin, end) = (0, 0);
                else (begin, end) = (explicitPads[d], explicitPads[d + rank]);
                end -= outputPadding[d];
                // A negative pad (an output_shape past the full result, or output_padding) extends the output with zeros.
                if (begin < 0 || end < 0) y = F.pad(y, PadOneAxis(rank, d, Math.Max(-begin, 0), Math.Max(-end, 0)));
                y = y.narrow(d + 2, Math.Max(begin, 0), y.shape[d + 2] - Math.Max(begin, 0) - Math.Max(end, 0));
            }
            if (b is not null) y = y + b.reshape([1, -1, .. Ones(rank)]);
            return [y];
        };
    }

    private static ParameterInfo Weight(NodeContext node) => node.DeclaredParameter(1)!;

    private static int SpatialRank(NodeContext node, Tensor? weight) =>
        weight is not null ? (int)weight.dim() - 2 : node.Ints("kernel_shape")?.Length ?? throw node.Unsupported("the weight is not constant and kernel_shape is missing");

    private static long[] Ones(int n) => Enumerable.Repeat(1L, n).ToArray();

    /// <summary>F.pad argument adding `amount` zeros at the end of spatial axis d of a tensor with `rank` spatial axes.</summary>
    /// <summary>F.pad's argument (last axis first) padding spatial axis d alone, by `before` and `after`.</summary>
    private static long[] PadOneAxis(int rank, int d, long before, long after)
    {
        var pad = new long[2 * rank];
        pad[2 * (rank - 1 - d)] = before;
        pad[2 * (rank - 1 - d) + 1] = after;
        return pad;
    }
}
