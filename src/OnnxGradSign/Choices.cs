using System.Reflection;
using System.Text;

namespace OnnxGradSign;

/// <summary>The name users write for an enum member when it is not the member's own name in kebab case.</summary>
[AttributeUsage(AttributeTargets.Field)]
public sealed class ChoiceAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// The names of an enum's members as users write them (options, JSON fields, records): kebab case of the member's name
/// (CrossEntropy → cross-entropy) unless a <see cref="ChoiceAttribute"/> gives another.
/// </summary>
public static class Choices<T> where T : struct, Enum
{
    private static readonly (string Name, T Value)[] All = Enum.GetValues<T>()
        .Select(v => (typeof(T).GetField(v.ToString())!.GetCustomAttribute<ChoiceAttribute>()?.Name ?? Kebab(v.ToString()), v)).ToArray();

    public static IReadOnlyList<string> Names { get; } = All.Select(c => c.Name).ToArray();

    public static string Name(T value) => All.First(c => c.Value.Equals(value)).Name;

    /// <summary>The member named <paramref name="text"/>, or null.</summary>
    public static T? Find(string text) => All.FirstOrDefault(c => c.Name == text) is { Name: not null } match ? match.Value : null;

    private static string Kebab(string name)
    {
        var sb = new StringBuilder();
        for (int i = 0; i < name.Length; i++)
        {
            if (char.IsUpper(name[i]) && i > 0 && !char.IsUpper(name[i - 1])) sb.Append('-');
            sb.Append(char.ToLowerInvariant(name[i]));
        }
        return sb.ToString();
    }
}
