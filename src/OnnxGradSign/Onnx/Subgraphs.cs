using OnnxGradSign.Onnx.Proto;

namespace OnnxGradSign.Onnx;

/// <summary>The graphs held in node attributes (If's branches, Loop's and Scan's bodies) and the names they read from enclosing graphs.</summary>
public static class Subgraphs
{
    /// <summary>Each graph attribute of a node, with the attribute's name.</summary>
    public static IEnumerable<(string Attribute, GraphProto Graph)> Of(NodeProto node)
    {
        foreach (var attribute in node.Attribute)
        {
            if (attribute.G is not null) yield return (attribute.Name, attribute.G);
            foreach (var graph in attribute.Graphs) yield return (attribute.Name, graph);
        }
    }

    /// <summary>The names a node reads: its inputs and whatever its subgraphs read from outside themselves.</summary>
    public static IEnumerable<string> Reads(NodeProto node) =>
        node.Input.Where(i => i.Length > 0).Concat(Of(node).SelectMany(s => OuterNames(s.Graph)));

    /// <summary>The names a graph reads without defining them (its inputs, initializers and node outputs are its own).</summary>
    public static IReadOnlySet<string> OuterNames(GraphProto graph)
    {
        var own = Defined(graph);
        return graph.Node.SelectMany(Reads).Concat(graph.Output.Select(o => o.Name)).Where(n => n.Length > 0 && !own.Contains(n)).ToHashSet();
    }

    /// <summary>The names a graph defines itself.</summary>
    public static HashSet<string> Defined(GraphProto graph) =>
        graph.Input.Select(i => i.Name).Concat(graph.Initializer.Select(i => i.Name)).Concat(graph.Node.SelectMany(n => n.Output)).Where(n => n.Length > 0).ToHashSet();
}
