using static TorchSharp.torch;
using F = TorchSharp.torch.nn.functional;

namespace OnnxGradSign.Import.Ops;

/// <summary>BatchNormalization (every form since opset 1), InstanceNormalization and LayerNormalization.</summary>
public static class NormalizationOps
{
    public static void Register(OpRegistry registry)
    {
        // 1/6: is_test; 7: no is_test, spatial; 9: spatial removed; 14: training_mode; 15: only types.
        registry.Add("BatchNormalization", [1, 6, 7, 9, 14, 15], BatchNormalization);
        registry.Add("LRN", [1, 13], LocalResponseNorm);
        registry.Add("MeanVarianceNormalization", [9, 13], node =>
        {
            var axes = node.Ints("axes") ?? [0, 2, 3];
            return (i, _) =>
            {
                var x = i[0]!;
                var mean = x.mean(axes, keepdim: true);
                var std = (x.square().mean(axes, keepdim: true) - mean.square()).sqrt();
                return [(x - mean) / (std + 1e-9)];
            };
        });
        registry.Add("InstanceNormalization", [1, 6], InstanceNormalization);
        registry.Add("LayerNormalization", 17, LayerNormalization);
    }

    private static void DeclareNormalization(NodeContext node, int scale, int bias)
    {
        node.Declare(scale, new ParameterDeclaration(LayerKind.Normalization, ParameterRole.NormScale));
        node.Declare(bias, new ParameterDeclaration(LayerKind.Normalization, ParameterRole.NormBias));
    }

    private static OpKernel BatchNormalization(NodeContext node)
    {
        DeclareNormalization(node, 1, 2);
        node.Declare(3, new ParameterDeclaration(LayerKind.Normalization, ParameterRole.RunningMean));
        node.Declare(4, new ParameterDeclaration(LayerKind.Normalization, ParameterRole.RunningVar));
        double epsilon = node.Float("epsilon", 1e-5f);
        double momentum = node.Float("momentum", 0.9f);
        bool spatial = node.Opset >= 9 || node.Int("spatial", 1) == 1;
        bool exportedTraining = IsTrainingForm(node.Node, node.Opset);

        return (inputs, run) =>
        {
            var (x, scale, bias, mean, variance) = (inputs[0]!, inputs[1]!, inputs[2]!, inputs[3]!, inputs[4]!);
            var mode = run.BatchNorm == BatchNormMode.AsExported
                ? exportedTraining ? BatchNormMode.Batch : BatchNormMode.AsExported
                : run.BatchNorm;
            // A sample alone has no statistics where the tensor has no spatial extent: fall back to the running statistics.
            if (mode == BatchNormMode.PerSample && (x.dim() <= 2 || !spatial)) mode = BatchNormMode.AsExported;

            // Extra outputs of the training form (updated running statistics, then saved mean/var) only change in batch mode.
            Tensor[] Outputs(Tensor y, Tensor runningMean, Tensor runningVar, Tensor savedMean, Tensor savedVar) =>
                new[] { y, runningMean, runningVar, savedMean, savedVar }.Take(Math.Max(node.OutputCount, 1)).ToArray();
            if (mode == BatchNormMode.Identity)
                return Outputs(x.alias(), mean.alias(), variance.alias(), mean.alias(), variance.alias());
            if (mode == BatchNormMode.AsExported)
                return Outputs(spatial ? F.batch_norm(x, mean, variance, scale, bias, false, 0, epsilon) : Normalize(x, mean, variance, scale, bias, epsilon),
                    mean.alias(), variance.alias(), mean.alias(), variance.alias());
            if (mode == BatchNormMode.PerSample)
                return Outputs(F.instance_norm(x, null, null, scale, bias, true, 0, epsilon), mean.alias(), variance.alias(), mean.alias(), variance.alias());

            long[] axes = spatial ? [0, .. Enumerable.Range(2, (int)x.dim() - 2).Select(a => (long)a)] : [0];
            var batchMean = x.mean(axes, keepdim: !spatial);
            var batchVar = x.var(axes, unbiased: false, keepdim: !spatial);
            var y = spatial ? F.batch_norm(x, null, null, scale, bias, true, 0, epsilon) : Normalize(x, batchMean, batchVar, scale, bias, epsilon);
            if (!spatial) (batchMean, batchVar) = (batchMean.squeeze(0), batchVar.squeeze(0));
            // The saved "var" of opsets 7-13 holds the inverse standard deviation, as ONNX Runtime (like cuDNN and PyTorch) fills it.
            return Outputs(y, mean * momentum + batchMean * (1 - momentum), variance * momentum + batchVar * (1 - momentum), batchMean, (batchVar + epsilon).rsqrt());
        };
    }

    /// <summary>Whether a BatchNormalization node was exported in training form (it then normalizes with batch statistics).</summary>
    public static bool IsTrainingForm(Onnx.Proto.NodeProto node, long opset)
    {
        long Attribute(string name, long fallback) => node.Attribute.FirstOrDefault(a => a.Name == name)?.I ?? fallback;
        return opset switch
        {
            >= 14 => Attribute("training_mode", 0) == 1,
            >= 7 => node.Output.Count > 1, // the training form is the one with running/saved statistics outputs
            _ => Attribute("is_test", 0) == 0 && node.Output.Count > 1,
        };
    }

    /// <summary>Normalization with statistics shaped like a channel's (spatial=0 form): broadcast from axis 1.</summary>
    private static Tensor Normalize(Tensor x, Tensor mean, Tensor variance, Tensor scale, Tensor bias, double epsilon)
    {
        Tensor AtChannels(Tensor t) => t.dim() == x.dim() ? t : t.unsqueeze(0);
        return (x - AtChannels(mean)) * (AtChannels(variance) + epsilon).rsqrt() * AtChannels(scale) + AtChannels(bias);
    }

    private static OpKernel InstanceNormalization(NodeContext node)
    {
        DeclareNormalization(node, 1, 2);
        double epsilon = node.Float("epsilon", 1e-5f);
        return (inputs, _) => [F.instance_norm(inputs[0]!, null, null, inputs[1], inputs[2], true, 0, epsilon)];
    }

    private static OpKernel LayerNormalization(NodeContext node)
    {
        DeclareNormalization(node, 1, 2);
        double epsilon = node.Float("epsilon", 1e-5f);
        long axis = node.Int("axis", -1);
        return (inputs, _) =>
        {
            var x = inputs[0]!;
            var scale = inputs[1]!;
            var bias = inputs.Length > 2 ? inputs[2] : null;
            long start = axis < 0 ? axis + x.dim() : axis;
            var normalized = x.shape[(int)start..];
            if (node.OutputCount == 1 && scale.shape.SequenceEqual(normalized) && (bias is null || bias.shape.SequenceEqual(normalized)))
                return [F.layer_norm(x, normalized, scale, bias, epsilon)];
            // Broadcast scale/bias or requested Mean/InvStdDev outputs: spell it out.
            var axes = Enumerable.Range((int)start, (int)(x.dim() - start)).Select(a => (long)a).ToArray();
            var mean = x.mean(axes, keepdim: true);
            var invStd = (x.var(axes, unbiased: false, keepdim: true) + epsilon).rsqrt();
            var y = (x - mean) * invStd * scale;
            if (bias is not null) y = y + bias;
            return new[] { y, mean, invStd }.Take(node.OutputCount).ToArray();
        };
    }

    /// <summary>
    /// LRN (AlexNet, GoogLeNet): x / (bias + alpha/size · Σ x² over the channel window)^beta, the window floor((size−1)/2)
    /// channels before and ceil((size−1)/2) after (torch's local_response_norm puts the extra channel on the other side).
    /// </summary>
    private static OpKernel LocalResponseNorm(NodeContext node)
    {
        long size = node.Int("size", 1);
        double alpha = node.Float("alpha", 1e-4f), beta = node.Float("beta", 0.75f), bias = node.Float("bias", 1f);
        return (i, _) =>
        {
            var x = i[0]!;
            long channels = x.shape[1], before = (size - 1) / 2, after = size - 1 - before;
            var square = x.square();
            var padded = cat([zeros([x.shape[0], before + 1, .. x.shape[2..]], x.dtype, x.device), square,
                zeros([x.shape[0], after, .. x.shape[2..]], x.dtype, x.device)], 1).cumsum(1);
            var window = padded.narrow(1, size, channels) - padded.narrow(1, 0, channels);
            return [x / (bias + alpha / size * window).pow(beta)];
        };
    }
}
