package runner

import (
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/gomlx/gomlx/pkg/core/tensors"
	gomlxctx "github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/onnximport"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// loadData loads the dataset, holds out validation examples and standardizes
// every split with the training split's statistics (never the test split's).
// It runs before the run is recorded; what it found waits in dataLog for
// the run's log.
func (s *Session) loadData() error {
	d := s.Recipe.Data
	trainSet, valSet, testSet, note, err := LoadData(d, s.Recipe.Seed)
	if err != nil {
		return err
	}
	if note != "" {
		s.dataLog = append(s.dataLog, "data: "+note)
	}
	validation := d.Validation
	if validation < 0 {
		validation = trainSet.Len() / 10
	}
	s.Data = Splits{Train: trainSet, Validation: valSet, Test: testSet, Std: 1}
	if valSet != nil { // the folder's own val/ images
		validation = 0
	}
	if validation > 0 {
		if s.Data.Train, s.Data.Validation, err = trainSet.Split(validation, s.Recipe.Seed); err != nil {
			return fmt.Errorf("data.validation: %w", err)
		}
	}
	if s.Data.Train.Len() < d.BatchSize {
		return fmt.Errorf("data.batch_size %d is larger than the %d training examples", d.BatchSize, s.Data.Train.Len())
	}
	if d.Normalize && d.Dataset == "csv" && d.Stats == nil {
		// A table's columns have their own units: each is standardized
		// with its own training statistics, which model files keep.
		s.Data.Means, s.Data.Stds = s.Data.Train.FeatureStats()
		for _, set := range []*datasets.Set{s.Data.Train, s.Data.Validation, s.Data.Test} {
			if set != nil {
				set.NormalizeFeatures(s.Data.Means, s.Data.Stds)
			}
		}
	} else if d.Normalize {
		mean, std := s.Data.Train.Stats()
		if d.Stats != nil { // the constants a model trained elsewhere expects
			mean, std = float32(d.Stats.Mean), float32(d.Stats.Std)
			s.dataLog = append(s.dataLog, fmt.Sprintf("data: standardized with the recipe's mean %g and std %g", mean, std))
		}
		s.Data.Mean, s.Data.Std = mean, std
		if std == 0 { // Normalize only subtracts the mean then
			s.Data.Std = 1
		}
		for _, set := range []*datasets.Set{s.Data.Train, s.Data.Validation, s.Data.Test} {
			if set != nil {
				set.Normalize(mean, std)
			}
		}
	}
	if err := s.Recipe.Model.AcceptsShape(s.Data.Train.ExampleShape); err != nil {
		return fmt.Errorf("%s: %v", d.Dataset, err)
	}
	if m := s.Recipe.Model; m.ONNX != "" {
		imp, err := onnximport.Load(m.ONNX)
		if err != nil {
			return err
		}
		if imp.Classes != s.Data.Train.NumClasses {
			return fmt.Errorf("model.onnx %s has %d outputs, but data %s has %d classes", m.ONNX, imp.Classes, d.Dataset, s.Data.Train.NumClasses)
		}
		if shape := s.Data.Train.ExampleShape; !imp.Takes(shape) {
			return fmt.Errorf("model.onnx %s takes examples of shape %v, but data %s gives %v", m.ONNX, imp.Example, d.Dataset, shape)
		}
	}
	s.dataLog = append(s.dataLog, fmt.Sprintf("data: %s, %d train / %d validation / %d test examples, %d classes",
		d.Dataset, s.Data.Train.Len(), lenOf(s.Data.Validation), s.Data.Test.Len(), s.Data.Train.NumClasses))
	return nil
}

func lenOf(s *datasets.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}

// LoadData loads a recipe's dataset, its train and test splits, and says
// in a line what loading an image folder found (classes and their
// counts, the cache, images left out); "" for the built-in sets.
func LoadData(d recipe.Data, seed int64) (train, validation, test *datasets.Set, note string, err error) {
	if d.Dataset == "csv" {
		train, test, info, err := datasets.LoadCSV(datasets.CSVOptions{File: d.File, Label: d.Label, TestFraction: d.TestFraction, Seed: seed})
		if err != nil {
			return nil, nil, nil, "", err
		}
		var b strings.Builder
		fmt.Fprintf(&b, "csv %s: %d features (%s), label %s:", d.File, len(info.Features), strings.Join(info.Features, ", "), d.Label)
		for c, name := range train.ClassNames {
			fmt.Fprintf(&b, " %s %d/%d", name, count(train.Labels, c), count(test.Labels, c))
		}
		b.WriteString(" (train/test rows per class)")
		return train, nil, test, b.String(), nil
	}
	if d.Dataset != "imagefolder" {
		train, test, err = datasets.Load(d.Dataset, datasets.Options{Dir: d.Dir, Seed: seed, TrainSize: d.TrainSize, TestSize: d.TestSize, Pad: d.Pad})
		return train, nil, test, "", err
	}
	start := time.Now()
	train, test, info, err := datasets.LoadFolder(datasets.FolderOptions{Dir: d.Dir, Height: d.Size[0], Width: d.Size[1], Channels: d.Channels,
		TestFraction: d.TestFraction, Seed: seed, SkipBad: d.SkipBad})
	took := time.Since(start).Round(time.Millisecond)
	if err != nil {
		return nil, nil, nil, "", err
	}
	if d.Pad > 0 {
		for _, s := range []*datasets.Set{train, info.Validation, test} {
			if s == nil {
				continue
			}
			if err := s.Pad(d.Pad); err != nil {
				return nil, nil, nil, "", err
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "image folder %s:", d.Dir)
	for c, name := range train.ClassNames {
		if info.Validation != nil {
			fmt.Fprintf(&b, " %s %d/%d/%d", name, info.TrainCounts[c], info.ValidationCounts[c], info.TestCounts[c])
		} else {
			fmt.Fprintf(&b, " %s %d/%d", name, info.TrainCounts[c], info.TestCounts[c])
		}
	}
	if info.Validation != nil {
		b.WriteString(" (train/val/test images per class: validation is the folder's val/)")
	} else {
		b.WriteString(" (train/test images per class)")
	}
	switch {
	case info.Cached:
		fmt.Fprintf(&b, "; pixels from the cache %s in %s", info.Cache, took)
	case info.Cache != "":
		fmt.Fprintf(&b, "; decoded in %s, cached in %s (%s in all)", info.Decoded.Round(time.Millisecond), info.Cache, took)
	default:
		fmt.Fprintf(&b, "; decoded in %s (no cache)", info.Decoded.Round(time.Millisecond))
	}
	if len(info.Skipped) > 0 {
		fmt.Fprintf(&b, "; %d images left out (skip_bad), the first %s", len(info.Skipped), info.Skipped[0])
	}
	return train, info.Validation, test, b.String(), nil
}

// ClassCounts are the examples of each class in each split, named by the
// dataset's class names (else by index).
func (d Splits) ClassCounts() []runs.ClassCount {
	if d.Train == nil {
		return nil
	}
	out := make([]runs.ClassCount, d.Train.NumClasses)
	for c := range out {
		out[c].Name = fmt.Sprint(c)
		if c < len(d.Train.ClassNames) {
			out[c].Name = d.Train.ClassNames[c]
		}
	}
	count := func(s *datasets.Set, field func(*runs.ClassCount) *int) {
		if s == nil {
			return
		}
		for _, l := range s.Labels {
			if int(l) < len(out) {
				*field(&out[l])++
			}
		}
	}
	count(d.Train, func(c *runs.ClassCount) *int { return &c.Train })
	count(d.Validation, func(c *runs.ClassCount) *int { return &c.Validation })
	count(d.Test, func(c *runs.ClassCount) *int { return &c.Test })
	return out
}

// assignImported creates the imported model's variables in ctx with its
// weights, where pkg/models' graph for its arch looks for them
// (/<arch>/<layer>/weights, …).
func assignImported(ctx *gomlxctx.Context, m *onnximport.Model) {
	for _, key := range slices.Sorted(maps.Keys(m.Weights)) {
		w := m.Weights[key]
		scope, name := path.Split(key)
		ctx.InAbsPath(path.Join("/", m.Arch, scope)).VariableWithValue(name,
			tensors.FromFlatDataAndDimensions(slices.Clone(w.Values), w.Shape...))
	}
}

func count(labels []int32, class int) int {
	n := 0
	for _, l := range labels {
		if int(l) == class {
			n++
		}
	}
	return n
}
