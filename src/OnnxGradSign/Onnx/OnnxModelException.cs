namespace OnnxGradSign.Onnx;

/// <summary>A model that cannot be read or imported. The message always names the file, and the node when one is at fault.</summary>
public class OnnxModelException : Exception
{
    public string File { get; }
    public string? Node { get; }

    public OnnxModelException(string file, string message, string? node = null, Exception? inner = null)
        : base(Compose(file, node, message), inner)
    {
        File = file;
        Node = node;
    }

    private static string Compose(string file, string? node, string message) =>
        node is null ? $"{file}: {message}" : $"{file}: node '{node}': {message}";
}
