package runs

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestFormats(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	cases := []struct{ got, want string }{
		{FormatDuration(0), "0s"},
		{FormatDuration(-time.Second), "0s"},
		{FormatDuration(1500 * time.Millisecond), "1.5s"},
		{FormatDuration(42 * time.Second), "42s"},
		{FormatDuration(185 * time.Second), "3m05s"},
		{FormatDuration(2*time.Hour + 10*time.Minute), "2h10m"},
		{FormatCount(950), "950"},
		{FormatCount(25200), "25.2k"},
		{FormatCount(4_100_000), "4.1M"},
		{FormatCount(2.5e9), "2.5G"},
		{FormatCount(inf), "+Inf"},
		{FormatValue(0), "0"},
		{FormatValue(0.012345), "0.0123"},
		{FormatValue(1.23456), "1.235"},
		{FormatValue(12.3456), "12.35"},
		{FormatValue(123.456), "123.5"},
		{FormatValue(1234.5), "1234"},
		{FormatValue(0.00097), "0.00097"},
		{FormatValue(1.2e-5), "1.2e-05"},
		{FormatValue(57788), "57.8k"},
		{FormatValue(-57788), "-57.8k"},
		{FormatValue(3.4e12), "3.4e+12"},
		{FormatValue(nan), "NaN"},
		{FormatValue(inf), "+Inf"},
		{FormatValue(-inf), "-Inf"},
		{FormatPercent(0.9731), "97.31%"},
		{FormatPercent(nan), "NaN"},
		{FormatSeconds(0.052), "0.052s"},
		{FormatSeconds(3.4), "3.4s"},
		{FormatSeconds(125), "2m05s"},
		{FormatSeconds(1e300), "1.0e+300s"},
		{FormatCount(3.4e12), "3.4e+12"},
		{FormatSeconds(-inf), "-Inf"},
		{FormatMetric("test_accuracy", 0.9731), "97.31%"},
		{FormatMetric("accuracy", 1), "100.00%"},
		{FormatMetric("sparsity/fc1", 0.5), "50.00%"},
		{FormatMetric("samples_per_s", 2012), "2012/s"},
		{FormatMetric("samples_per_s", 25200), "25.2k/s"},
		{FormatMetric("epoch_s", 0.052), "0.052s"},
		{FormatMetric("wall_s", 273), "4m33s"},
		{FormatMetric("latency_ms", 1.25), "1.250ms"},
		{FormatMetric("ms_per_step", 45.5), "45.50ms"},
		{FormatMetric("params", 101770), "101.8k"},
		{FormatMetric("steps", 3436), "3436"},
		{FormatMetric("size_bytes", 4_100_000), "4.1M"},
		{FormatMetric("loss_scale", 65536), "65.5k"},
		{FormatMetric("train_loss", 0.0895), "0.0895"},
		{FormatMetric("test_accuracy", nan), "NaN"},
		{FormatMetric("samples_per_s", inf), "+Inf"},
		{FormatMetric("wall_s", -inf), "-Inf"},
		{FormatMetric("params", nan), "NaN"},
		{OrDash(""), "-"},
		{OrDash("go"), "go"},
		{SafeName("optimizers-compare/adam"), "optimizers-compare_adam"},
		{SafeName("my recipe v1.2.yaml"), "my_recipe_v1.2.yaml"},
		{SafeName("../../etc/passwd"), ".._.._etc_passwd"},
		{SafeName("a\\b:c*?\"<>|"), "a_b_c______"},
		{SafeName("été_1"), "été_1"},
		{SafeName(""), "_"},
		{SafeName("."), "_"},
		{SafeName(".."), "__"},
		{SafeName("/"), "_"},
		{SafeName("\xff"), "_"},
		{FirstLine("  panic: boom\n\tgoroutine 1\n"), "panic: boom"},
		{FirstLine("\n\n  second \r\nthird"), "second"},
		{FirstLine("one"), "one"},
		{FirstLine(""), ""},
	}
	for i, c := range cases {
		if c.got != c.want {
			t.Errorf("case %d: got %q, want %q", i, c.got, c.want)
		}
	}
	for name, want := range map[string]bool{"test_accuracy": true, "accuracy": true, "validation_accuracy/top5": true,
		"sparsity": true, "sparsity/fc1": true, "test_loss": false, "accuracy_drop_s": false, "sparsity_target": false} {
		if IsFraction(name) != want {
			t.Errorf("IsFraction(%q) = %v", name, !want)
		}
	}
	m := map[string]float64{"wall_s": 1, "test_loss": 1, "validation_accuracy": 1, "accuracy": 1, "params": 1, "sparsity": 1, "test_accuracy": 1}
	if got := strings.Join(SortMetricNames(m), ","); got != "accuracy,test_accuracy,validation_accuracy,params,sparsity,test_loss,wall_s" {
		t.Errorf("SortMetricNames: %s", got)
	}
	if got := SortMetricNames(nil); len(got) != 0 {
		t.Errorf("SortMetricNames(nil) = %v", got)
	}
}
