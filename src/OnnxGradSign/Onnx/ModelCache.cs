
namespace OnnxGradSign.Onnx;

/// <summary>Parsed models by content hash, least recently used dropped beyond the capacity: a server reading the same files often parses each once.</summary>
public sealed class ModelCache(int capacity)
{
    private readonly LinkedList<(string Sha, OnnxModel Model)> _order = new();
    private readonly Dictionary<string, LinkedListNode<(string Sha, OnnxModel Model)>> _bySha = new();
    private readonly Lock _lock = new();

    public int Count { get { lock (_lock) return _bySha.Count; } }

    /// <summary>The model of a file with this content hash, loading it on a miss (a file of the same content at another path is the same model).</summary>
    public OnnxModel Get(string path, string sha256)
    {
        lock (_lock)
        {
            if (_bySha.TryGetValue(sha256, out var hit))
            {
                _order.Remove(hit);
                _order.AddFirst(hit);
                return hit.Value.Model;
            }
        }
        var model = OnnxModel.Load(path);
        // The hash covers the model file only: weights in external files (checked at each load) are read anew every time.
        if (model.HasExternalData) return model;
        lock (_lock)
        {
            if (!_bySha.ContainsKey(sha256))
            {
                _bySha[sha256] = _order.AddFirst((sha256, model));
                while (_bySha.Count > capacity)
                {
                    _bySha.Remove(_order.Last!.Value.Sha);
                    _order.RemoveLast();
                }
            }
        }
        return model;
    }
}
