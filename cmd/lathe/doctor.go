package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"time"

	"github.com/gomlx/gomlx/backends"
	"github.com/lathe-ml/lathe/datasets"
	"github.com/lathe-ml/lathe/pkg/backend"
	"github.com/lathe-ml/lathe/pkg/gocompute"
	"github.com/lathe-ml/lathe/pkg/nbui"
	"github.com/spf13/cobra"
)

func doctorCmd(g *globalFlags) *cobra.Command {
	var (
		installXLA bool
		timeout    time.Duration
		xlaDir     string
	)
	cmd := &cobra.Command{
		Use:   "doctor",
		Short: "Report the backends, plugins, devices and datasets this machine has",
		Long: `Report the backends, plugins, devices and datasets this machine has.

--install-xla downloads XLA's CPU PJRT plugin (the version go-xla was tested with, from
GitHub, about 100 MB) into ~/.local/lib/go-xla, where backend auto and xla:cpu find it, then
opens it to check that it works. It needs internet; offline it fails at once and says how to
copy the plugin in by hand.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if installXLA {
				return doctorInstallXLA(xlaDir, timeout)
			}
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
				fmt.Fprintf(w, "  kernels: %s\n", opened.Kernels)
				if !gocompute.SIMDBuilt {
					fmt.Fprintf(w, "  WARNING: %s\n", backend.SIMDWarning)
				}
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
	cmd.Flags().BoolVar(&installXLA, "install-xla", false, "download and install XLA's CPU PJRT plugin, then check that it opens")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Minute, "give up on --install-xla after this long")
	cmd.Flags().StringVar(&xlaDir, "xla-dir", "", "folder to install the plugin into (default ~/.local/lib/go-xla, in go-xla's search path)")
	return cmd
}

// doctorInstallXLA installs XLA's CPU plugin under a time bound and opens it.
// Every failure is one error line naming what failed and what to do.
func doctorInstallXLA(dir string, timeout time.Duration) error {
	fail := func(err error) error { return fmt.Errorf("doctor --install-xla: %w", err) }
	if dir == "" {
		d, err := backend.DefaultXLAInstallDir()
		if err != nil {
			return fail(fmt.Errorf("no home folder to install into (%v): name one with --xla-dir", err))
		}
		dir = d
	}
	// Progress goes to stdout: stderr holds only the one error line, if any.
	fmt.Printf("installing XLA's CPU PJRT plugin into %s (giving up after %s)\n", dir, timeout)
	// go-xla draws a spinner on stdout; send it to a terminal on stderr, or nowhere,
	// so that stdout stays this command's report.
	var progress *os.File
	if fi, err := os.Stderr.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
		progress = os.Stderr
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	inst, err := backend.InstallXLACPU(ctx, dir, progress)
	if err != nil {
		return fail(err)
	}
	if inst.AlreadyThere {
		fmt.Printf("XLA CPU plugin already installed: %s\n", inst.Plugin)
	} else {
		fmt.Printf("XLA CPU plugin installed in %s: %s\n", inst.Took.Round(time.Second), inst.Plugin)
	}
	// Open it by its path, so that a folder outside go-xla's search path is checked too.
	opened, err := backend.Open("xla:" + inst.Plugin)
	if err != nil {
		return fail(fmt.Errorf("the plugin was installed but does not open (%v): remove %s and retry, or use --backend go", err, inst.Plugin))
	}
	defer opened.Backend.Finalize()
	fmt.Printf("opened xla:cpu: %s, %d device(s)\n", opened.Backend.Description(), opened.Backend.NumDevices())
	if p, ok := backend.StandardPlugins()["cpu"]; ok {
		fmt.Printf("backend auto now chooses xla:cpu (%s) when no CUDA plugin opens\n", p)
	} else {
		fmt.Printf("%s is not in go-xla's search path: set PJRT_PLUGIN_LIBRARY_PATH=%s or use --backend xla:%s\n", dir, dir, inst.Plugin)
	}
	return nil
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
