package scan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth/scan"
)

// Options are the inputs of one `pth scan` run.
type Options struct {
	Paths []string
	JSON  bool
	// FailOn is "unknown" (the default: unknown files exit 3) or "dangerous"
	// (only dangerous files and errors fail).
	FailOn string
	Out    io.Writer
	// Scan bounds the scan (nil for the defaults).
	Scan *scan.Options
}

// ExitError carries the exit status of a scan: 1 dangerous, 2 error, 3 unknown.
// Its message is empty: the report already says why.
type ExitError struct {
	Code int
	Msg  string
}

func (e *ExitError) Error() string { return e.Msg }

// ExitCode returns the process exit status.
func (e *ExitError) ExitCode() int { return e.Code }

// NewCmd returns the `pth scan` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "scan PATH...",
		Short: "Tell what the pickles in model files would do if Python loaded them",
		Long: `Scan finds every pickle a Python loader could execute in each file — torch.save zips
(every .pkl record), legacy streams, tar, TorchScript, numpy .npy/.npz object arrays,
compressed (joblib-style) and raw pickles, concatenated pickles, polyglots, nested archives —
whatever the file is called, and runs it symbolically: nothing is imported or called.

Each global is safe (PyTorch's weights-only allow-list, numpy and builtin data), unknown
(imports and calls something not known to be safe: a user's class, torch.nn modules), or
dangerous (code execution, files, processes, network, or a name that cannot be resolved).
A file's verdict is its worst global, or error when something cannot be read.

Exit status: 0 all safe, 1 any dangerous, 2 errors (unreadable, not a model file),
3 the worst is unknown (0 with --fail-on dangerous). Only pickles are read, never tensor data.`,
		Example: `  pth scan model.pt
  pth scan --json checkpoints/ | jq '.files[] | select(.verdict != "safe")'
  pth scan --fail-on dangerous ~/.cache/huggingface`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Paths = args
			opts.Out = cmd.OutOrStdout()
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, `print {"files":[{"path","verdict","globals":[…],"pickles"}]}`)
	cmd.Flags().StringVar(&opts.FailOn, "fail-on", "unknown", "lowest verdict that fails: unknown or dangerous")
	return cmd
}

// Run scans opts.Paths, prints the report and returns an *ExitError when the
// exit status is not 0.
func Run(opts *Options) error {
	switch opts.FailOn {
	case "", "unknown", "dangerous":
	default:
		return &ExitError{Code: 2, Msg: fmt.Sprintf("--fail-on must be unknown or dangerous, not %q", opts.FailOn)}
	}
	out := opts.Out
	if out == nil {
		out = io.Discard
	}
	rep := scan.Paths(opts.Paths, opts.Scan)
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(rep); err != nil {
			return &ExitError{Code: 2, Msg: err.Error()}
		}
	} else {
		printText(out, rep)
	}
	return exitFor(rep, opts.FailOn)
}

// exitFor maps a report to the exit status: dangerous first, then errors, then unknown.
func exitFor(rep *scan.Report, failOn string) error {
	var dangerous, errs, unknown bool
	for _, f := range rep.Files {
		switch f.Verdict {
		case scan.Dangerous:
			dangerous = true
		case scan.Error:
			errs = true
		case scan.Unknown:
			unknown = true
		}
	}
	switch {
	case dangerous:
		return &ExitError{Code: 1}
	case errs:
		return &ExitError{Code: 2}
	case unknown && failOn != "dangerous":
		return &ExitError{Code: 3}
	}
	return nil
}

func printText(w io.Writer, rep *scan.Report) {
	counts := map[scan.Class]int{}
	for _, f := range rep.Files {
		counts[f.Verdict]++
		var parts []string
		for _, g := range f.Globals {
			if g.Class == scan.Safe {
				continue
			}
			s := g.Module + "." + g.Name + " (" + g.Class.String() + ": " + g.Reason + ")"
			if len(g.Calls) > 0 {
				s += " called as " + g.Calls[0]
			}
			parts = append(parts, s)
		}
		parts = append(parts, f.Errors...)
		line := fmt.Sprintf("%-9s %s  [%d pickle%s]", f.Verdict, f.Path, f.Pickles, plural(f.Pickles))
		if len(parts) > 0 {
			line += ": " + strings.Join(parts, "; ")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "%d file%s: %d safe, %d unknown, %d dangerous, %d error%s\n",
		len(rep.Files), plural(len(rep.Files)), counts[scan.Safe], counts[scan.Unknown],
		counts[scan.Dangerous], counts[scan.Error], plural(counts[scan.Error]))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
