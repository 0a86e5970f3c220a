using System.Text.Json;
using Microsoft.Data.Sqlite;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Runs;

/// <summary>
/// Finished records in a SQLite file, keyed by (model content hash, settings): a rerun over the same files and settings — after a
/// crash, or with more files added — takes what is done from here. Each record is committed on its own, so a killed run loses
/// at most the model it was scoring.
/// </summary>
public sealed class ResultCache : IDisposable
{
    private readonly SqliteConnection _connection;

    public ResultCache(string path)
    {
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        Execute("PRAGMA journal_mode=WAL");
        Execute("CREATE TABLE IF NOT EXISTS results (sha256 TEXT NOT NULL, settings TEXT NOT NULL, record TEXT NOT NULL, PRIMARY KEY (sha256, settings))");
    }

    public ScoreRecord? Find(string sha256, string settings)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT record FROM results WHERE sha256 = $sha AND settings = $settings";
        command.Parameters.AddWithValue("$sha", sha256);
        command.Parameters.AddWithValue("$settings", settings);
        return command.ExecuteScalar() is string json ? JsonSerializer.Deserialize<ScoreRecord>(json, Json.Compact) : null;
    }

    /// <summary>Keeps a successful record; errors are not cached, so a fixed model or a transient failure is tried again.</summary>
    public void Store(ScoreRecord record, string settings)
    {
        if (record.Status != ScoreRecord.Ok || record.Sha256 is null) return;
        using var command = _connection.CreateCommand();
        command.CommandText = "INSERT OR REPLACE INTO results (sha256, settings, record) VALUES ($sha, $settings, $record)";
        command.Parameters.AddWithValue("$sha", record.Sha256);
        command.Parameters.AddWithValue("$settings", settings);
        command.Parameters.AddWithValue("$record", JsonSerializer.Serialize(record, Json.Compact));
        command.ExecuteNonQuery();
    }

    private void Execute(string sql)
    {
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
