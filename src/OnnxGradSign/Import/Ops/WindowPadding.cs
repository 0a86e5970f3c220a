namespace OnnxGradSign.Import.Ops;

/// <summary>
/// The explicit begin/end padding of a windowed op (Conv, pools), resolving auto_pad against the actual input size,
/// since SAME_UPPER/SAME_LOWER pads depend on it and may be asymmetric.
/// </summary>
public sealed class WindowPadding
{
    private readonly string _autoPad;
    private readonly long[] _pads;

    public WindowPadding(NodeContext node, int spatialRank)
    {
        _autoPad = node.String("auto_pad", "NOTSET");
        _pads = node.Ints("pads") ?? new long[2 * spatialRank];
        if (_autoPad is not ("NOTSET" or "SAME_UPPER" or "SAME_LOWER" or "VALID"))
            throw node.Unsupported($"auto_pad '{_autoPad}'");
        if (_pads.Length != 2 * spatialRank)
            throw node.Unsupported($"pads has {_pads.Length} values for {spatialRank} spatial dimensions");
    }

    /// <summary>Begin and end pads per spatial axis for an input of the given spatial sizes.</summary>
    public (long[] Begin, long[] End) Resolve(long[] inputSize, long[] kernel, long[] strides, long[] dilations)
    {
        int rank = inputSize.Length;
        var begin = new long[rank];
        var end = new long[rank];
        for (int d = 0; d < rank; d++)
        {
            switch (_autoPad)
            {
                case "NOTSET":
                    begin[d] = _pads[d];
                    end[d] = _pads[d + rank];
                    break;
                case "VALID":
                    break;
                default:
                    long outSize = (inputSize[d] + strides[d] - 1) / strides[d];
                    long total = Math.Max((outSize - 1) * strides[d] + (kernel[d] - 1) * dilations[d] + 1 - inputSize[d], 0);
                    // SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the beginning.
                    begin[d] = _autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
                    end[d] = total - begin[d];
                    break;
            }
        }
        return (begin, end);
    }

    public static bool Symmetric(long[] begin, long[] end) => begin.SequenceEqual(end);

    /// <summary>The argument of F.pad for begin/end pads over the trailing spatial axes (F.pad lists the last axis first).</summary>
    public static long[] TorchPadArgument(long[] begin, long[] end)
    {
        var pad = new long[begin.Length * 2];
        for (int d = 0; d < begin.Length; d++)
        {
            pad[2 * d] = begin[begin.Length - 1 - d];
            pad[2 * d + 1] = end[begin.Length - 1 - d];
        }
        return pad;
    }
}
