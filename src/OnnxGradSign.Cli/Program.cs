using OnnxGradSign.Cli.Commands;

return App.Run(args);
