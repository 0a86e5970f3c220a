namespace OnnxGradSign.Onnx;

/// <summary>
/// Checks a file before anything reads it, so hostile paths fail with a message instead of a hang or a crash: symbolic links
/// are resolved (a dangling link or a loop is an error), and only a non-empty regular file up to a size limit is accepted (a
/// FIFO would block the read forever, and /dev/zero or /dev/urandom never end; both report a size of 0).
/// </summary>
public static class InputFiles
{
    /// <summary>Protobuf's own limit for one message, and so for an ONNX file (larger weights belong in external data).</summary>
    public const long MaxProtobufBytes = int.MaxValue;

    /// <summary>The file's length after these checks; `what` names it in the message ("model", "external data", …), which the
    /// caller prefixes with the path (an InvalidDataException or FileNotFoundException).</summary>
    public static long CheckReadable(string path, string what, long maxBytes = long.MaxValue)
    {
        FileInfo info;
        try
        {
            info = new FileInfo(RealPath(path));
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"the {what} path cannot be resolved ({e.Message})", e);
        }
        if (Directory.Exists(info.FullName)) throw new InvalidDataException($"the {what} is a folder, not a file");
        if (!info.Exists)
            throw new FileNotFoundException(Unopenable(path) is { } why ? $"the {what} file cannot be opened: {why}"
                : info.FullName == Path.GetFullPath(path)
                ? $"{what} file not found" : $"{what} file not found (a symbolic link to the missing '{info.FullName}')");
        if (info.Length == 0) throw new InvalidDataException($"the {what} file is empty, or not a regular file (a FIFO or a device)");
        if (info.Length > maxBytes)
            throw new InvalidDataException($"the {what} file has {info.Length:N0} bytes, more than the {maxBytes:N0} it may have");
        return info.Length;
    }

    /// <summary>Why a path that may well exist cannot be opened from .NET at all, or null.</summary>
    public static string? Unopenable(string path) =>
        path.Contains('\uFFFD') ? "its name is not valid UTF-8, which .NET cannot open (rename it)"
        : System.Text.Encoding.UTF8.GetByteCount(Path.GetFullPath(path)) >= 4096 ? "the path is longer than the system's limit of 4,096 bytes (PATH_MAX)"
        : null;

    /// <summary>The absolute path with every symbolic link resolved, in each folder along the way too (as realpath(3) does).</summary>
    public static string RealPath(string path)
    {
        var current = Path.GetPathRoot(Path.GetFullPath(path))!;
        int links = 0;
        var pending = new Stack<string>(Path.GetFullPath(path)[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse());
        while (pending.TryPop(out var part))
        {
            var next = Path.Combine(current, part);
            var target = new FileInfo(next).LinkTarget;
            if (target is null)
            {
                current = next;
                continue;
            }
            if (++links > 40) throw new IOException("too many levels of symbolic links");
            // The link's target replaces it: an absolute one restarts from the root, a relative one from the link's folder.
            var full = Path.GetFullPath(target, current);
            current = Path.GetPathRoot(full)!;
            foreach (var p in full[current.Length..].Split('/', StringSplitOptions.RemoveEmptyEntries).Reverse()) pending.Push(p);
        }
        return current;
    }

    /// <summary>Whether `path`, links resolved, lies inside `folder` (links resolved too).</summary>
    public static bool IsInside(string path, string folder)
    {
        var root = RealPath(folder).TrimEnd('/') + "/";
        return RealPath(path).StartsWith(root, StringComparison.Ordinal);
    }
}
