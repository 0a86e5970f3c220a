using System.Globalization;

namespace OnnxGradSign.Evaluation;

/// <summary>
/// Ground-truth accuracy per model from a CSV with a header: the key column is `model`, `id`, `file` or `path` (else the first),
/// the value column `accuracy`, `acc`, `test_accuracy` or `top1` (else the last). Keys match score rows by file name without extension.
/// </summary>
public sealed class GroundTruth
{
    private static readonly string[] KeyColumns = ["model", "id", "file", "path"];
    private static readonly string[] ValueColumns = ["accuracy", "acc", "test_accuracy", "top1"];
    private readonly Dictionary<string, double> _accuracy;

    private GroundTruth(Dictionary<string, double> accuracy) => _accuracy = accuracy;

    public IEnumerable<string> Keys => _accuracy.Keys;

    public static GroundTruth Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"{path}: no such ground-truth file");
        var rows = Csv.Read(File.ReadAllText(path), path);
        if (rows.Count == 0) throw new InvalidDataException($"{path}: no rows");
        var columns = rows[0].Keys.ToList();
        var key = KeyColumns.FirstOrDefault(columns.Contains) ?? columns[0];
        var value = ValueColumns.FirstOrDefault(columns.Contains) ?? columns[^1];
        var accuracy = new Dictionary<string, double>();
        for (int i = 0; i < rows.Count; i++)
        {
            if (!double.TryParse(rows[i][value], NumberStyles.Float, CultureInfo.InvariantCulture, out var a))
                throw new InvalidDataException($"{path}: row {i + 2}: '{rows[i][value]}' in column '{value}' is not a number");
            if (!accuracy.TryAdd(KeyOf(rows[i][key]), a))
                throw new InvalidDataException($"{path}: row {i + 2}: '{rows[i][key]}' appears twice");
        }
        return new GroundTruth(accuracy);
    }

    public double? Find(string model) => _accuracy.TryGetValue(KeyOf(model), out var a) ? a : null;

    /// <summary>A model path or id reduced to its file name without extension.</summary>
    public static string KeyOf(string modelOrId) => Path.GetFileNameWithoutExtension(modelOrId.Replace('\\', '/'));
}
