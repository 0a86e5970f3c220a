using System.Security.Cryptography;
namespace OnnxGradSign.Onnx;

/// <summary>Expands command-line paths (files or folders, searched recursively) into a sorted list of .onnx files.</summary>
public static class ModelFiles
{
    /// <summary>
    /// A folder is searched through its subfolders, but not through symbolic links to folders (as `find` does by default: a link
    /// to an ancestor would loop forever); linked files are listed, and checked when they are read. Entries that cannot be read
    /// are skipped. A path that names nothing, or a folder without a model, is an error.
    /// </summary>
    public static List<string> Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var found = Search(path).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0) throw new FileNotFoundException($"{path}: the folder holds no .onnx file");
                files.AddRange(found);
            }
            else if (File.Exists(path) || new FileInfo(path).LinkTarget is not null)
                files.Add(path); // a dangling or looping link is the model's own error record, not the run's end
            else
                throw new FileNotFoundException(path.Length == 0 ? "an empty path names no file or folder"
                    : InputFiles.Unopenable(path) is { } why ? $"{path}: cannot be opened: {why}" : $"{path}: no such file or folder");
        }
        return files;
    }

    private static readonly EnumerationOptions OneFolder = new() { IgnoreInaccessible = true, RecurseSubdirectories = false, AttributesToSkip = 0 };

    private static IEnumerable<string> Search(string folder)
    {
        foreach (var entry in new DirectoryInfo(folder).EnumerateFileSystemInfos("*", OneFolder))
        {
            if (entry.LinkTarget is null && entry is DirectoryInfo)
                foreach (var file in Search(Path.Combine(folder, entry.Name)))
                    yield return file;
            else if (entry.Name.EndsWith(".onnx", StringComparison.Ordinal) && !Directory.Exists(Path.Combine(folder, entry.Name)))
                yield return Path.Combine(folder, entry.Name);
        }
    }

    /// <summary>The file's sha256, or null for one that cannot be read (scoring it then gives its error record).</summary>
    public static string? TrySha256(string path)
    {
        try
        {
            return Sha256(path);
        }
        catch (Exception e) when (e is IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string Sha256(string path)
    {
        InputFiles.CheckReadable(path, "model", InputFiles.MaxProtobufBytes); // never open a FIFO or a device
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
