using OnnxGradSign.Proxies;
using System.CommandLine;
using OnnxGradSign.Onnx;
using OnnxGradSign.Reporting;
using OnnxGradSign.Verification;

namespace OnnxGradSign.Cli.Commands;

public static class VerifyCommand
{
    public static Command Create()
    {
        var models = new Argument<string[]>("models") { Description = "ONNX files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var rtol = new Option<double>("--rtol") { Description = "Relative tolerance", DefaultValueFactory = _ => 1e-4 };
        var atol = new Option<double>("--atol") { Description = "Absolute tolerance", DefaultValueFactory = _ => 1e-5 };
        var batch = new Option<long>("--batch-size") { Description = "Size of a symbolic batch axis", DefaultValueFactory = _ => 2 };
        var seed = CommonOptions.Seed();
        var sideInputs = new ScoreOptionFlags("input_shape", "input_value");
        var format = CommonOptions.Format("table", "json");
        var command = new Command("verify", "Import each model with its own weights and compare TorchSharp with ONNX Runtime on a seeded random input")
        {
            models, rtol, atol, batch, seed, format,
        };
        foreach (var option in sideInputs.Options) command.Options.Add(option);
        command.SetAction(parse =>
        {
            List<string> files;
            InputSpec spec;
            try
            {
                CommonOptions.RejectUnknownOptions(parse.CommandResult.Command, parse.GetValue(models)!);
                files = ModelFiles.Expand(parse.GetValue(models)!);
                var given = sideInputs.Read(parse);
                spec = new InputSpec(parse.GetValue(batch), given.InputShape?.ToDictionary() ?? [], given.InputValue?.ToDictionary());
            }
            catch (ScoreOptionException e) { Console.Error.WriteLine(ScoreOptionFlags.Describe(e)); return ExitCodes.Usage; }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException) { Console.Error.WriteLine(ScoreOptionFlags.InCliTerms(e.Message)); return ExitCodes.Usage; }

            var tolerance = new Tolerance(parse.GetValue(rtol), parse.GetValue(atol));
            var results = files.Select(f => ModelVerifier.Verify(f, tolerance, spec, parse.GetValue(seed))).ToList();
            Console.Write(parse.GetValue(format) == "json" ? Json.Serialize(results) + "\n" : TextReports.Verification(results, tolerance));
            return results.All(r => r.Passed) ? ExitCodes.Ok : ExitCodes.ModelFailed;
        });
        return command;
    }
}
