using System.CommandLine;
using System.Globalization;
using System.Text;
using OnnxGradSign.Data;
using OnnxGradSign.Gradients;
using OnnxGradSign.Import;
using OnnxGradSign.Onnx;
using OnnxGradSign.Proxies;
using OnnxGradSign.Reporting;
using TorchSharp;
using static TorchSharp.torch;

namespace OnnxGradSign.Cli.Commands;

public static class BenchCommand
{
    public static Command Create()
    {
        var modelPath = new Argument<string>("model") { Description = "The ONNX file to time" };
        var settings = new ScoreOptionFlags("data", "batch_size", "init", "seeds", "device");
        var repeats = new Option<int>("--repeats") { Description = "Timed rounds after one warm-up (the median is reported)", DefaultValueFactory = _ => 3 };
        var threads = CommonOptions.Threads();
        var format = CommonOptions.Format("table", "json");
        var command = new Command("bench", "Time the loop engine, the vectorized engine and a plain batched forward+backward side by side")
        {
            modelPath, repeats, threads, format,
        };
        foreach (var option in settings.Options) command.Options.Add(option);
        command.SetAction(parse =>
        {
            BenchResult result;
            try
            {
                var path = parse.GetValue(modelPath)!;
                if (parse.GetValue(threads) is { } t) set_num_threads(t);
                var options = settings.Read(parse).Validate().Options;
                if (parse.GetValue(repeats) < 1) throw new ArgumentException("--repeats must be positive");
                var dataset = DataChoice.Resolve(options.Data, [path], [path], options.BatchSize).For(path);
                var model = OnnxModel.Load(path);
                var dev = new Device(options.Device);
                using var imported = OnnxImporter.Import(model, new ImportOptions(options.Init, options.Seeds[0], Dequantize: true));
                imported.to(dev);
                var (x, y) = InputPreparation.Batch(model, dataset, options.BatchSize, Normalization.None, options.Seeds[0]);
                result = EngineBenchmark.Run(imported, x.to(dev), y.to(dev), new GradientSettings(), parse.GetValue(repeats));
            }
            catch (ScoreOptionException e)
            {
                Console.Error.WriteLine(ScoreOptionFlags.Describe(e));
                return ExitCodes.Usage;
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException or OnnxModelException or NotSupportedException)
            {
                Console.Error.WriteLine(ScoreOptionFlags.InCliTerms(e.Message));
                return e is OnnxModelException or NotSupportedException ? ExitCodes.ModelFailed : ExitCodes.Usage;
            }
            Console.Write(parse.GetValue(format) == "json" ? Json.Serialize(result) + "\n" : Table(result));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Table(BenchResult r)
    {
        var sb = new StringBuilder();
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"{r.Model}: {r.Parameters:N0} parameters, batch {r.BatchSize}, {r.Threads} thread(s)"));
        foreach (var t in r.Timings)
            sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  {t.Name,-18} {t.MedianSeconds,9:0.000} s  (median of {t.Seconds.Count})"));
        double loop = r.Median(EngineBenchmark.Loop), vectorized = r.Median(EngineBenchmark.Vectorized), floor = r.Median(EngineBenchmark.Floor);
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  loop / vectorized           {loop / vectorized,6:0.00}x"));
        sb.AppendLine(string.Create(CultureInfo.InvariantCulture, $"  vectorized / forward+backward {vectorized / floor,4:0.00}x"));
        return sb.ToString();
    }
}
