namespace OnnxGradSign.Onnx;

/// <summary>Expands command-line paths (files or folders, searched recursively) into a sorted list of .onnx files.</summary>
public static class ModelFiles
{
    public static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
                files.AddRange(Directory.EnumerateFiles(path, "*.onnx", SearchOption.AllDirectories).Order(StringComparer.Ordinal));
            else if (File.Exists(path))
                files.Add(path);
            else
                throw new FileNotFoundException($"{path}: no such file or folder");
        }
        return files;
    }
}
