using OnnxGradSign.Proxies;

namespace OnnxGradSign.Tests.Proxies;

/// <summary>`score` on real files published by others (../shared/realworld): fixed batches, one-logit heads, several outputs, side inputs.</summary>
public class RealWorldScoreTests
{
    private static readonly ScoreOptions Settings = new ScoreOptions { BatchSize = 8 };

    /// <summary>The refusals that are the right answer: an operator not yet converted, a graph with nothing GradSign scores, a
    /// shape only the user can give (asked for by option name).</summary>
    private static readonly string[] Accepted = ["unsupported node(s)", "no Conv, ConvTranspose or Linear weight", "`input_shape"];

    [RealWorldFact("SOURCES.md")]
    public void Every_file_scores_or_is_refused_for_a_reason_it_names()
    {
        var wrong = new List<string>();
        foreach (var path in Directory.GetFiles(TestPaths.RealWorld, "*.onnx").Order())
        {
            var record = new Scorer(Settings).Score(path, null);
            bool scored = record.Status == ScoreRecord.Ok && record.Score("gradsign") is > 0 and var g && double.IsFinite(g);
            bool refused = record.Status == ScoreRecord.Failed && record.Error!.Contains(path) && Accepted.Any(record.Error.Contains);
            if (!scored && !refused) wrong.Add($"{Path.GetFileName(path)}: {record.Status} {record.Score("gradsign")} {record.Error}");
        }
        Assert.True(wrong.Count == 0, string.Join("\n", wrong));
    }

    [RealWorldFact("ocr__ch_PP-OCRv3_det_infer.onnx")]
    public void An_ocr_detector_with_symbolic_image_axes_scores_at_the_shape_given()
    {
        var path = Path.Combine(TestPaths.RealWorld, "ocr__ch_PP-OCRv3_det_infer.onnx");
        Assert.Contains("`input_shape x=", new Scorer(Settings).Score(path, null).Error);
        var record = new Scorer(Settings with { InputShape = new Dictionary<string, long[]> { ["x"] = [-1, 3, 64, 64] } }).Score(path, null);
        Assert.True(record.Score("gradsign") > 0, record.Error);
    }

    [RealWorldFact("cls__mnist_cntk.onnx")]
    public void A_cntk_classifier_with_its_batch_of_one_baked_in_scores_one_sample_at_a_time()
    {
        var record = new Scorer(Settings).Score(Path.Combine(TestPaths.RealWorld, "cls__mnist_cntk.onnx"), null);
        Assert.True(record.Score("gradsign") > 0, record.Error);
        Assert.Equal("loop", record.EngineUsed);
        Assert.Contains(record.Warnings, w => w.Contains("fixes its batch at 1"));
    }

    [RealWorldFact("seq__keras2onnx_lstm_test_model_1.onnx")]
    public void A_keras_lstm_matches_onnx_runtime_and_scores_its_recurrent_weights_one_sample_at_a_time()
    {
        var path = Path.Combine(TestPaths.RealWorld, "seq__keras2onnx_lstm_test_model_1.onnx");
        var verified = OnnxGradSign.Verification.ModelVerifier.Verify(path, new OnnxGradSign.Verification.Tolerance(), new OnnxGradSign.Verification.InputSpec(1), seed: 0);
        Assert.True(verified.Passed, verified.Error);
        var record = new Scorer(Settings with { PerLayer = true }).Score(path, null);
        Assert.True(record.Score("gradsign") is > 0 and var g && double.IsFinite(g), record.Error);
        Assert.Equal("loop", record.EngineUsed);
        Assert.Contains(record.Warnings, w => w.Contains("LSTM weight") && w.Contains("only the loop engine"));
        // One time step from a zero state: R never reaches the loss, W does.
        Assert.Contains(record.Layers!, l => (l.Parameter, l.Kind) == ("lstm_1_W", "Lstm") && l.Score > 0);
        Assert.Contains(record.Layers!, l => l.Parameter == "lstm_1_R" && l.ZeroFraction == 1);
    }

    [RealWorldFact("vad__silero_vad_v5.onnx")]
    public void A_voice_activity_detector_feeds_its_state_and_sample_rate()
    {
        var report = OnnxGradSign.Reporting.ModelInspector.Inspect(Path.Combine(TestPaths.RealWorld, "vad__silero_vad_v5.onnx"));
        Assert.Contains(report.Rules, r => r.StartsWith("input 'state': zeros [2,n,128]"));
        Assert.Contains(report.Rules, r => r.StartsWith("input 'sr': 16000"));
    }

    [RealWorldFact("cls__mlp_torch251_quantized.onnx")]
    public void A_dynamically_quantized_mlp_scores_as_its_dequantized_float_network()
    {
        var path = Path.Combine(TestPaths.RealWorld, "cls__mlp_torch251_quantized.onnx");
        var record = new Scorer(Settings).Score(path, null);
        Assert.True(record.Score("gradsign") is > 0 and var g && double.IsFinite(g), record.Error);
        Assert.Equal(25L * 20 + 20 * 15 + 15 * 10, record.Params); // the three float layers the integer ones stand for
        Assert.Contains(OnnxGradSign.Reporting.ModelInspector.Inspect(path).Rules, r => r.StartsWith("quantized: scored as its dequantized float network"));
    }

    /// <summary>
    /// The If on the sample rate folds at import to that rate's branch: its layers alone are scored (where LSTM is not converted,
    /// what is refused is an LSTM of that branch alone, never an If).
    /// </summary>
    [RealWorldFact("vad__silero_vad_v5.onnx")]
    public void A_voice_activity_detectors_sample_rate_switch_keeps_one_branch()
    {
        var path = Path.Combine(TestPaths.RealWorld, "vad__silero_vad_v5.onnx");
        // Silero takes chunks of 512 samples at 16 kHz, 256 at 8 kHz.
        foreach (var (rate, chunk, taken, other) in new[] { (16000, 512L, "If_0_then_branch", "If_0_else_branch"), (8000, 256L, "If_0_else_branch", "If_0_then_branch") })
        {
            var record = new Scorer(Settings with
            {
                PerLayer = true,
                InputShape = new Dictionary<string, long[]> { ["input"] = [-1, chunk] },
                InputValue = new Dictionary<string, double> { ["sr"] = rate },
            }).Score(path, null);
            if (record.Status == ScoreRecord.Ok)
            {
                Assert.True(record.Score("gradsign") > 0);
                Assert.All(record.Layers!, l => Assert.StartsWith(taken, l.Parameter));
                continue;
            }
            Assert.Contains("unsupported node(s)", record.Error);
            Assert.Contains($"'{taken}", record.Error);
            Assert.DoesNotContain($"'{other}", record.Error);
            Assert.DoesNotContain("(If,", record.Error);
            Assert.Matches(@"^[^;]*LSTM[^;]*(; [^;]*LSTM[^;]*)*$", record.Error![record.Error.IndexOf("'", StringComparison.Ordinal)..]);
        }
    }
}
