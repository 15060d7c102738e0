package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/lathe-ml/lathe/pkg/export"
	"github.com/lathe-ml/lathe/pkg/infer"
	"github.com/lathe-ml/lathe/pkg/onnx"
	"github.com/lathe-ml/lathe/pkg/runner"
	"github.com/lathe-ml/lathe/pkg/runs"
	"github.com/spf13/cobra"
)

func exportCmd(g *globalFlags) *cobra.Command {
	var output, format, dtype, check string
	var force bool
	cmd := &cobra.Command{
		Use:   "export RUN",
		Short: "Write a finished run's model as a Lathe model file (safetensors) or ONNX",
		Long: "Write a finished run's final model as a self-contained Lathe model file — safetensors\n" +
			"holding the weights and, in its metadata, the graph, the input normalization and the\n" +
			"class names — that `lathe predict`, `lathe bench infer` and package infer run without\n" +
			"the recipe; or as ONNX (--format onnx, opset 13) for ONNX Runtime or TensorRT. The file is\n" +
			"then checked: the runtime against the GoMLX graph on the test split (--check none skips it).",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "safetensors" && format != "onnx" {
				return fmt.Errorf("--format %q: want safetensors or onnx", format)
			}
			if dtype != "f32" && dtype != "bf16" {
				return fmt.Errorf("--dtype %q: want f32 or bf16", dtype)
			}
			store, err := runs.OpenExisting(storeDir(g))
			if err != nil {
				return err
			}
			defer store.Close()
			s, err := runner.Reopen(context.Background(), store, args[0], g.backend)
			if err != nil {
				return err
			}
			defer s.Close()
			src := export.SourceOf(s)
			if dtype == "bf16" {
				src.DType = infer.BF16
			}
			file, err := export.Build(src)
			if err != nil {
				return err
			}
			if output == "" {
				output = filepath.Join(store.RunDir(s.RunID), "model."+format)
			}
			if err := mayWrite(store, output, s.RunID, force); err != nil {
				return err
			}
			if format == "onnx" {
				graph, err := infer.GraphOf(file)
				if err != nil {
					return err
				}
				err = onnx.WriteFile(output, graph, file.Tensors)
			} else {
				err = file.WriteFile(output)
			}
			if err != nil {
				return err
			}
			info, err := os.Stat(output)
			if err != nil {
				return err
			}
			var weights int
			for _, t := range file.Tensors {
				weights += len(t.Data)
			}
			fmt.Printf("wrote %s: %d bytes (%d of them weights)\n", output, info.Size(), weights)
			if check == "none" {
				return nil
			}
			set := s.Data.Split(check)
			if set == nil {
				return fmt.Errorf("--check %s: the run holds out no %s split", check, check)
			}
			m, err := infer.New(file)
			if err != nil {
				return err
			}
			a, err := export.Check(src, m, set.Features, set.Labels)
			if err != nil {
				return err
			}
			fmt.Printf("check on %d %s examples: same class as the graph %.2f%%, largest logit difference %.2g, runtime accuracy %.2f%% (%s kernels)\n",
				a.Examples, check, 100*a.Same, a.MaxDiff, 100*a.Accuracy, m.Kernels())
			return nil
		},
	}
	cmd.Flags().StringVarP(&output, "output", "o", "", "file to write (default: model.safetensors or model.onnx in the run's folder)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite an existing file given by -o (never the run store, a checkpoint or another run's file)")
	cmd.Flags().StringVar(&format, "format", "safetensors", "safetensors (Lathe model file) or onnx")
	cmd.Flags().StringVar(&dtype, "dtype", "f32", "weights dtype of a safetensors file: f32 or bf16")
	cmd.Flags().StringVar(&check, "check", "test", "split to check the file on (test, validation, train) or none")
	cmd.Flags().StringVar(&g.backend, "backend", "", "backend for the graph: auto, go, xla:cpu, xla:cuda or xla:/abs/plugin.so")
	return cmd
}

// mayWrite refuses an output path that would destroy what the store
// keeps — its database, a checkpoint, a file a run's stage wrote, another
// run's folder — whatever --force says, and any other existing file
// without --force.
func mayWrite(store *runs.Store, output, runID string, force bool) error {
	why, err := store.Guarded(output, runID)
	if err != nil {
		return err
	}
	if why != "" {
		return fmt.Errorf("-o %s: refusing to overwrite it: %s", output, why)
	}
	if _, err := os.Stat(output); err == nil && !force {
		return fmt.Errorf("-o %s: the file exists; add --force to overwrite it", output)
	}
	return nil
}

func predictCmd() *cobra.Command {
	var top int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "predict FILE INPUT...",
		Short: "Classify images with a Lathe model file: IDX selections (mnist:test:0-9), PNG or JPEG files, folders of images",
		Long: "Classify inputs with a model file written by `lathe export` or an export stage, on the\n" +
			"pure-Go runtime (package infer). An INPUT is a dataset selection — DATASET:SPLIT:INDICES with\n" +
			"indices such as 7, 0-9 or 0-4,100 (mnist:test:0-9, fashion-mnist:train:5) — or a PNG file of the\n" +
			"model's size (grayscale for one channel, RGB for three; pixels scaled to [0, 1] as in training), a\n" +
			"JPEG file, or a folder of PNG and JPEG images, resized to the model's size as an image folder's\n" +
			"are for training: images in a sub-folder named after one of the model's classes are labelled\n" +
			"with it (and the output says whether the model agrees).\n\n" +
			"A model file holding NaN or infinite weights is run, with a warning on stderr naming the tensors.\n" +
			"Where its outputs are not numbers the class cannot be determined: the text says NaN, and --json\n" +
			"writes each such probability as the string \"NaN\" (JSON has no NaN; lathe show --json writes\n" +
			"metrics the same way), its top classes then in index order.",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if top < 1 {
				return fmt.Errorf("--top %d: want at least 1", top)
			}
			if err := refuseONNX(args[0]); err != nil {
				return err
			}
			f, err := infer.ReadFile(args[0], 0)
			if err != nil {
				return err
			}
			m, err := infer.New(f)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			warnNonFinite(args[0], f)
			var inputs []namedInput
			for _, arg := range args[1:] {
				more, err := readInputs(arg, m.Graph.Input.Shape, m.Graph.Classes)
				if err != nil {
					return err
				}
				inputs = append(inputs, more...)
			}
			classes := m.Graph.Classes
			probs := make([]float32, m.Classes())
			var results []prediction
			for _, in := range inputs {
				if err := m.PredictProba(in.values, 1, probs); err != nil {
					return fmt.Errorf("%s: %w", in.name, err)
				}
				p := prediction{Input: in.name, Label: in.label}
				for _, i := range topK(probs, top) {
					p.Top = append(p.Top, classProb{Class: classes[i], Index: i, Probability: jsonFloat(probs[i])})
				}
				results = append(results, p)
			}
			if asJSON {
				return writeJSON(os.Stdout, results)
			}
			for _, p := range results {
				fmt.Printf("%s: %s%s\n", p.Input, p.text(), p.labelText(classes))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&top, "top", 3, "classes to show per input")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (a probability that is not a number as the string \"NaN\")")
	return cmd
}

// warnNonFinite warns, in one line on stderr, that a model file holds NaN
// or infinite weights: the command still runs it (its outputs are what the
// file computes), but a NaN answer should not come as a surprise.
func warnNonFinite(name string, f *infer.File) {
	if counts := f.NonFinite(); counts != nil {
		fmt.Fprintf(os.Stderr, "%s: %s: its outputs may be NaN\n", name, infer.DescribeNonFinite(counts))
	}
}

type prediction struct {
	Input string      `json:"input"`
	Label *int        `json:"label,omitempty"`
	Top   []classProb `json:"top"`
}

type classProb struct {
	Class       string    `json:"class"`
	Index       int       `json:"index"`
	Probability jsonFloat `json:"probability"`
}

// text is the prediction's classes and probabilities, or "NaN" when they
// are not numbers: a NaN logit makes every probability NaN (softmax
// spreads it), and classes listed in index order beside "NaN%" would read
// as an answer.
func (p prediction) text() string {
	var parts []string
	for _, c := range p.Top {
		if math.IsNaN(float64(c.Probability)) {
			return "NaN (the model's outputs are not numbers: no class)"
		}
		parts = append(parts, fmt.Sprintf("%s %.1f%%", c.Class, 100*c.Probability))
	}
	return strings.Join(parts, ", ")
}

func (p prediction) labelText(classes []string) string {
	if p.Label == nil {
		return ""
	}
	return fmt.Sprintf("  (label %s)", classes[*p.Label])
}

// jsonFloat is a number that JSON can carry when it is not finite: NaN
// and ±Inf as the strings "NaN", "+Inf" and "-Inf" (encoding/json refuses
// them, which made `predict --json` fail on a model with NaN weights), as
// runs.Metrics writes them.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (x jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(x)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v)
}

// UnmarshalJSON implements json.Unmarshaler (for tools and tests that
// read predict's JSON back).
func (x *jsonFloat) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		switch s {
		case "NaN":
			*x = jsonFloat(math.NaN())
		case "+Inf":
			*x = jsonFloat(math.Inf(1))
		case "-Inf":
			*x = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("probability %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*x = jsonFloat(v)
	return nil
}

// refuseONNX names the mistake of handing an ONNX file to a command that
// runs Lathe model files, instead of reporting a nonsense header size.
func refuseONNX(path string) error {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return fmt.Errorf("%s: an ONNX file; Lathe's runtime runs Lathe model files (lathe export writes one without --format onnx)", path)
	}
	return nil
}

// topK returns the indices of the k largest values, largest first.
func topK(v []float32, k int) []int {
	idx := make([]int, 0, len(v))
	for i := range v {
		idx = append(idx, i)
	}
	for i := 0; i < min(k, len(idx)); i++ {
		best := i
		for j := i + 1; j < len(idx); j++ {
			if v[idx[j]] > v[idx[best]] {
				best = j
			}
		}
		idx[i], idx[best] = idx[best], idx[i]
	}
	return idx[:min(k, len(idx))]
}

// writeJSONFile writes v as JSON to path (for tools' inputs).
func writeJSONFile(path string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
