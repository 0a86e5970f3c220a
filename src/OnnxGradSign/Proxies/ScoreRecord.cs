namespace OnnxGradSign.Proxies;

/// <summary>One model's result: the row of every output format (README documents each field).</summary>
public sealed record ScoreRecord
{
    public required string Model { get; init; }
    public string? Sha256 { get; init; }
    public required string Status { get; init; }
    public string? Error { get; init; }
    public double? Gradsign { get; init; }
    public double? GradsignStd { get; init; }
    public long? Params { get; init; }
    public double Seconds { get; init; }
    public string? Engine { get; init; }
    public required string Init { get; init; }
    public required string Seeds { get; init; }
    public required string Data { get; init; }
    public long BatchSize { get; init; }
    public required string Reduce { get; init; }
    public required string ParamScope { get; init; }
    public required string Loss { get; init; }
    public string? Output { get; init; }
    public required string Device { get; init; }
    public IReadOnlyList<string> Warnings { get; init; } = [];
    public IReadOnlyList<LayerReport>? Layers { get; init; }

    public const string Ok = "ok";
    public const string Failed = "error";
}
