using System.Diagnostics;
using OnnxGradSign.Import;
using static TorchSharp.torch;

namespace OnnxGradSign.Gradients;

public sealed record BenchTiming(string Name, double MedianSeconds, IReadOnlyList<double> Seconds);

public sealed record BenchResult(string Model, long Parameters, long BatchSize, int Threads, IReadOnlyList<BenchTiming> Timings)
{
    public double Median(string name) => Timings.Single(t => t.Name == name).MedianSeconds;
}

/// <summary>
/// Times, side by side in one run, the loop engine, the vectorized engine and one plain batched forward+backward of the same batch
/// (the floor any exact engine pays). Rounds interleave the three after a warm-up, so machine noise falls on all of them alike.
/// </summary>
public static class EngineBenchmark
{
    public const string Loop = "loop", Vectorized = "vectorized", Floor = "forward+backward";

    public static BenchResult Run(ImportedModel model, Tensor x, Tensor y, GradientSettings settings, int repeats)
    {
        var contenders = new (string Name, Action Run)[]
        {
            (Loop, () => Dispose(LoopEngine.Compute(model, x, y, settings))),
            (Vectorized, () => Dispose(VectorizedEngine.Compute(model, x, y, settings))),
            (Floor, () => ForwardBackward(model, x, y, settings)),
        };
        var seconds = contenders.ToDictionary(c => c.Name, _ => new List<double>());
        for (int round = -1; round < repeats; round++)
            foreach (var (name, run) in contenders)
            {
                var clock = Stopwatch.StartNew();
                run();
                if (round >= 0) seconds[name].Add(clock.Elapsed.TotalSeconds); // round -1 warms up
            }
        return new BenchResult(model.Source.Path, model.ParameterInfos.Where(p => p.Trainable).Sum(p => p.Count), x.shape[0], get_num_threads(),
            contenders.Select(c => new BenchTiming(c.Name, MedianOf(seconds[c.Name]), seconds[c.Name])).ToList());
    }

    /// <summary>What one training step pays: batch statistics, one forward, one backward into every parameter.</summary>
    private static void ForwardBackward(ImportedModel model, Tensor x, Tensor y, GradientSettings settings)
    {
        using var scope = NewDisposeScope();
        model.Run.BatchNorm = BatchNormMode.Batch;
        var outputs = model.forward([x]);
        var parameters = model.parameters().Cast<Tensor>().ToList();
        Autograd.Grad(Losses.SumOfPerSample(outputs, y, settings, 0, x.shape[0]), parameters);
    }

    private static void Dispose(SignSums sums)
    {
        foreach (var a in sums.Parameters) a.SignSum.Dispose();
    }

    private static double MedianOf(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
