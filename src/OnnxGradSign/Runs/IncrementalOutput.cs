using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>
/// A jsonl or csv output file that receives each record as soon as it is done (flushed), so Ctrl-C or a killed process leaves
/// every finished record intact. With resume, the records already in the file are kept and their models skipped.
/// </summary>
public sealed class IncrementalOutput : IDisposable
{
    private readonly StreamWriter _writer;
    private readonly ScoreFormat _format;
    private readonly IReadOnlyList<string> _columns;

    public string Path { get; }
    /// <summary>Records the file held before this run (resume), in file order.</summary>
    public IReadOnlyList<ScoreRecord> Existing { get; }

    public IncrementalOutput(string path, ScoreFormat format, IReadOnlyList<string> columns, bool resume)
    {
        if (format is not (ScoreFormat.Jsonl or ScoreFormat.Csv))
            throw new ArgumentException("--resume and incremental output need --format jsonl or csv");
        Path = path;
        _format = format;
        _columns = columns;
        Existing = resume && File.Exists(path) ? RecordFiles.Read(path) : [];
        if (resume && Existing.Count > 0) RewriteWhole(Existing); // drops a line cut short by a killed run
        bool fresh = !resume || Existing.Count == 0;
        _writer = new StreamWriter(path, append: !fresh);
        if (fresh && format == ScoreFormat.Csv) Write(ScoreWriter.CsvHeader(columns));
    }

    public void Append(ScoreRecord record) =>
        Write(_format == ScoreFormat.Jsonl ? ScoreWriter.JsonLine(record) : ScoreWriter.CsvRow(record, _columns));

    /// <summary>Replaces the file with exactly these records (atomically: a new file renamed over the old one).</summary>
    public void RewriteWhole(IReadOnlyList<ScoreRecord> records)
    {
        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, ScoreWriter.Write(records, _format, _columns));
        File.Move(temporary, Path, overwrite: true);
    }

    private void Write(string text)
    {
        _writer.Write(text);
        _writer.Flush();
    }

    public void Dispose() => _writer.Dispose();
}
