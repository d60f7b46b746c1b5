package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth/internal/cli/convert"
	"github.com/pthkit/pth/internal/cli/diff"
	"github.com/pthkit/pth/internal/cli/extract"
	"github.com/pthkit/pth/internal/cli/inspect"
	"github.com/pthkit/pth/internal/cli/remap"
	"github.com/pthkit/pth/internal/cli/scan"
)

// commands lists the subcommands. Each lives in its own package under internal/cli/<verb>
// (Options struct, NewCmd wiring flags, Run doing the work), as the GitHub CLI does.
var commands = []func() *cobra.Command{
	inspect.NewCmd,
	convert.NewCmd,
	diff.NewCmd,
	remap.NewCmd,
	extract.NewCmd,
	scan.NewCmd,
}

// exitCoder is implemented by errors that choose the process exit status
// (pth scan: 1 dangerous, 3 unknown, 2 error; pth diff: 1 different).
type exitCoder interface{ ExitCode() int }

func main() {
	root := &cobra.Command{
		Use:           "pth",
		Short:         "Read, write, inspect, convert and scan PyTorch model files — no Python, no code execution",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	for _, c := range commands {
		root.AddCommand(c())
	}
	if err := root.Execute(); err != nil {
		var ec exitCoder
		if errors.As(err, &ec) {
			if msg := err.Error(); msg != "" {
				fmt.Fprintln(os.Stderr, "pth:", msg)
			}
			os.Exit(ec.ExitCode())
		}
		fmt.Fprintln(os.Stderr, "pth:", err)
		os.Exit(2)
	}
}
