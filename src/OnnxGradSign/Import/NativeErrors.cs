namespace OnnxGradSign.Import;

/// <summary>libtorch's error messages, cut to what a user reads: libtorch appends a C++ stack trace to each.</summary>
public static class NativeErrors
{
    private static readonly string[] TraceStarts = ["\nException raised from", "\nframe #"];

    public static string Brief(string message)
    {
        int cut = TraceStarts.Select(s => message.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(message.Length).Min();
        return message[..cut].TrimEnd();
    }
}
