namespace OnnxGradSign.Import;

/// <summary>libtorch's error messages, cut to what a user reads: libtorch appends a C++ stack trace to each.</summary>
public static class NativeErrors
{
    private static readonly string[] TraceStarts = ["\nException raised from", "\nframe #"];

    /// <summary>What a kernel's failure means to a user: libtorch's message cut short, or what a .NET exception from a malformed node stands for.</summary>
    public static string Describe(Exception e) => e switch
    {
        NullReferenceException => "an input it needs is missing (an empty name, or an optional input left out)",
        IndexOutOfRangeException or ArgumentOutOfRangeException => $"an attribute or input does not fit the tensor's shape ({e.Message})",
        _ => Brief(e.Message),
    };

    public static string Brief(string message)
    {
        int cut = TraceStarts.Select(s => message.IndexOf(s, StringComparison.Ordinal)).Where(i => i >= 0).DefaultIfEmpty(message.Length).Min();
        return message[..cut].TrimEnd();
    }
}
