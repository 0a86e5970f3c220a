using System.CommandLine;
using OnnxGradSign.Reporting;
using OnnxGradSign.Verification;

namespace OnnxGradSign.Cli.Commands;

public static class ConformanceCommand
{
    public static Command Create()
    {
        var root = new Option<string>("--suite") { Description = "The backend test data (Debian's libonnx-testdata)", DefaultValueFactory = _ => BackendSuite.DebianData };
        var parts = new Option<string[]>("--part")
        {
            Description = "Folders of the suite to run (repeatable)", DefaultValueFactory = _ => ["node", "simple", "pytorch-converted", "pytorch-operator"],
        };
        var format = CommonOptions.Format("table", "json");
        var command = new Command("conformance", "Run ONNX's backend test cases against the importer: pass rate, and every case's verdict by operator")
        {
            root, parts, format,
        };
        command.SetAction(parse =>
        {
            var cases = BackendSuite.Cases(parse.GetValue(root)!, parse.GetValue(parts)!).ToList();
            if (cases.Count == 0)
            {
                Console.Error.WriteLine($"{parse.GetValue(root)}: no backend test cases (on Debian: apt-get install libonnx-testdata)");
                return ExitCodes.Usage;
            }
            var results = cases.Select(BackendSuite.Run).ToList();
            Console.Write(parse.GetValue(format) == "json" ? Json.Serialize(results) + "\n" : TextReports.Conformance(results));
            return ExitCodes.Ok;
        });
        return command;
    }
}
