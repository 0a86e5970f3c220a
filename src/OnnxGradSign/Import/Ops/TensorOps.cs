using OnnxGradSign.Onnx;
using static TorchSharp.torch;
using static OnnxGradSign.Import.Ops.ElementwiseOps;

namespace OnnxGradSign.Import.Ops;

/// <summary>Constants, shapes and data movement: the ops that shape arithmetic chains are made of, plus Identity, Dropout and Cast.</summary>
public static class TensorOps
{
    public static void Register(OpRegistry registry)
    {
        registry.Add("Constant", [1, 9, 11, 12, 13], Constant);
        registry.Add("ConstantOfShape", 9, node =>
        {
            var value = node.TensorAttribute("value") ?? zeros(1, ScalarType.Float32);
            return Single(i => full(NodeContext.ToLongs(i[0]!), value.reshape(-1)[0].ToScalar(), value.dtype, i[0]!.device));
        });
        registry.Add("Identity", [1, 13, 14, 16], _ => Single(i => i[0]!.alias()));
        registry.Add("Dropout", [1, 6, 7, 10, 12, 13], Dropout);
        registry.Add("Cast", [1, 6, 13, 19], Cast);
        registry.Add("CastLike", [15, 19], _ => Single(i => i[0]!.to_type(i[1]!.dtype)));
        registry.Add("Shape", [1, 13, 15], Shape);
        registry.Add("Size", [1, 13], _ => Single(i => tensor(i[0]!.NumberOfElements, ScalarType.Int64)));
        registry.Add("Reshape", 1, node => { var shape = node.Ints("shape")!; return Single(i => Reshape(i[0]!, shape, false)); });
        registry.Add("Reshape", [5, 13, 14], node =>
        {
            bool allowZero = node.Int("allowzero", 0) == 1;
            var constantShape = node.ConstantLongs(1);
            return Single(i => Reshape(i[0]!, constantShape ?? NodeContext.ToLongs(i[1]!), allowZero));
        });
        registry.Add("Flatten", [1, 9, 11, 13], node =>
        {
            long axis = node.Int("axis", 1);
            return Single(i =>
            {
                var x = i[0]!;
                // Flatten's axis lies in [−rank, rank]: axis = rank flattens everything into the outer axis.
                long a = axis == x.dim() ? axis : Axis(axis, x.dim(), "Flatten");
                long outer = x.shape[..(int)a].Aggregate(1L, (p, d) => p * d);
                return x.reshape(outer, -1);
            });
        });
        registry.Add("Transpose", [1, 13], node =>
        {
            var perm = node.Ints("perm");
            return Single(i => i[0]!.permute(perm ?? Enumerable.Range(0, (int)i[0]!.dim()).Reverse().Select(a => (long)a).ToArray()));
        });
        registry.Add("Squeeze", [1, 11], node => { var axes = node.Ints("axes"); return Single(i => Squeeze(i[0]!, axes)); });
        registry.Add("Squeeze", 13, node => Single(i => Squeeze(i[0]!, i.Length > 1 && i[1] is { } a ? NodeContext.ToLongs(a) : null)));
        registry.Add("Unsqueeze", [1, 11], node => { var axes = node.Ints("axes")!; return Single(i => Unsqueeze(i[0]!, axes)); });
        registry.Add("Unsqueeze", 13, node =>
        {
            var axes = node.ConstantLongs(1);
            return Single(i => Unsqueeze(i[0]!, axes ?? NodeContext.ToLongs(i[1]!)));
        });
        registry.Add("Concat", [1, 4, 11, 13], node =>
        {
            long axis = node.Int("axis", 1);
            // Empty shape tensors (e.g. a 0-length piece of a shape) may come as float; keep the others' type.
            return Single(i => cat(i.Where(t => t is not null).Select(t => t!).ToArray(), axis));
        });
        registry.Add("Split", [1, 2, 11, 13, 18], Split);
        registry.Add("Slice", 1, node =>
        {
            var starts = node.Ints("starts")!;
            var ends = node.Ints("ends")!;
            var axes = node.Ints("axes");
            return Single(i => Slice(i[0]!, starts, ends, axes, null));
        });
        registry.Add("Slice", [10, 11, 13], node => Single(i =>
            Slice(i[0]!, NodeContext.ToLongs(i[1]!), NodeContext.ToLongs(i[2]!), Optional(i, 3), Optional(i, 4))));
        registry.Add("Gather", [1, 11, 13], node =>
        {
            long axis = node.Int("axis", 0);
            if (node.Constant(0) is { } table && table.is_floating_point() && table.dim() == 2 && axis == 0 && !node.IsConstant(1))
                node.Declare(0, new ParameterDeclaration(LayerKind.Embedding, ParameterRole.Weight, table.shape[0], table.shape[1]));
            return Single(i => Gather(i[0]!, i[1]!, axis));
        });
        registry.Add("GatherElements", [11, 13], node =>
        {
            long axis = node.Int("axis", 0);
            return Single(i => i[0]!.gather(axis, Wrap(i[1]!, i[0]!.shape[axis < 0 ? axis + i[0]!.dim() : axis])));
        });
        // 16 added reduction add/mul, 18 max/min; 13 only widened the types.
        registry.Add("ScatterND", [11, 16, 18], ScatterND);
        registry.Add("Expand", [8, 13], _ => Single(i => Expand(i[0]!, NodeContext.ToLongs(i[1]!))));
        registry.Add("Tile", [6, 13], _ => Single(i => i[0]!.tile(NodeContext.ToLongs(i[1]!))));
        registry.Add("Range", 11, _ => Single(i => arange(Scalar(i[0]!), Scalar(i[1]!), Scalar(i[2]!), i[0]!.dtype, i[0]!.device)));
        registry.Add("Einsum", 12, node => { var equation = node.String("equation", ""); return Single(i => einsum(equation, i.Select(t => t!).ToArray())); });
    }

    private static TorchSharp.Scalar Scalar(Tensor t) =>
        t.is_floating_point() ? t.to_type(ScalarType.Float64).item<double>() : t.to_type(ScalarType.Int64).item<long>();

    private static long[]? Optional(Tensor?[] inputs, int i) => inputs.Length > i && inputs[i] is { } t ? NodeContext.ToLongs(t) : null;

    private static OpKernel Constant(NodeContext node)
    {
        var value = node.TensorAttribute("value")
            ?? (node.Has("value_float") ? tensor(node.Float("value_float", 0)) : null)
            ?? (node.Floats("value_floats") is { } floats ? tensor(floats) : null)
            ?? (node.Has("value_int") ? tensor(node.Int("value_int", 0)) : null)
            ?? (node.Ints("value_ints") is { } ints ? tensor(ints) : null)
            ?? throw node.Unsupported("only value, value_float(s) and value_int(s) constants are supported");
        return (_, _) => [value];
    }

    private static OpKernel Dropout(NodeContext node)
    {
        // Scoring is deterministic: Dropout is the identity, whatever its ratio or training_mode; the mask is all ones.
        return (inputs, _) => node.OutputCount > 1
            ? [inputs[0]!.alias(), ones_like(inputs[0]!, ScalarType.Bool)]
            : [inputs[0]!.alias()];
    }

    private static OpKernel Cast(NodeContext node)
    {
        var to = node.Opset < 6
            ? Enum.Parse<Onnx.Proto.TensorProto.Types.DataType>(node.String("to", "FLOAT"), ignoreCase: true)
            : (Onnx.Proto.TensorProto.Types.DataType)node.Int("to", 1);
        ScalarType type;
        try { type = TensorData.TorchType(to); }
        catch (InvalidDataException e) { throw node.Unsupported(e.Message); }
        // Half-precision targets are computed in float32 but keep half precision's rounding, as the graph's arithmetic expects.
        ScalarType? rounding = to switch
        {
            Onnx.Proto.TensorProto.Types.DataType.Float16 => ScalarType.Float16,
            Onnx.Proto.TensorProto.Types.DataType.Bfloat16 => ScalarType.BFloat16,
            _ => null,
        };
        return Single(i => rounding is { } half && i[0]!.is_floating_point() ? i[0]!.to_type(half).to_type(type) : i[0]!.to_type(type));
    }

    private static OpKernel Shape(NodeContext node)
    {
        long? start = node.Has("start") ? node.Int("start", 0) : null;
        long? end = node.Has("end") ? node.Int("end", 0) : null;
        return Single(i =>
        {
            var shape = i[0]!.shape;
            int rank = shape.Length;
            int Clamp(long v) => (int)Math.Clamp(v < 0 ? v + rank : v, 0, rank);
            return tensor(shape[Clamp(start ?? 0)..Clamp(end ?? rank)], ScalarType.Int64);
        });
    }

    private static Tensor Reshape(Tensor x, long[] shape, bool allowZero)
    {
        // 0 copies the input's size at that position unless allowzero says 0 means an empty axis.
        var target = shape.Select((d, k) => d == 0 && !allowZero ? x.shape[k] : d).ToArray();
        return x.reshape(target);
    }

    private static Tensor Squeeze(Tensor x, long[]? axes)
    {
        if (axes is null || axes.Length == 0) return x.squeeze();
        foreach (var a in DistinctAxes(axes, x.dim(), "Squeeze").OrderDescending())
        {
            if (x.shape[a] != 1) throw new ArgumentException($"Squeeze of axis {a}, whose size is {x.shape[a]}, not 1");
            x = x.squeeze(a);
        }
        return x;
    }

    private static Tensor Unsqueeze(Tensor x, long[] axes)
    {
        foreach (var a in DistinctAxes(axes, x.dim() + axes.Length, "Unsqueeze").Order()) x = x.unsqueeze(a);
        return x;
    }

    /// <summary>An axis in [−rank, rank) as a non-negative index; anything else is the node's error (libtorch would index anywhere).</summary>
    internal static long Axis(long axis, long rank, string op)
    {
        if (axis < -rank || axis >= rank) throw new ArgumentException($"{op} axis {axis} is out of range for rank {rank}");
        return axis < 0 ? axis + rank : axis;
    }

    private static long[] DistinctAxes(long[] axes, long rank, string op)
    {
        var normalized = axes.Select(a => Axis(a, rank, op)).ToArray();
        if (normalized.Distinct().Count() != normalized.Length) throw new ArgumentException($"{op} axes [{string.Join(",", axes)}] repeat an axis");
        return normalized;
    }

    private static OpKernel Split(NodeContext node)
    {
        long axis = node.Int("axis", 0);
        var splitAttribute = node.Ints("split");
        long numOutputs = node.Int("num_outputs", node.OutputCount);
        return (inputs, _) =>
        {
            var x = inputs[0]!;
            long a = axis < 0 ? axis + x.dim() : axis;
            var sizes = splitAttribute ?? (inputs.Length > 1 && inputs[1] is { } s ? NodeContext.ToLongs(s) : null);
            if (sizes is null)
            {
                long chunk = (x.shape[a] + numOutputs - 1) / numOutputs; // the last piece may be smaller (opset 18)
                sizes = Enumerable.Range(0, (int)numOutputs).Select(k => Math.Min(chunk, x.shape[a] - k * chunk)).ToArray();
            }
            return x.split(sizes, a);
        };
    }

    private static Tensor Slice(Tensor x, long[] starts, long[] ends, long[]? axes, long[]? steps)
    {
        axes ??= Enumerable.Range(0, starts.Length).Select(a => (long)a).ToArray();
        for (int k = 0; k < axes.Length; k++)
        {
            long axis = axes[k] < 0 ? axes[k] + x.dim() : axes[k];
            long size = x.shape[axis];
            if (size == 0) continue; // any slice of an empty axis is empty
            long step = steps?[k] ?? 1;
            long start = starts[k] < 0 ? starts[k] + size : starts[k];
            long end = ends[k] < 0 ? ends[k] + size : ends[k];
            if (step > 0)
            {
                start = Math.Clamp(start, 0, size);
                end = Math.Clamp(end, 0, size);
                x = x.slice(axis, start, Math.Max(start, end), step);
            }
            else
            {
                // Negative steps walk backwards from start (clamped into the axis) down to end (-1 keeps element 0): flip, then slice forwards.
                start = Math.Clamp(start, 0, size - 1);
                end = Math.Clamp(end, -1, size - 1);
                var flipped = x.flip(axis);
                long s = size - 1 - start, e = size - 1 - end;
                x = flipped.slice(axis, s, Math.Max(s, e), -step);
            }
        }
        return x;
    }

    private static Tensor Wrap(Tensor indices, long size) => where(indices < 0, indices + size, indices).to_type(ScalarType.Int64);

    private static Tensor Gather(Tensor data, Tensor indices, long axis)
    {
        long a = Axis(axis, data.dim(), "Gather");
        var flat = Wrap(indices, data.shape[a]).reshape(-1);
        var picked = data.index_select(a, flat);
        return picked.reshape([.. data.shape[..(int)a], .. indices.shape, .. data.shape[((int)a + 1)..]]);
    }

    /// <summary>
    /// ScatterND: each index row (the last axis of indices, k long) addresses a slice data[i0,…,ik-1] that its update replaces or
    /// combines into. The k leading axes are flattened to one, so "none" and "add" are one index_copy/index_add on axis 0.
    /// torchvision's Swin builds its shifted-window attention mask this way (mask[h_slice, w_slice] = n).
    /// </summary>
    private static OpKernel ScatterND(NodeContext node)
    {
        var reduction = node.String("reduction", "none");
        Func<Tensor, Tensor, Tensor>? combine = reduction switch
        {
            "none" or "add" => null,
            "mul" => (a, b) => a * b,
            "max" => maximum,
            "min" => minimum,
            _ => throw node.Unsupported($"reduction '{reduction}'"),
        };
        return Single(i =>
        {
            var (data, indices, updates) = (i[0]!, i[1]!, i[2]!);
            int k = (int)indices.shape[^1];
            var sliceShape = data.shape[k..];
            var linear = zeros(indices.shape[..^1], ScalarType.Int64, data.device);
            for (int j = 0; j < k; j++) linear = linear * data.shape[j] + Wrap(indices.select(-1, j), data.shape[j]);
            linear = linear.reshape(-1);
            var rows = data.reshape([-1, .. sliceShape]);
            var source = updates.reshape([-1, .. sliceShape]);
            var result = reduction switch
            {
                "none" => rows.index_copy(0, linear, source),
                "add" => rows.index_add(0, linear, source, 1),
                _ => CombineInRounds(rows, linear, source, combine!),
            };
            return result.reshape(data.shape);
        });
    }

    /// <summary>
    /// rows[linear[r]] = combine(rows[linear[r]], source[r]) for every r, repeated indices applied one after another: round j
    /// takes the j-th occurrence of each index, so a round has no duplicates and is one gather, combine and index_copy.
    /// (TorchSharp has no scatter_reduce/index_reduce.)
    /// </summary>
    private static Tensor CombineInRounds(Tensor rows, Tensor linear, Tensor source, Func<Tensor, Tensor, Tensor> combine)
    {
        var rounds = new List<List<long>>();
        var seen = new Dictionary<long, int>();
        var index = NodeContext.ToLongs(linear);
        for (int r = 0; r < index.Length; r++)
        {
            int round = seen[index[r]] = seen.GetValueOrDefault(index[r], -1) + 1;
            if (round == rounds.Count) rounds.Add([]);
            rounds[round].Add(r);
        }
        foreach (var round in rounds)
        {
            var picked = tensor(round.ToArray(), ScalarType.Int64, rows.device);
            var at = linear.index_select(0, picked);
            rows = rows.index_copy(0, at, combine(rows.index_select(0, at), source.index_select(0, picked)));
        }
        return rows;
    }

    private static Tensor Expand(Tensor x, long[] shape)
    {
        // ONNX Expand broadcasts both ways: a 1 in the target keeps the input's size.
        int rank = Math.Max(shape.Length, (int)x.dim());
        var padded = Enumerable.Repeat(1L, rank - shape.Length).Concat(shape).ToArray();
        var xShape = Enumerable.Repeat(1L, rank - (int)x.dim()).Concat(x.shape).ToArray();
        var target = padded.Zip(xShape, (t, s) => t == 1 ? s : t).ToArray();
        return x.reshape(xShape).expand(target);
    }
}
