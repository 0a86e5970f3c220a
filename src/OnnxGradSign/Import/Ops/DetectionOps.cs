using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;

namespace OnnxGradSign.Import.Ops;

/// <summary>The box ops of detection heads: NonMaxSuppression (indices, no gradient) and RoiAlign (differentiable in the features).</summary>
public static class DetectionOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("NonMaxSuppression", [10, 11], NonMaxSuppression);
        registry.Add("RoiAlign", [10, 16], RoiAlign);
    }

    /// <summary>
    /// Greedy suppression per batch and class, as ONNX Runtime does it: boxes scoring above score_threshold, best first (ties by
    /// index), each kept unless its IoU with a kept box exceeds iou_threshold, at most max_output_boxes_per_class (0: none) each.
    /// Output [selected, 3] of (batch, class, box) indices.
    /// </summary>
    private static OpKernel NonMaxSuppression(NodeContext node)
    {
        bool centerPoint = node.Int("center_point_box", 0) == 1;
        return Single(i =>
        {
            var (boxes, scores) = (i[0]!, i[1]!);
            if (boxes.dim() != 3 || boxes.shape[2] != 4 || scores.dim() != 3 || scores.shape[0] != boxes.shape[0] || scores.shape[2] != boxes.shape[1])
                throw node.Unsupported($"boxes [{string.Join(",", boxes.shape)}] and scores [{string.Join(",", scores.shape)}] must be [B,N,4] and [B,C,N]");
            long maxPerClass = i.Length > 2 && i[2] is { } m ? NodeContext.ToLongs(m)[0] : 0;
            double iouThreshold = i.Length > 3 && i[3] is { } t ? t.to_type(ScalarType.Float64).item<double>() : 0;
            double? scoreThreshold = i.Length > 4 && i[4] is { } s ? s.to_type(ScalarType.Float64).item<double>() : null;
            var corners = Corners(boxes.to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray(), centerPoint);
            var allScores = scores.to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
            long batches = boxes.shape[0], count = boxes.shape[1], classes = scores.shape[1];
            var selected = new List<long>();
            for (long b = 0; b < batches; b++)
                for (long c = 0; c < classes; c++)
                {
                    long scoreBase = (b * classes + c) * count;
                    var candidates = Enumerable.Range(0, (int)count).Select(n => (long)n)
                        .Where(n => scoreThreshold is not { } least || allScores[scoreBase + n] > least)
                        .OrderByDescending(n => allScores[scoreBase + n]).ToList(); // stable: ties keep index order
                    var kept = new List<long>();
                    foreach (var n in candidates)
                    {
                        if (kept.Count >= maxPerClass) break;
                        if (kept.Any(k => IntersectionOverUnion(corners, b * count + k, b * count + n) > iouThreshold)) continue;
                        kept.Add(n);
                        selected.AddRange([b, c, n]);
                    }
                }
            return tensor(selected.ToArray(), [selected.Count / 3, 3], device: boxes.device);
        });
    }

    /// <summary>Each box as (y_min, x_min, y_max, x_max): corner boxes may give either diagonal, center boxes are (x, y, w, h).</summary>
    private static double[] Corners(double[] boxes, bool centerPoint)
    {
        var corners = new double[boxes.Length];
        for (int k = 0; k < boxes.Length; k += 4)
        {
            double y1, x1, y2, x2;
            if (centerPoint)
            {
                (x1, x2) = (boxes[k] - boxes[k + 2] / 2, boxes[k] + boxes[k + 2] / 2);
                (y1, y2) = (boxes[k + 1] - boxes[k + 3] / 2, boxes[k + 1] + boxes[k + 3] / 2);
            }
            else (y1, x1, y2, x2) = (boxes[k], boxes[k + 1], boxes[k + 2], boxes[k + 3]);
            (corners[k], corners[k + 1], corners[k + 2], corners[k + 3]) = (Math.Min(y1, y2), Math.Min(x1, x2), Math.Max(y1, y2), Math.Max(x1, x2));
        }
        return corners;
    }

    private static double IntersectionOverUnion(double[] corners, long a, long b)
    {
        double Area(long k) => (corners[4 * k + 2] - corners[4 * k]) * (corners[4 * k + 3] - corners[4 * k + 1]);
        double height = Math.Min(corners[4 * a + 2], corners[4 * b + 2]) - Math.Max(corners[4 * a], corners[4 * b]);
        double width = Math.Min(corners[4 * a + 3], corners[4 * b + 3]) - Math.Max(corners[4 * a + 1], corners[4 * b + 1]);
        if (height <= 0 || width <= 0 || Area(a) <= 0 || Area(b) <= 0) return 0;
        double intersection = height * width;
        return intersection / (Area(a) + Area(b) - intersection);
    }

    /// <summary>
    /// Region features [rois, C, output_height, output_width]: each bin the mean (or max) of bilinear samples on a regular grid,
    /// sampling_ratio per axis or ⌈roi size / bins⌉ when 0, as ONNX Runtime computes them. Bilinear weights factor into a row and a
    /// column matrix per corner, so every sample of a region is one pair of matrix products over the features.
    /// </summary>
    private static OpKernel RoiAlign(NodeContext node)
    {
        bool max = node.String("mode", "avg") switch
        {
            "avg" => false,
            "max" => true,
            var other => throw node.Unsupported($"mode '{other}'"),
        };
        long outHeight = node.Int("output_height", 1), outWidth = node.Int("output_width", 1), samplingRatio = node.Int("sampling_ratio", 0);
        if (outHeight < 1 || outWidth < 1 || samplingRatio < 0) throw node.Unsupported("output_height and output_width must be positive, sampling_ratio not negative");
        double spatialScale = node.Float("spatial_scale", 1);
        // Opset 10 had no offset; 16 added half_pixel, its default.
        bool halfPixel = node.Opset >= 16 && node.String("coordinate_transformation_mode", "half_pixel") == "half_pixel";
        return Single(i =>
        {
            var (x, rois) = (i[0]!, i[1]!);
            if (x.dim() != 4 || rois.dim() != 2 || rois.shape[1] != 4) throw node.Unsupported($"X must be [N,C,H,W] and rois [R,4], not [{string.Join(",", x.shape)}] and [{string.Join(",", rois.shape)}]");
            var boxes = rois.to_type(ScalarType.Float64).cpu().contiguous().data<double>().ToArray();
            var batch = NodeContext.ToLongs(i[2]!);
            long height = x.shape[2], width = x.shape[3];
            var regions = new List<Tensor>();
            for (int r = 0; r < batch.Length; r++)
            {
                if (batch[r] < 0 || batch[r] >= x.shape[0]) throw node.Unsupported($"batch index {batch[r]} of roi {r} is outside the {x.shape[0]} images");
                double offset = halfPixel ? 0.5 : 0;
                double startX = boxes[4 * r] * spatialScale - offset, startY = boxes[4 * r + 1] * spatialScale - offset;
                double roiWidth = boxes[4 * r + 2] * spatialScale - offset - startX, roiHeight = boxes[4 * r + 3] * spatialScale - offset - startY;
                if (!halfPixel) (roiWidth, roiHeight) = (Math.Max(roiWidth, 1), Math.Max(roiHeight, 1));
                long gridY = samplingRatio > 0 ? samplingRatio : (long)Math.Max(0, Math.Ceiling(roiHeight / outHeight));
                long gridX = samplingRatio > 0 ? samplingRatio : (long)Math.Max(0, Math.Ceiling(roiWidth / outWidth));
                // The interpolation matrices hold samples × pixels: a hostile output size or sampling ratio would exhaust memory.
                if ((double)outHeight * Math.Max(gridY, 1) * height + (double)outWidth * Math.Max(gridX, 1) * width > MaxInterpolationWeights)
                    throw node.Unsupported($"roi {r} would take {outHeight}×{gridY} by {outWidth}×{gridX} samples, more than RoiAlign computes here");
                var (rowsLow, rowsHigh) = SampleWeights(startY, roiHeight / outHeight, outHeight, gridY, height, x);
                var (colsLow, colsHigh) = SampleWeights(startX, roiWidth / outWidth, outWidth, gridX, width, x);
                var features = x[batch[r]]; // [C, H, W]
                Tensor Corner(Tensor rows, Tensor cols) => rows.matmul(features).matmul(cols.t()); // [C, out·gridY, out·gridX]
                Tensor samples;
                if (max) // ONNX Runtime takes the largest weighted corner of each sample
                    samples = maximum(maximum(Corner(rowsLow, colsLow), Corner(rowsLow, colsHigh)), maximum(Corner(rowsHigh, colsLow), Corner(rowsHigh, colsHigh)));
                else samples = Corner(rowsLow + rowsHigh, colsLow + colsHigh);
                var grid = samples.reshape(x.shape[1], outHeight, Math.Max(gridY, 1), outWidth, Math.Max(gridX, 1));
                regions.Add(gridY * gridX == 0 ? zeros([x.shape[1], outHeight, outWidth], x.dtype, x.device)
                    : max ? grid.amax([2, 4]) : grid.mean([2, 4]));
            }
            return regions.Count == 0 ? zeros([0, x.shape[1], outHeight, outWidth], x.dtype, x.device) : stack(regions);
        });
    }

    /// <summary>2^26 weights (512 MiB of float64): past any detection head's regions.</summary>
    private const double MaxInterpolationWeights = 1L << 26;

    /// <summary>
    /// For the samples along one axis (bins·grid of them), the interpolation weights onto the low and the high neighbouring pixel,
    /// as [samples, size] matrices; a sample more than a pixel outside the image weighs nothing, one past the last pixel clamps to it.
    /// </summary>
    private static (Tensor Low, Tensor High) SampleWeights(double start, double binSize, long bins, long grid, long size, Tensor like)
    {
        long samples = bins * Math.Max(grid, 1);
        var low = new double[samples * size];
        var high = new double[samples * size];
        for (long bin = 0; bin < bins; bin++)
            for (long g = 0; g < grid; g++)
            {
                long row = bin * grid + g;
                double at = start + bin * binSize + (g + 0.5) * binSize / grid;
                if (at < -1 || at > size) continue;
                at = Math.Max(at, 0);
                long lower = (long)at, upper = lower + 1;
                if (lower >= size - 1) (lower, upper, at) = (size - 1, size - 1, size - 1);
                double fraction = at - lower;
                low[row * size + lower] += 1 - fraction;
                high[row * size + upper] += fraction;
            }
        return (tensor(low, [samples, size]).to(like.dtype, like.device), tensor(high, [samples, size]).to(like.dtype, like.device));
    }
}
