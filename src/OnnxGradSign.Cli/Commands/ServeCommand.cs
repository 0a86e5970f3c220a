using System.CommandLine;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OnnxGradSign.Serving;

namespace OnnxGradSign.Cli.Commands;

public static class ServeCommand
{
    public static Command Create()
    {
        var stdio = new Option<bool>("--stdio") { Description = "Serve JSON requests on standard input, one per line; responses on standard output" };
        var http = new Option<string?>("--http") { Description = "Serve the same requests over HTTP at ADDRESS:PORT (e.g. 127.0.0.1:8080)" };
        var allowRemote = new Option<bool>("--allow-remote") { Description = "Allow --http to bind an address other than loopback" };
        var workers = new Option<int>("--workers") { Description = "Requests scored at once", DefaultValueFactory = _ => 1 };
        var queue = new Option<int>("--queue") { Description = "Requests that may wait for a worker before new ones are refused", DefaultValueFactory = _ => 64 };
        var timeout = new Option<double>("--timeout") { Description = "Default per-request timeout in seconds", DefaultValueFactory = _ => 600 };
        var cache = new Option<int>("--cache-models") { Description = "Parsed models kept by content hash", DefaultValueFactory = _ => 32 };
        var threads = CommonOptions.Threads();
        var command = new Command("serve", "Answer scoring requests from other programs (Python NAS loops): JSON lines on stdio, or HTTP")
        {
            stdio, http, allowRemote, workers, queue, timeout, cache, threads,
        };
        command.SetAction(async (parse, token) =>
        {
            if (parse.GetValue(threads) is { } t) TorchSharp.torch.set_num_threads(t);
            var service = new ScoreService(Math.Max(1, parse.GetValue(workers)), Math.Max(1, parse.GetValue(queue)),
                TimeSpan.FromSeconds(parse.GetValue(timeout)), Math.Max(1, parse.GetValue(cache)));
            if (parse.GetValue(http) is { } address)
            {
                if (!TryParseEndpoint(address, out var endpoint))
                {
                    Console.Error.WriteLine($"--http '{address}': expected ADDRESS:PORT, e.g. 127.0.0.1:8080");
                    return ExitCodes.Usage;
                }
                if (!IPAddress.IsLoopback(endpoint.Address) && !parse.GetValue(allowRemote))
                {
                    Console.Error.WriteLine($"--http {address} is not a loopback address: add --allow-remote to serve other machines");
                    return ExitCodes.Usage;
                }
                await ServeHttp(service, endpoint, token);
                return ExitCodes.Ok;
            }
            if (!parse.GetValue(stdio))
            {
                Console.Error.WriteLine("serve: choose --stdio or --http ADDRESS:PORT");
                return ExitCodes.Usage;
            }
            await ServeStdio(service, token);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Requests are handled concurrently (the service bounds the work); each response is written whole, on its own line.</summary>
    private static async Task ServeStdio(ScoreService service, CancellationToken token)
    {
        var output = Console.Out;
        var writeLock = new SemaphoreSlim(1);
        var pending = new List<Task>();
        string? line;
        while (!token.IsCancellationRequested && (line = await Console.In.ReadLineAsync(token)) is not null)
        {
            if (line.Trim().Length == 0) continue;
            var request = line;
            pending.Add(Task.Run(async () =>
            {
                var response = await service.HandleAsync(request);
                await writeLock.WaitAsync();
                try
                {
                    await output.WriteLineAsync(response);
                    await output.FlushAsync();
                }
                finally
                {
                    writeLock.Release();
                }
            }));
            pending.RemoveAll(p => p.IsCompleted);
        }
        await Task.WhenAll(pending); // answer everything already asked before leaving at end of input
    }

    private static async Task ServeHttp(ScoreService service, IPEndPoint endpoint, CancellationToken token)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(endpoint));
        var app = builder.Build();
        app.MapGet("/health", async () => Results.Text(await service.HandleAsync("{\"op\":\"health\"}"), "application/json"));
        app.MapGet("/version", async () => Results.Text(await service.HandleAsync("{\"op\":\"version\"}"), "application/json"));
        app.MapPost("/score", async (HttpRequest request) =>
        {
            using var reader = new StreamReader(request.Body);
            var response = await service.HandleAsync(await reader.ReadToEndAsync());
            // A request the service refused or could not complete is still a well-formed answer: 200 with "ok": false.
            return Results.Text(response, "application/json");
        });
        await app.StartAsync(token);
        Console.Error.WriteLine($"onnx-gradsign serving on http://{endpoint}");
        await app.WaitForShutdownAsync(token);
    }

    private static bool TryParseEndpoint(string text, out IPEndPoint endpoint)
    {
        endpoint = null!;
        if (text.StartsWith("localhost:")) text = "127.0.0.1:" + text["localhost:".Length..];
        if (!IPEndPoint.TryParse(text, out var parsed) || parsed.Port == 0) return false;
        endpoint = parsed;
        return true;
    }
}
