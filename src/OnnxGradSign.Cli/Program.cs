using System.CommandLine;
using OnnxGradSign.Cli.Commands;

var root = new RootCommand("onnx-gradsign: import ONNX networks into TorchSharp and rank them with zero-cost proxies such as GradSign.");
root.Subcommands.Add(InspectCommand.Create());
root.Subcommands.Add(VerifyCommand.Create());
root.Subcommands.Add(ScoreCommand.Create());
root.Subcommands.Add(BenchCommand.Create());
root.Subcommands.Add(EvaluateCommand.Create());
root.Subcommands.Add(ServeCommand.Create());
root.Subcommands.Add(MergeCommand.Create());
root.Subcommands.Add(ConformanceCommand.Create());
return root.Parse(args).Invoke();
