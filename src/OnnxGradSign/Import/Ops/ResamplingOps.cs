using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>Pad, Resize/Upsample (nearest and linear, every coordinate mode, computed per axis), DepthToSpace and SpaceToDepth.</summary>
public static class ResamplingOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("Pad", 1, node => PadKernel(node, node.Ints("paddings"), node.Float("value", 0)));
        registry.Add("Pad", 2, node => PadKernel(node, node.Ints("pads"), node.Float("value", 0)));
        registry.Add("Pad", [11, 13, 18, 19], node => PadKernel(node, null, 0));
        registry.Add("Upsample", [7, 9], node =>
        {
            var mode = node.String("mode", "nearest");
            var scales = node.Floats("scales");
            // Upsample is Resize with the asymmetric transform and floor rounding.
            return Single(i => Resample(i[0]!, scales ?? Floats(i[1]!), null, mode, "asymmetric", "floor", node));
        });
        registry.Add("Resize", [10, 11, 13, 18, 19], Resize);
        registry.Add("GridSample", 16, node =>
        {
            var mode = node.String("mode", "bilinear") switch
            {
                "bilinear" => GridSampleMode.Bilinear,
                "nearest" => GridSampleMode.Nearest,
                "bicubic" => (GridSampleMode?)null, // TorchSharp 0.107's grid_sample has no bicubic mode: computed here
                var other => throw node.Unsupported($"mode '{other}'"),
            };
            var padding = node.String("padding_mode", "zeros") switch
            {
                "zeros" => GridSamplePaddingMode.Zeros,
                "border" => GridSamplePaddingMode.Border,
                "reflection" => GridSamplePaddingMode.Reflection,
                var other => throw node.Unsupported($"padding_mode '{other}'"),
            };
            bool alignCorners = node.Int("align_corners", 0) == 1;
            return Single(i =>
            {
                if (mode is { } torchMode) return F.grid_sample(i[0]!, i[1]!, torchMode, padding, alignCorners);
                if (i[0]!.dim() != 4) throw node.Unsupported($"bicubic sampling of a rank-{i[0]!.dim()} input (2-D images only)");
                return BicubicGridSample(i[0]!, i[1]!, padding, alignCorners);
            });
        });
        registry.Add("DepthToSpace", [1, 11, 13], node =>
        {
            long b = node.Int("blocksize", 1);
            bool crd = node.String("mode", "DCR") == "CRD";
            return Single(i =>
            {
                var x = i[0]!;
                long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
                var y = crd
                    ? x.reshape(n, c / (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
                    : x.reshape(n, b, b, c / (b * b), h, w).permute(0, 3, 4, 1, 5, 2);
                return y.reshape(n, c / (b * b), h * b, w * b);
            });
        });
        registry.Add("SpaceToDepth", [1, 13], node =>
        {
            long b = node.Int("blocksize", 1);
            return Single(i =>
            {
                var x = i[0]!;
                long n = x.shape[0], c = x.shape[1], h = x.shape[2], w = x.shape[3];
                return x.reshape(n, c, h / b, b, w / b, b).permute(0, 3, 5, 1, 2, 4).reshape(n, c * b * b, h / b, w / b);
            });
        });
    }

    /// <summary>
    /// Bicubic grid sampling as libtorch computes it (ONNX's definition): Keys' kernel with a = −0.75 over the 4×4 pixels around each
    /// sample, each tap placed by the padding mode (zeros: taps outside weigh nothing; border: clamped; reflection: mirrored).
    /// </summary>
    private static Tensor BicubicGridSample(Tensor x, Tensor grid, GridSamplePaddingMode padding, bool alignCorners)
    {
        long n = x.shape[0], channels = x.shape[1], height = x.shape[2], width = x.shape[3];
        Tensor Unnormalize(Tensor g, long size) => alignCorners ? (g + 1) / 2 * (size - 1) : ((g + 1) * size - 1) / 2;
        var column = Unnormalize(grid.select(3, 0), width);
        var row = Unnormalize(grid.select(3, 1), height);
        var (column0, row0) = (column.floor(), row.floor());
        var (columnWeights, rowWeights) = (CubicWeights(column - column0), CubicWeights(row - row0));
        var pixels = x.reshape(n, channels, height * width);
        Tensor? sum = null;
        for (int ky = 0; ky < 4; ky++)
            for (int kx = 0; kx < 4; kx++)
            {
                var (c, columnInside) = Tap(column0 + (kx - 1), width, padding, alignCorners);
                var (r, rowInside) = Tap(row0 + (ky - 1), height, padding, alignCorners);
                var index = (r * width + c).reshape(n, 1, -1).expand(n, channels, -1);
                var weight = (rowWeights[ky] * columnWeights[kx] * columnInside.logical_and(rowInside)).to_type(x.dtype).unsqueeze(1);
                var term = pixels.gather(2, index).reshape(weight.shape[0], channels, weight.shape[2], weight.shape[3]) * weight;
                sum = sum is null ? term : sum + term;
            }
        return sum!;
    }

    /// <summary>The weights of the taps at −1, 0, 1, 2 around a sample at fraction t past its pixel (a = −0.75).</summary>
    private static Tensor[] CubicWeights(Tensor t)
    {
        const double a = -0.75;
        Tensor Near(Tensor d) => ((a + 2) * d - (a + 3)) * d * d + 1;
        Tensor Far(Tensor d) => ((a * d - 5 * a) * d + 8 * a) * d - 4 * a;
        return [Far(t + 1), Near(t), Near(1 - t), Far(2 - t)];
    }

    /// <summary>A tap's pixel index after the padding mode, and whether it lies inside the image (outside ones read zero).</summary>
    private static (Tensor Index, Tensor Inside) Tap(Tensor coordinate, long size, GridSamplePaddingMode padding, bool alignCorners)
    {
        if (padding == GridSamplePaddingMode.Border) coordinate = coordinate.clamp(0, size - 1);
        else if (padding == GridSamplePaddingMode.Reflection)
        {
            // libtorch's reflect_coordinates over [low, high] (the pixel centres with align_corners, else the image's edges).
            double low = alignCorners ? 0 : -0.5, span = alignCorners ? size - 1 : size;
            if (span <= 0) coordinate = zeros_like(coordinate);
            else
            {
                var distance = (coordinate - low).abs();
                var extra = distance.fmod(span);
                var flipped = distance.div(span).floor().remainder(2).eq(1);
                coordinate = where(flipped, span - extra + low, extra + low).clamp(0, size - 1);
            }
        }
        var inside = coordinate.ge(0).logical_and(coordinate.le(size - 1));
        return (coordinate.clamp(0, size - 1).to_type(ScalarType.Int64), inside);
    }

    private static float[] Floats(Tensor t) => t.to_type(ScalarType.Float32).cpu().data<float>().ToArray();

    private static OpKernel PadKernel(NodeContext node, long[]? attributePads, double attributeValue)
    {
        var mode = node.String("mode", "constant") switch
        {
            "constant" => TorchSharp.PaddingModes.Constant,
            "reflect" => TorchSharp.PaddingModes.Reflect,
            "edge" => TorchSharp.PaddingModes.Replicate,
            "wrap" => TorchSharp.PaddingModes.Circular,
            var m => throw node.Unsupported($"pad mode '{m}'"),
        };
        return Single(i =>
        {
            var x = i[0]!;
            var pads = attributePads ?? NodeContext.ToLongs(i[1]!);
            double value = attributePads is null && i.Length > 2 && i[2] is { } v ? v.to_type(ScalarType.Float64).item<double>() : attributeValue;
            int rank = (int)x.dim();
            var axes = i.Length > 3 && i[3] is { } a
                ? NodeContext.ToLongs(a).Select(ax => ax < 0 ? ax + rank : ax).ToArray()
                : Enumerable.Range(0, rank).Select(ax => (long)ax).ToArray();
            var begin = new long[rank];
            var end = new long[rank];
            for (int k = 0; k < axes.Length; k++)
            {
                begin[axes[k]] = pads[k];
                end[axes[k]] = pads[k + axes.Length];
            }
            // Negative pads crop.
            for (int d = 0; d < rank; d++)
            {
                if (begin[d] < 0) { x = x.narrow(d, -begin[d], x.shape[d] + begin[d]); begin[d] = 0; }
                if (end[d] < 0) { x = x.narrow(d, 0, x.shape[d] + end[d]); end[d] = 0; }
            }
            int first = Enumerable.Range(0, rank).FirstOrDefault(d => begin[d] != 0 || end[d] != 0, -1);
            if (first < 0) return x.alias();
            // Torch pads the trailing axes from the first padded one; reflect/edge/wrap reach at most the last 3 axes after a batch axis,
            // and no fewer than all axes after batch and channel, so a pad of the last axis alone is widened with zero pads.
            if (mode != TorchSharp.PaddingModes.Constant) first = Math.Min(first, Math.Min(2, rank - 1));
            if (mode != TorchSharp.PaddingModes.Constant && (first < rank - 3 || first < 1))
                throw new NotSupportedException($"{mode} padding of axis {first} (torch pads at most the last 3 axes after the batch axis)");
            return F.pad(x, WindowPadding.TorchPadArgument(begin[first..], end[first..]), mode, value);
        });
    }

    private static OpKernel Resize(NodeContext node)
    {
        var mode = node.String("mode", "nearest");
        var transform = node.Opset < 11 ? "asymmetric" : node.String("coordinate_transformation_mode", "half_pixel");
        var nearestMode = node.Opset < 11 ? "floor" : node.String("nearest_mode", "round_prefer_floor");
        if (node.Int("antialias", 0) != 0) throw node.Unsupported("antialias");
        if (node.Has("axes")) throw node.Unsupported("the axes attribute");
        if (node.String("keep_aspect_ratio_policy", "stretch") != "stretch") throw node.Unsupported("keep_aspect_ratio_policy");
        int scalesInput = node.Opset < 11 ? 1 : 2;
        return Single(i =>
        {
            var scales = i.Length > scalesInput && i[scalesInput] is { NumberOfElements: > 0 } s ? Floats(s) : null;
            var sizes = i.Length > 3 && i[3] is { NumberOfElements: > 0 } z ? NodeContext.ToLongs(z) : null;
            Crop? crop = null;
            if (transform == "tf_crop_and_resize")
            {
                var roi = i[1] is { } r ? r.to_type(ScalarType.Float64).cpu().data<double>().ToArray() : null;
                if (roi is null || roi.Length != 2 * i[0]!.dim())
                    throw node.Unsupported($"tf_crop_and_resize needs an roi of {2 * i[0]!.dim()} values (starts, then ends), not {roi?.Length ?? 0}");
                crop = new Crop(roi, node.Float("extrapolation_value", 0));
            }
            return Resample(i[0]!, scales, sizes, mode, transform, nearestMode, node, crop);
        });
    }

    /// <summary>Separable resampling: each axis whose size changes is gathered (nearest) or blended from two gathers (linear).</summary>
    /// <summary>
    /// Cubic convolution along one axis (Keys' kernel with coefficient a): four taps around each source coordinate, edge samples
    /// repeated beyond the border, or with exclude_outside the taps outside dropped and the rest renormalized.
    /// </summary>
    private static Tensor Cubic(Tensor x, int axis, Tensor source, long inSize, double a, bool excludeOutside)
    {
        var floor = source.floor();
        var t = source - floor;
        long[] along = [.. Enumerable.Range(0, (int)x.dim()).Select(d => d == axis ? -1L : 1L)];
        Tensor? sum = null, weights = null;
        for (int k = -1; k <= 2; k++)
        {
            var index = floor + k;
            var d = (t - k).abs();
            var w = where(d <= 1, ((a + 2) * d - (a + 3)) * d * d + 1, where(d < 2, ((a * d - 5 * a) * d + 8 * a) * d - 4 * a, zeros_like(d)));
            if (excludeOutside) w = where(index.lt(0).logical_or(index.ge(inSize)), zeros_like(w), w);
            var term = x.index_select(axis, index.clamp(0, inSize - 1).to_type(ScalarType.Int64)) * w.to_type(x.dtype).reshape(along);
            sum = sum is null ? term : sum + term;
            weights = weights is null ? w : weights + w;
        }
        return excludeOutside ? sum! / weights!.to_type(x.dtype).reshape(along) : sum!;
    }

    /// <summary>2^31 elements (8 GiB of float32): past any network's feature map, where a hostile scale would exhaust memory.</summary>
    private const double MaxOutputElements = 1L << 31;

    /// <summary>tf_crop_and_resize's region, normalized starts then ends per axis, and the value of samples outside the input.</summary>
    private sealed record Crop(double[] Roi, double Extrapolation);

    private static Tensor Resample(Tensor x, float[]? scales, long[]? sizes, string mode, string transform, string nearestMode, NodeContext node, Crop? crop = null)
    {
        if (mode is not ("nearest" or "linear" or "bilinear" or "trilinear" or "cubic")) throw new NotSupportedException($"mode '{mode}'");
        int count = scales?.Length ?? sizes?.Length ?? throw new ArgumentException("neither scales nor sizes is given");
        if (count != x.dim()) throw new ArgumentException($"{(scales is null ? "sizes" : "scales")} has {count} values for a rank-{x.dim()} input");
        if (scales is not null && scales.Any(s => !float.IsFinite(s) || s <= 0))
            throw new ArgumentException($"scales [{string.Join(",", scales)}] must be finite and positive");
        if (sizes is not null && sizes.Any(s => s <= 0)) throw new ArgumentException($"sizes [{string.Join(",", sizes)}] must be positive");
        int rank = (int)x.dim();
        double elements = Enumerable.Range(0, rank).Aggregate(1.0, (p, a) => p * (sizes?[a] ?? Math.Floor(x.shape[a] * (double)scales![a])));
        if (elements > MaxOutputElements)
            throw new ArgumentException($"the output would hold {elements:G3} elements, more than the {MaxOutputElements:G3} a resized tensor may have");
        for (int axis = 0; axis < x.dim(); axis++)
        {
            long inSize = x.shape[axis];
            // The size from a scale is computed in float32, as ONNX Runtime does (5 × 2.6f is 13 there, 12.99… in float64).
            // With tf_crop_and_resize too, as ONNX Runtime does: ONNX's spec would scale the region's extent instead.
            long outSize = sizes?[axis] ?? (long)MathF.Floor(inSize * scales![axis]);
            double scale = scales is not null && sizes is null ? scales[axis] : (double)outSize / inSize;
            bool wholeAxis = crop is null || (crop.Roi[axis] == 0 && crop.Roi[axis + rank] == 1);
            if (outSize == inSize && scale == 1 && wholeAxis) continue;
            var position = arange(outSize, ScalarType.Float64, x.device);
            var source = transform switch
            {
                "half_pixel" => (position + 0.5) / scale - 0.5,
                "pytorch_half_pixel" => outSize > 1 ? (position + 0.5) / scale - 0.5 : zeros_like(position),
                // The output's own size, as ONNX Runtime (and ONNX's later reference) uses; onnx 1.12's test data used inSize·scale.
                "align_corners" => outSize > 1 ? position * ((double)(inSize - 1) / (outSize - 1)) : zeros_like(position),
                "asymmetric" => position / scale,
                "tf_half_pixel_for_nn" => (position + 0.5) / scale,
                "half_pixel_symmetric" => HalfPixelSymmetric(position, inSize, outSize, scale),
                "tf_crop_and_resize" => outSize > 1
                    ? crop!.Roi[axis] * (inSize - 1) + position * ((crop.Roi[axis + rank] - crop.Roi[axis]) * (inSize - 1) / (outSize - 1))
                    : full_like(position, 0.5 * (crop!.Roi[axis] + crop.Roi[axis + rank]) * (inSize - 1)),
                _ => throw new NotSupportedException($"coordinate_transformation_mode '{transform}'"),
            };
            if (mode == "nearest")
            {
                var index = nearestMode switch
                {
                    "round_prefer_floor" => (source - 0.5).ceil(),
                    "round_prefer_ceil" => (source + 0.5).floor(),
                    "floor" => source.floor(),
                    "ceil" => source.ceil(),
                    _ => throw new NotSupportedException($"nearest_mode '{nearestMode}'"),
                };
                x = x.index_select(axis, index.clamp(0, inSize - 1).to_type(ScalarType.Int64));
            }
            else if (mode == "cubic")
            {
                x = Cubic(x, axis, source, inSize, node.Float("cubic_coeff_a", -0.75f), node.Int("exclude_outside", 0) == 1);
            }
            else
            {
                var clamped = source.clamp(0, inSize - 1);
                var low = clamped.floor();
                var high = (low + 1).clamp_max(inSize - 1);
                var weight = (clamped - low).to_type(x.dtype).reshape([.. Enumerable.Range(0, (int)x.dim()).Select(d => d == axis ? -1L : 1L)]);
                var a = x.index_select(axis, low.to_type(ScalarType.Int64));
                var b = x.index_select(axis, high.to_type(ScalarType.Int64));
                x = a + (b - a) * weight;
            }
            if (crop is not null) // samples outside the input take the extrapolation value
            {
                var outside = source.lt(0).logical_or(source.gt(inSize - 1)).reshape([.. Enumerable.Range(0, rank).Select(d => d == axis ? -1L : 1L)]);
                x = where(outside, full_like(x, crop.Extrapolation), x);
            }
        }
        return x;
    }

    private static Tensor HalfPixelSymmetric(Tensor position, long inSize, long outSize, double scale)
    {
        double adjustment = outSize / (scale * inSize);
        double center = inSize / 2.0;
        double offset = center * (1 - adjustment);
        return offset + (position + 0.5) / scale - 0.5;
    }
}
