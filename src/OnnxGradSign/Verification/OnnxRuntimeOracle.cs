using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using OnnxGradSign.Onnx;
using OnnxGradSign.Onnx.Proto;
using static TorchSharp.torch;

namespace OnnxGradSign.Verification;

/// <summary>
/// Runs a model in ONNX Runtime as the reference for our forward pass. Graph optimizations are off: ORT 1.31's optimizer changes the
/// result of training-mode BatchNormalization. Dropout is switched to inference on an in-memory copy, since random ops cannot be compared.
/// </summary>
public static class OnnxRuntimeOracle
{
    public static Tensor[] Run(OnnxModel model, IReadOnlyList<Tensor> inputs)
    {
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_DISABLE_ALL, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR };
        // An in-memory model resolves external data against this folder.
        options.AddSessionConfigEntry("session.model_external_initializers_file_folder_path", model.Directory);
        using var session = new InferenceSession(WithoutTrainingDropout(model.Proto).ToByteArray(), options);

        var names = model.Inputs.Select(i => i.Name).ToList();
        // Inputs go in the graph's own dtypes: a float16 input gets float16 values (we compute such a model in float32).
        var values = inputs.Select((t, k) => ToOrtValue(t, (TensorProto.Types.DataType)(model.Inputs[k].Type?.TensorType?.ElemType ?? 1))).ToList();
        try
        {
            using var results = session.Run(new RunOptions(), names, values, model.Outputs.Select(o => o.Name).ToList());
            return results.Select(ToTensor).ToArray();
        }
        finally
        {
            foreach (var v in values) v.Dispose();
        }
    }

    /// <summary>A copy of the model whose Dropout nodes run in inference mode (training_mode input dropped; is_test set before opset 7).</summary>
    public static ModelProto WithoutTrainingDropout(ModelProto proto)
    {
        var copy = proto.Clone();
        foreach (var node in copy.Graph.Node.Where(n => n.OpType == "Dropout"))
        {
            if (node.Input.Count > 2) node.Input[2] = "";
            foreach (var a in node.Attribute.Where(a => a.Name == "is_test")) a.I = 1;
        }
        return copy;
    }

    private static OrtValue ToOrtValue(Tensor t, TensorProto.Types.DataType declared)
    {
        using var cpu = t.detach().cpu().contiguous();
        var shape = cpu.shape;
        if (declared == TensorProto.Types.DataType.Float16 && cpu.is_floating_point())
        {
            using var half = cpu.to_type(ScalarType.Float16);
            return OrtValue.CreateTensorValueFromMemory(half.data<Half>().Select(h => new Float16(BitConverter.HalfToUInt16Bits(h))).ToArray(), shape);
        }
        return cpu.dtype switch
        {
            ScalarType.Float32 => OrtValue.CreateTensorValueFromMemory(cpu.data<float>().ToArray(), shape),
            ScalarType.Float64 => OrtValue.CreateTensorValueFromMemory(cpu.data<double>().ToArray(), shape),
            ScalarType.Int64 => OrtValue.CreateTensorValueFromMemory(cpu.data<long>().ToArray(), shape),
            ScalarType.Int32 => OrtValue.CreateTensorValueFromMemory(cpu.data<int>().ToArray(), shape),
            ScalarType.Bool => OrtValue.CreateTensorValueFromMemory(cpu.data<bool>().ToArray(), shape),
            ScalarType.Byte => OrtValue.CreateTensorValueFromMemory(cpu.data<byte>().ToArray(), shape),
            var other => throw new NotSupportedException($"input type {other} cannot be handed to ONNX Runtime here"),
        };
    }

    private static Tensor ToTensor(OrtValue value)
    {
        var info = value.GetTensorTypeAndShape();
        var shape = info.Shape;
        return info.ElementDataType switch
        {
            TensorElementType.Float => tensor(value.GetTensorDataAsSpan<float>().ToArray(), shape),
            TensorElementType.Double => tensor(value.GetTensorDataAsSpan<double>().ToArray(), shape),
            TensorElementType.Float16 => tensor(value.GetTensorDataAsSpan<Float16>().ToArray().Select(h => (float)BitConverter.UInt16BitsToHalf(h.value)).ToArray(), shape),
            TensorElementType.Int64 => tensor(value.GetTensorDataAsSpan<long>().ToArray(), shape),
            TensorElementType.Int32 => tensor(value.GetTensorDataAsSpan<int>().ToArray(), shape),
            TensorElementType.Bool => tensor(value.GetTensorDataAsSpan<bool>().ToArray(), shape),
            TensorElementType.UInt8 => tensor(value.GetTensorDataAsSpan<byte>().ToArray(), shape),
            var other => throw new NotSupportedException($"ONNX Runtime output type {other} is not compared"),
        };
    }
}
