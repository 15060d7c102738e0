package runner

import (
	"fmt"
	"strings"
	"time"

	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/recipe"
	"github.com/lathe-ml/lathe/pkg/runs"
)

// loadData loads the dataset, holds out validation examples and standardizes
// every split with the training split's statistics (never the test split's).
// It runs before the run is recorded; what it found waits in dataLog for
// the run's log.
func (s *Session) loadData() error {
	d := s.Recipe.Data
	trainSet, testSet, note, err := LoadData(d, s.Recipe.Seed)
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
	s.Data = Splits{Train: trainSet, Test: testSet, Std: 1}
	if validation > 0 {
		if s.Data.Train, s.Data.Validation, err = trainSet.Split(validation, s.Recipe.Seed); err != nil {
			return fmt.Errorf("data.validation: %w", err)
		}
	}
	if s.Data.Train.Len() < d.BatchSize {
		return fmt.Errorf("data.batch_size %d is larger than the %d training examples", d.BatchSize, s.Data.Train.Len())
	}
	if d.Normalize {
		mean, std := s.Data.Train.Stats()
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
func LoadData(d recipe.Data, seed int64) (train, test *datasets.Set, note string, err error) {
	if d.Dataset != "imagefolder" {
		train, test, err = datasets.Load(d.Dataset, datasets.Options{Dir: d.Dir, Seed: seed, TrainSize: d.TrainSize, TestSize: d.TestSize, Pad: d.Pad})
		return train, test, "", err
	}
	train, test, info, err := datasets.LoadFolder(datasets.FolderOptions{Dir: d.Dir, Height: d.Size[0], Width: d.Size[1], Channels: d.Channels,
		TestFraction: d.TestFraction, Seed: seed, SkipBad: d.SkipBad})
	if err != nil {
		return nil, nil, "", err
	}
	if d.Pad > 0 {
		for _, s := range []*datasets.Set{train, test} {
			if err := s.Pad(d.Pad); err != nil {
				return nil, nil, "", err
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "image folder %s:", d.Dir)
	for c, name := range train.ClassNames {
		fmt.Fprintf(&b, " %s %d/%d", name, info.TrainCounts[c], info.TestCounts[c])
	}
	b.WriteString(" (train/test images per class)")
	switch {
	case info.Cached:
		fmt.Fprintf(&b, "; pixels from the cache %s", info.Cache)
	case info.Cache != "":
		fmt.Fprintf(&b, "; decoded in %s, cached in %s", info.Decoded.Round(time.Millisecond), info.Cache)
	default:
		fmt.Fprintf(&b, "; decoded in %s (no cache)", info.Decoded.Round(time.Millisecond))
	}
	if len(info.Skipped) > 0 {
		fmt.Fprintf(&b, "; %d images left out (skip_bad), the first %s", len(info.Skipped), info.Skipped[0])
	}
	return train, test, b.String(), nil
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
