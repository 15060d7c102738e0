package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"

	"github.com/gomlx/gomlx/backends"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/nbui"
	"github.com/spf13/cobra"
)

func doctorCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "doctor",
		Short: "Report the backends, plugins, devices and datasets this machine has",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			w := os.Stdout
			fmt.Fprintf(w, "lathe doctor — %s %s/%s, %d CPUs\n\n", runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU())

			fmt.Fprintln(w, "backends")
			if env := os.Getenv(backend.EnvVar); env != "" {
				fmt.Fprintf(w, "  %s=%s (overrides recipes)\n", backend.EnvVar, env)
			}
			fmt.Fprintf(w, "  NVIDIA device: %v\n", yesNo(backend.HasNVIDIADevice()))
			cuda := backend.JAXCUDAPlugins()
			if len(cuda) == 0 {
				fmt.Fprintln(w, "  JAX CUDA plugins: none found")
			}
			for _, p := range cuda {
				fmt.Fprintf(w, "  JAX CUDA plugin: %s\n", p)
			}
			std := backend.StandardPlugins()
			if len(std) == 0 {
				fmt.Fprintln(w, "  PJRT plugins in go-xla's search path: none")
			}
			names := make([]string, 0, len(std))
			for n := range std {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				fmt.Fprintf(w, "  PJRT plugin %s: %s\n", n, std[n])
			}
			opened, err := backend.Open("auto")
			if err != nil {
				fmt.Fprintf(w, "  auto: error: %v\n", err)
			} else {
				fmt.Fprintf(w, "  auto chooses: %s (%s)\n", opened.Name(), opened.Backend.Description())
				for d := 0; d < opened.Backend.NumDevices(); d++ {
					fmt.Fprintf(w, "    device %d: %s\n", d, opened.Backend.DeviceDescription(backendDevice(d)))
				}
				if opened.Notice != "" {
					fmt.Fprintf(w, "  note: %s\n", opened.Notice)
				}
				opened.Backend.Finalize()
			}

			fmt.Fprintln(w, "\ndatasets")
			for _, name := range []string{"mnist", "fashion-mnist", "cifar10"} {
				if dir, err := datasets.Locate(name, datasets.Options{}); err != nil {
					fmt.Fprintf(w, "  %-14s missing: %v\n", name, err)
				} else {
					fmt.Fprintf(w, "  %-14s %s\n", name, dir)
				}
			}
			fmt.Fprintln(w, "\nnotebooks")
			reportNotebooks(w)
			fmt.Fprintf(w, "\nrun store: %s\n", storeDir(g))
			return nil
		},
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func backendDevice(d int) backends.DeviceNum { return backends.DeviceNum(d) }

// reportNotebooks says whether the GoNB notebooks can run here, and how to
// fix it when they cannot.
func reportNotebooks(w io.Writer) {
	k := nbui.CheckKernel()
	if k.Nbconvert != "" {
		fmt.Fprintf(w, "  jupyter nbconvert %s\n", k.Nbconvert)
	}
	if k.Kernel != "" {
		fmt.Fprintf(w, "  GoNB kernel: %s\n", k.Kernel)
	}
	if k.Goimports != "" {
		fmt.Fprintf(w, "  goimports: %s\n", k.Goimports)
	}
	for _, p := range k.Problems {
		fmt.Fprintf(w, "  %s\n", p)
	}
	if !k.OK() {
		fmt.Fprintf(w, "  fix: %s\n", nbui.KernelFix)
	}
}
