using OnnxGradSign.Onnx;
using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;

namespace OnnxGradSign.Import.Ops;

/// <summary>Ops that pick, place or count elements by index: triangles and diagonals, one-hot codes, running sums, top-k, gathers and scatters.</summary>
public static class IndexingOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("Trilu", 14, node =>
        {
            bool upper = node.Int("upper", 1) == 1;
            return Single(i =>
            {
                long k = i.Length > 1 && i[1] is { } diagonal ? diagonal.to_type(ScalarType.Int64).item<long>() : 0;
                return upper ? i[0]!.triu(k) : i[0]!.tril(k);
            });
        });
        registry.Add("EyeLike", 9, node =>
        {
            long k = node.Int("k", 0);
            long? dtype = node.Has("dtype") ? node.Int("dtype", 1) : null;
            return Single(i =>
            {
                var x = i[0]!;
                var diagonal = (arange(x.shape[0], device: x.device).unsqueeze(1) + k).eq(arange(x.shape[1], device: x.device).unsqueeze(0));
                return diagonal.to_type(dtype is { } d ? TensorData.TorchType((Onnx.Proto.TensorProto.Types.DataType)d) : x.dtype);
            });
        });
        registry.Add("OneHot", [9, 11], node =>
        {
            long axis = node.Int("axis", -1);
            return Single(i =>
            {
                var indices = i[0]!.to_type(ScalarType.Int64);
                long depth = (long)i[1]!.to_type(ScalarType.Float64).item<double>();
                var (off, on) = (i[2]![0], i[2]![1]);
                indices = where(indices < 0, indices + depth, indices);
                var valid = indices.ge(0).logical_and(indices.lt(depth));
                var code = nn.functional.one_hot(where(valid, indices, zeros_like(indices)), depth).mul(valid.unsqueeze(-1));
                var result = off + (on - off) * code.to_type(i[2]!.dtype);
                return axis == -1 ? result : result.movedim([-1L], [TensorOps.Axis(axis, result.dim(), "OneHot")]);
            });
        });
        registry.Add("CumSum", [11, 14], node =>
        {
            bool exclusive = node.Int("exclusive", 0) == 1, reverse = node.Int("reverse", 0) == 1;
            return Single(i =>
            {
                var x = i[0]!;
                long axis = TensorOps.Axis(i[1]!.to_type(ScalarType.Int64).item<long>(), x.dim(), "CumSum");
                var ordered = reverse ? x.flip(axis) : x;
                var sums = ordered.cumsum(axis, ordered.dtype);
                if (exclusive) sums = sums - ordered;
                return reverse ? sums.flip(axis) : sums;
            });
        });
        registry.Add("TopK", [1, 10, 11], node =>
        {
            long axis = node.Int("axis", -1);
            bool largest = node.Int("largest", 1) == 1, sorted = node.Int("sorted", 1) == 1;
            long? fixedK = node.Opset < 10 ? node.Int("k", 1) : null;
            return (inputs, _) =>
            {
                var x = inputs[0]!;
                long k = fixedK ?? inputs[1]!.reshape(-1)[0].item<long>();
                var (values, indices) = x.topk((int)k, (int)TensorOps.Axis(axis, x.dim(), "TopK"), largest, sorted);
                return [values, indices];
            };
        });
        registry.Add("NonZero", [9, 13], _ => Single(i => i[0]!.nonzero().t().contiguous()));
        registry.Add("Compress", [9, 11], node =>
        {
            long? axis = node.Has("axis") ? node.Int("axis", 0) : null;
            return Single(i =>
            {
                var x = axis is null ? i[0]!.flatten() : i[0]!;
                long a = axis is { } given ? TensorOps.Axis(given, x.dim(), "Compress") : 0;
                var kept = i[1]!.to_type(ScalarType.Bool).narrow(0, 0, Math.Min(i[1]!.shape[0], x.shape[a])).nonzero().flatten();
                return x.index_select(a, kept);
            });
        });
        registry.Add("GatherND", [11, 12, 13], node =>
        {
            long batchDims = node.Int("batch_dims", 0);
            return Single(i => GatherND(i[0]!, i[1]!.to_type(ScalarType.Int64), batchDims));
        });
        registry.Add("Scatter", 9, ScatterElements); // deprecated at 11: ScatterElements without reduction
        registry.Add("ReverseSequence", 10, node =>
        {
            long batchAxis = node.Int("batch_axis", 1), timeAxis = node.Int("time_axis", 0);
            return Single(i => ReverseSequence(i[0]!, i[1]!.to_type(ScalarType.Int64), batchAxis, timeAxis));
        });
        registry.Add("ScatterElements", [11, 13, 16, 18], ScatterElements);
        registry.Add("Unique", 11, node =>
        {
            long? axis = node.Has("axis") ? node.Int("axis", 0) : null;
            bool sorted = node.Int("sorted", 1) == 1;
            return (i, _) => Unique(i[0]!, axis, sorted);
        });
    }

    /// <summary>
    /// Unique values (or slices along the axis), each one's first index, every element's unique index, and the counts; sorted,
    /// or in order of first occurrence. The first index of each value is the smallest position of its group in a stable sort.
    /// </summary>
    private static Tensor[] Unique(Tensor x, long? axis, bool sorted)
    {
        int? dim = axis is { } a ? (int)TensorOps.Axis(a, x.dim(), "Unique") : null;
        var (values, inverse, counts) = x.unique(sorted: true, return_inverse: true, return_counts: true, dim: dim);
        var starts = counts!.cumsum(0) - counts;
        var first = inverse!.sort(0, stable: true).Indices.index_select(0, starts);
        if (!sorted)
        {
            var order = first.argsort(0);
            values = values.index_select(dim ?? 0, order);
            first = first.index_select(0, order);
            counts = counts.index_select(0, order);
            inverse = order.argsort(0).index_select(0, inverse);
        }
        return [values, first, inverse, counts];
    }

    private static OpKernel ScatterElements(NodeContext node)
    {
        long axis = node.Int("axis", 0);
        var reduction = node.String("reduction", "none");
        // TorchSharp has no scatter_reduce: mul, max and min wait for it (ScatterND's rounds could serve if a network needs them).
        if (reduction is not ("none" or "add")) throw node.Unsupported($"reduction '{reduction}'");
        return Single(i =>
        {
            var data = i[0]!;
            long a = TensorOps.Axis(axis, data.dim(), "ScatterElements");
            var index = i[1]!.to_type(ScalarType.Int64);
            index = where(index < 0, index + data.shape[a], index);
            return reduction == "add" ? data.scatter_add(a, index, i[2]!) : data.scatter(a, index, i[2]!);
        });
    }

    /// <summary>Each batch entry's first lens[b] steps along the time axis in reverse order, the rest as they are.</summary>
    private static Tensor ReverseSequence(Tensor x, Tensor lens, long batchAxis, long timeAxis)
    {
        long steps = x.shape[timeAxis];
        var t = arange(steps, device: x.device).unsqueeze(1); // [T, 1]
        var n = lens.unsqueeze(0);                            // [1, B]
        var source = where(t < n, n - 1 - t, t);              // [T, B]: the step each output step takes
        if (timeAxis > batchAxis) source = source.t();
        var shape = Enumerable.Repeat(1L, (int)x.dim()).ToArray();
        shape[timeAxis] = steps;
        shape[batchAxis] = lens.shape[0];
        return x.gather(timeAxis, source.reshape(shape).expand(x.shape));
    }

    /// <summary>
    /// GatherND: each row of the last index axis (m long) addresses a slice of data after the batch axes; the m addressed axes
    /// are flattened to one, so the whole gather is one index_select over (batch, slice).
    /// </summary>
    private static Tensor GatherND(Tensor data, Tensor indices, long batchDims)
    {
        int b = (int)batchDims;
        long m = indices.shape[^1];
        var addressed = data.shape[b..(b + (int)m)];
        var rest = data.shape[(b + (int)m)..];
        long batches = data.shape[..b].Aggregate(1L, (p, d) => p * d), slices = addressed.Aggregate(1L, (p, d) => p * d);
        var rows = indices.reshape(batches, -1, m);
        var sizes = tensor(addressed, device: data.device);
        rows = where(rows < 0, rows + sizes, rows);
        var strides = tensor(addressed.Select((_, k) => addressed.Skip(k + 1).Aggregate(1L, (p, d) => p * d)).ToArray(), device: data.device);
        var linear = (rows * strides).sum([-1]) + arange(batches, device: data.device).unsqueeze(1) * slices;
        var picked = data.reshape([batches * slices, .. rest]).index_select(0, linear.flatten());
        return picked.reshape([.. indices.shape[..^1], .. rest]);
    }
}
