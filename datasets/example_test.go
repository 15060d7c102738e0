package datasets_test

import (
	"fmt"
	"io"

	"github.com/lathe-ml/lathe/datasets"
)

func Example() {
	train, test, err := datasets.Load("synthetic-images", datasets.Options{Seed: 1, TrainSize: 600, TestSize: 100})
	if err != nil {
		panic(err)
	}
	mean, std := train.Stats()
	train.Normalize(mean, std)
	test.Normalize(mean, std) // with the training statistics
	fit, val, err := train.Split(100, 1)
	if err != nil {
		panic(err)
	}
	batches, err := datasets.NewBatches(fit, 128, true, 1, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(fit.Name, fit.Len(), val.Name, val.Len(), batches.StepsPerEpoch(), "steps per epoch")
	for {
		_, inputs, labels, err := batches.Yield()
		if err == io.EOF {
			break
		}
		fmt.Println(inputs[0].Shape(), labels[0].Shape())
	}
	// Output:
	// synthetic-images/train 500 synthetic-images/train/val 100 3 steps per epoch
	// (Float32)[128 28 28 1] (Int32)[128 1]
	// (Float32)[128 28 28 1] (Int32)[128 1]
	// (Float32)[128 28 28 1] (Int32)[128 1]
}
