using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using OnnxGradSign.Runs;

namespace OnnxGradSign.Serving;

/// <summary>
/// Answers JSON requests (docs/serve.md documents the protocol): `score` scores the request's `paths` with the
/// <see cref="ScoreOptions"/> given as the request's other fields (by their snake_case names); `health` and `version` describe the server. Requests wait for one of a bounded number of workers, the queue is bounded,
/// and each request has a timeout; whatever goes wrong becomes an error response and the service keeps serving.
/// </summary>
public sealed class ScoreService(int workers = 1, int queueCapacity = 64, TimeSpan? defaultTimeout = null, int cachedModels = 32)
{
    public const int ProtocolVersion = 1;
    private readonly SemaphoreSlim _workers = new(workers);
    private readonly ModelCache _cache = new(cachedModels);
    private readonly TimeSpan _timeout = defaultTimeout ?? TimeSpan.FromMinutes(10);
    private int _waiting;

    public static string ToolVersion => typeof(ScoreService).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";

    /// <summary>One request (a JSON object) in, one response (a JSON object on one line) out.</summary>
    public async Task<string> HandleAsync(string requestText)
    {
        JsonNode? id = null;
        try
        {
            if (JsonNode.Parse(requestText) is not JsonObject request) throw new ArgumentException("a request is a JSON object");
            id = request["id"]?.DeepClone();
            string op = request["op"]?.GetValue<string>() ?? "score";
            double timeoutSeconds = request["timeout_seconds"]?.GetValue<double>() ?? _timeout.TotalSeconds;
            foreach (var envelope in new[] { "id", "op", "timeout_seconds" }) request.Remove(envelope);
            return op switch
            {
                "health" => Respond(id, new JsonObject { ["status"] = "ready", ["waiting"] = Volatile.Read(ref _waiting), ["cached_models"] = _cache.Count }),
                "version" => Respond(id, new JsonObject
                {
                    ["tool"] = ToolVersion,
                    ["proxies"] = new JsonArray(ProxyCatalog.All.Select(p => (JsonNode)p.Name).ToArray()),
                    ["options"] = new JsonArray(ScoreOptionFields.All.Select(Describe).ToArray()),
                }),
                "score" => await ScoreAsync(id, Prepare(request), TimeSpan.FromSeconds(timeoutSeconds)),
                _ => throw new ArgumentException($"op '{op}': expected score, health or version"),
            };
        }
        catch (OperationCanceledException)
        {
            return Error(id, "timed out");
        }
        catch (Exception e)
        {
            // The server's boundary: any failure, expected (bad request, missing file) or not, is this request's error alone.
            return Error(id, e.Message);
        }
    }

    /// <summary>The run a score request asks for: its `paths` (a list of files and folders) and its option fields.</summary>
    private static ScoreRun Prepare(JsonObject request)
    {
        var paths = request["paths"] is JsonArray list ? list.Select(p => p?.GetValue<string>() ?? "").ToArray()
            : throw new ScoreOptionException("paths", "expected a list of model files or folders");
        request.Remove("paths");
        return new ScoreRun(ScoreOptionFields.FromJson(request), paths);
    }

    /// <summary>An option as clients see it: name, default, choices, documentation, and whether it decides a result.</summary>
    private static JsonNode Describe(ScoreOptionField field) => new JsonObject
    {
        ["name"] = field.Name, ["default"] = field.Json(new ScoreOptions()), ["choices"] = field.Choices is { } c ? new JsonArray(c.Select(n => (JsonNode)n).ToArray()) : null,
        ["description"] = field.Description, ["decides_result"] = field.DecidesResult,
    };

    private async Task<string> ScoreAsync(JsonNode? id, ScoreRun run, TimeSpan timeout)
    {
        if (Interlocked.Increment(ref _waiting) > queueCapacity)
        {
            Interlocked.Decrement(ref _waiting);
            throw new InvalidOperationException($"server busy: more than {queueCapacity} requests are waiting");
        }
        using var cancellation = new CancellationTokenSource(timeout);
        try
        {
            await _workers.WaitAsync(cancellation.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for a worker");
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }
        // The worker is released when the work really ends; a timed-out request is answered at its deadline and stops between models.
        var hooks = new RunHooks { Scorers = () => new ScoreRun.InProcess(new Scorer(run.Options, _cache)), Cancellation = cancellation.Token };
        var work = Task.Run(() => run.Score(hooks: hooks), CancellationToken.None);
        _ = work.ContinueWith(_ => _workers.Release(), TaskScheduler.Default);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAny(work, Task.Delay(timeout));
        // The clock decides, not which task won: a starved thread pool can fire the delay's timer late.
        if (!work.IsCompletedSuccessfully || clock.Elapsed > timeout) throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s");
        var records = await work;
        return Respond(id, new JsonObject
        {
            ["columns"] = new JsonArray(run.Run.Columns.Select(c => (JsonNode)c).ToArray()),
            ["results"] = JsonSerializer.SerializeToNode(records, Json.Compact),
        });
    }

    private static string Respond(JsonNode? id, JsonObject body)
    {
        var response = new JsonObject { ["id"] = id, ["version"] = ProtocolVersion, ["ok"] = true };
        foreach (var (key, value) in body.ToList())
        {
            body.Remove(key);
            response[key] = value;
        }
        return response.ToJsonString(Json.Compact);
    }

    public static string Error(JsonNode? id, string message) =>
        new JsonObject { ["id"] = id?.DeepClone(), ["version"] = ProtocolVersion, ["ok"] = false, ["error"] = message }.ToJsonString(Json.Compact);
}
