namespace OnnxGradSign.Cli.Commands;

/// <summary>Process exit codes, documented in README.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    /// <summary>A model failed: unreadable, unsupported, outside tolerance, or nothing could be scored.</summary>
    public const int ModelFailed = 1;
    /// <summary>Bad command line: unknown option, bad value, missing file.</summary>
    public const int Usage = 2;
}
