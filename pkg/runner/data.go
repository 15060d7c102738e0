package runner

import (
	"fmt"

	"github.com/lathe-ml/lathe/datasets"
)

// loadData loads the dataset, holds out validation examples and standardizes
// every split with the training split's statistics (never the test split's).
func (s *Session) loadData() error {
	d := s.Recipe.Data
	trainSet, testSet, err := datasets.Load(d.Dataset, datasets.Options{Dir: d.Dir, Seed: s.Recipe.Seed, TrainSize: d.TrainSize, TestSize: d.TestSize, Pad: d.Pad})
	if err != nil {
		return err
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
	s.Log("data: %s, %d train / %d validation / %d test examples, %d classes",
		d.Dataset, s.Data.Train.Len(), lenOf(s.Data.Validation), s.Data.Test.Len(), s.Data.Train.NumClasses)
	return nil
}

func lenOf(s *datasets.Set) int {
	if s == nil {
		return 0
	}
	return s.Len()
}
