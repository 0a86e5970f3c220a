using System.CommandLine;
using OnnxGradSign.Onnx;
using OnnxGradSign.Reporting;

namespace OnnxGradSign.Cli.Commands;

public static class InspectCommand
{
    public static Command Create()
    {
        var models = new Argument<string[]>("models") { Description = "ONNX files or folders (searched recursively)", Arity = ArgumentArity.OneOrMore };
        var format = CommonOptions.Format("table", "json");
        var command = new Command("inspect", "Show a model's producer, opsets, inputs/outputs, ops, parameters by layer kind, unsupported nodes and warnings")
        {
            models, format,
        };
        command.SetAction(parse =>
        {
            List<string> files;
            try
            {
                CommonOptions.RejectUnknownOptions(parse.CommandResult.Command, parse.GetValue(models)!);
                files = ModelFiles.Expand(parse.GetValue(models)!);
            }
            catch (Exception e) when (e is FileNotFoundException or ArgumentException) { Console.Error.WriteLine(ScoreOptionFlags.InCliTerms(e.Message)); return ExitCodes.Usage; }
            var reports = files.Select(ModelInspector.Inspect).ToList();
            Console.Write(parse.GetValue(format) == "json" ? Json.Serialize(reports) + "\n" : string.Concat(reports.Select(TextReports.Inspection)));
            return reports.Any(r => r.Error is not null || r.Unsupported.Count > 0) ? ExitCodes.ModelFailed : ExitCodes.Ok;
        });
        return command;
    }
}
