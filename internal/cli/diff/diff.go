package diff

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth/checkpoint"
)

// Options are the inputs of one `pth diff` run.
type Options struct {
	A, B string
	JSON bool      // machine-readable output
	Out  io.Writer // defaults to os.Stdout
}

// DifferentError is returned by Run when the checkpoints differ; the CLI
// exits with its ExitCode, 1.
type DifferentError struct{ A, B string }

// Error says which files differ.
func (e *DifferentError) Error() string { return fmt.Sprintf("%s and %s differ", e.A, e.B) }

// ExitCode returns 1.
func (e *DifferentError) ExitCode() int { return 1 }

// NewCmd returns the `pth diff` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "diff A B",
		Short: "Compare the tensors of two checkpoints of any format",
		Long: `Diff opens two checkpoints — PyTorch files, safetensors, GGUF, or sharded sets given by
their *.index.json or directory — and lists the tensor names only in A and only in B,
dtype and shape differences, and for common tensors whether the bytes are identical or the
largest absolute and relative differences of their values.

Exit status: 0 when A and B hold the same names with identical dtypes, shapes and bytes,
1 when they differ, 2 on error.`,
		Example: `  pth diff pytorch_model.bin model.safetensors
  pth diff --json a.pt b.pt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.A, opts.B = args[0], args[1]
			opts.Out = cmd.OutOrStdout()
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print the result as JSON")
	return cmd
}

// Run compares opts.A and opts.B and prints the result. It returns a
// *DifferentError when they differ.
func Run(opts *Options) error {
	out := opts.Out
	if out == nil {
		out = os.Stdout
	}
	res, err := checkpoint.DiffFiles(opts.A, opts.B)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		err = enc.Encode(struct {
			A     string `json:"a"`
			B     string `json:"b"`
			Equal bool   `json:"equal"`
			*checkpoint.DiffResult
		}{opts.A, opts.B, res.Equal(), res})
	} else {
		err = printText(out, opts, res)
	}
	if err != nil {
		return err
	}
	if !res.Equal() {
		return &DifferentError{A: opts.A, B: opts.B}
	}
	return nil
}

func printText(w io.Writer, opts *Options, r *checkpoint.DiffResult) error {
	var b strings.Builder
	list := func(title string, names []string) {
		if len(names) == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, len(names))
		for _, n := range names {
			fmt.Fprintf(&b, "  %s\n", n)
		}
	}
	list("only in "+opts.A, r.OnlyA)
	list("only in "+opts.B, r.OnlyB)
	if len(r.Different) > 0 {
		fmt.Fprintf(&b, "different (%d):\n", len(r.Different))
		for _, d := range r.Different {
			fmt.Fprintf(&b, "  %s:", d.Name)
			if d.DTypeA != d.DTypeB {
				fmt.Fprintf(&b, " dtype %s vs %s", d.DTypeA, d.DTypeB)
			} else {
				fmt.Fprintf(&b, " %s", d.DTypeA)
			}
			if fmt.Sprint(d.ShapeA) != fmt.Sprint(d.ShapeB) {
				fmt.Fprintf(&b, ", shape %v vs %v", d.ShapeA, d.ShapeB)
			} else {
				fmt.Fprintf(&b, " %v", d.ShapeA)
			}
			if d.Compared {
				fmt.Fprintf(&b, ", %d elements differ, max abs %.6g, max rel %.6g", d.Differing, d.MaxAbs, d.MaxRel)
			}
			if d.Note != "" {
				fmt.Fprintf(&b, " (%s)", d.Note)
			}
			b.WriteByte('\n')
		}
	}
	if r.Equal() {
		fmt.Fprintf(&b, "equal: %d tensors identical\n", r.Identical)
	} else {
		fmt.Fprintf(&b, "identical: %d tensors\n", r.Identical)
	}
	_, err := io.WriteString(w, b.String())
	return err
}
