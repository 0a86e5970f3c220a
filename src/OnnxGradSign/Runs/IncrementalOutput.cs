using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>
/// A jsonl or csv output file that receives each record as soon as it is done (flushed), so Ctrl-C or a killed process leaves
/// every finished record intact. With resume, the records already in the file are kept and their models skipped.
/// </summary>
public sealed class IncrementalOutput : IDisposable
{
    private readonly ScoreFormat _format;
    private readonly IReadOnlyList<string> _columns;
    private StreamWriter? _writer;
    /// <summary>Whether the file on disk already holds this run's records (or a csv header): then new records are appended.</summary>
    private bool _started;

    public string Path { get; }
    /// <summary>Records the file held before this run (resume), in file order; after <see cref="Keep"/>, the ones kept.</summary>
    public IReadOnlyList<ScoreRecord> Existing { get; private set; }

    public IncrementalOutput(string path, ScoreFormat format, IReadOnlyList<string> columns, bool resume)
    {
        if (format is not (ScoreFormat.Jsonl or ScoreFormat.Csv))
            throw new ArgumentException("resuming and incremental output need the jsonl or csv format");
        Path = path;
        _format = format;
        _columns = columns;
        Existing = resume && File.Exists(path) ? RecordFiles.Read(path) : [];
    }

    /// <summary>Starts the file with exactly these records of the resumed file (one per model), dropping the rest and any line
    /// a killed run cut short.</summary>
    public void Keep(IReadOnlyList<ScoreRecord> records)
    {
        RewriteWhole(records);
        Existing = records;
    }

    public void Append(ScoreRecord record) =>
        Write(_format == ScoreFormat.Jsonl ? ScoreWriter.JsonLine(record) : ScoreWriter.CsvRow(record, _columns));

    /// <summary>Replaces the file with exactly these records (atomically: a new file renamed over the old one).</summary>
    public void RewriteWhole(IReadOnlyList<ScoreRecord> records)
    {
        _writer?.Dispose(); // the writer holds the old file: appends after this go to the new one
        _writer = null;
        var temporary = Path + ".tmp";
        File.WriteAllText(temporary, ScoreWriter.Write(records, _format, _columns));
        File.Move(temporary, Path, overwrite: true);
        _started = true;
    }

    private void Write(string text)
    {
        if (_writer is null)
        {
            _writer = new StreamWriter(Path, append: _started);
            if (!_started && _format == ScoreFormat.Csv) _writer.Write(ScoreWriter.CsvHeader(_columns));
            _started = true;
        }
        _writer.Write(text);
        _writer.Flush();
    }

    public void Dispose() => _writer?.Dispose();
}
