using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using OnnxGradSign.Cli.Commands;
using OnnxGradSign.Serving;

namespace OnnxGradSign.Tests.Serving;

public class ServeTests
{
    private static string Request(object id, string body) => $"{{\"id\": {id}, {body}}}";
    private static readonly string Sample = TestPaths.Model("fashion-mnist-sample.npz").Replace("\\", "/");
    private static string ScoreBody(string model) => $"\"paths\": [\"{TestPaths.Model(model).Replace("\\", "/")}\"], \"data\": \"{Sample}\", \"batch_size\": 4";

    [Fact]
    public async Task Bad_requests_get_error_responses_and_the_service_goes_on()
    {
        var service = new ScoreService();
        var malformed = JsonNode.Parse(await service.HandleAsync("{not json"))!;
        Assert.False(malformed["ok"]!.GetValue<bool>());
        var typo = JsonNode.Parse(await service.HandleAsync(Request(2, $"{ScoreBody("nb201_c.onnx")}, \"batch_sise\": 3")))!;
        Assert.Contains("batch_sise", typo["error"]!.GetValue<string>());
        var missing = JsonNode.Parse(await service.HandleAsync(Request(3, "\"paths\": [\"nope.onnx\"]")))!;
        Assert.Equal((3, false), (missing["id"]!.GetValue<int>(), missing["ok"]!.GetValue<bool>()));
        var proxy = JsonNode.Parse(await service.HandleAsync(Request(4, $"{ScoreBody("nb201_c.onnx")}, \"proxy\": \"gradsing\"")))!;
        Assert.Contains("gradsing", proxy["error"]!.GetValue<string>());

        var good = JsonNode.Parse(await service.HandleAsync(Request("\"x\"", ScoreBody("nb201_c.onnx"))))!;
        Assert.True(good["ok"]!.GetValue<bool>(), good.ToJsonString());
        Assert.Equal(("x", 1), (good["id"]!.GetValue<string>(), good["version"]!.GetValue<int>()));
        var record = good["results"]![0]!;
        Assert.Equal("ok", record["status"]!.GetValue<string>());
        Assert.True(record["gradsign"]!.GetValue<double>() > 0);
    }

    [Fact]
    public async Task A_request_past_its_timeout_is_answered_with_an_error()
    {
        var service = new ScoreService();
        var late = JsonNode.Parse(await service.HandleAsync(Request(1, $"{ScoreBody("nb201_a.onnx")}, \"proxy\": \"all\", \"timeout_seconds\": 0.05")))!;
        Assert.False(late["ok"]!.GetValue<bool>(), late.ToJsonString());
        Assert.Contains("timed out", late["error"]!.GetValue<string>());
    }

    [Fact]
    public async Task Http_server_answers_every_one_of_many_concurrent_requests()
    {
        int port = FreePort();
        using var stop = new CancellationTokenSource();
        var server = ServeCommand.Create().Parse(["--http", $"127.0.0.1:{port}", "--workers", "2"]).InvokeAsync(cancellationToken: stop.Token);
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromMinutes(3) };
        await WaitUntilUp(client);

        var models = new[] { "nb201_c.onnx", "resnet_tiny.onnx", "mlp_matmul.onnx" };
        var requests = Enumerable.Range(0, 24).Select(async i =>
        {
            var body = i % 6 == 5 ? Request(i, "\"paths\": [\"missing.onnx\"]") : Request(i, ScoreBody(models[i % models.Length]));
            var response = await client.PostAsync("/score", new StringContent(body, Encoding.UTF8, "application/json"));
            return JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        }).ToList();
        var answers = await Task.WhenAll(requests);
        Assert.Equal(Enumerable.Range(0, 24), answers.Select(a => a["id"]!.GetValue<int>()).Order());
        Assert.Equal(20, answers.Count(a => a["ok"]!.GetValue<bool>()));
        // The same model and settings give the same score whichever worker computed it.
        var byModel = answers.Where(a => a["ok"]!.GetValue<bool>()).GroupBy(a => a["results"]![0]!["model"]!.GetValue<string>());
        Assert.All(byModel, g => Assert.Single(g.Select(a => a["results"]![0]!["gradsign"]!.GetValue<double>()).Distinct()));

        var health = JsonNode.Parse(await client.GetStringAsync("/health"))!;
        Assert.Equal("ready", health["status"]!.GetValue<string>());
        Assert.Equal(3, health["cached_models"]!.GetValue<int>());
        stop.Cancel();
        await server;
    }

    [Fact]
    public void Http_refuses_a_non_loopback_address_unless_allowed() =>
        Assert.Equal(ExitCodes.Usage, ServeCommand.Create().Parse(["--http", "0.0.0.0:9"]).Invoke());

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task WaitUntilUp(HttpClient client)
    {
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                await client.GetStringAsync("/health");
                return;
            }
            catch (HttpRequestException) when (attempt < 100)
            {
                await Task.Delay(100);
            }
        }
    }
}
