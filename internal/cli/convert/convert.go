package convert

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/checkpoint"
	"github.com/pthkit/pth/tensor"
)

// Options are the inputs of one `pth convert` run.
type Options struct {
	In, Out   string
	To        string // output format name; "" = from Out's extension
	DType     string // "", float16, bfloat16, float32
	ShardSize string // "", or a size like 2GB, 500MB, 1000000
	JSON      bool
	Progress  bool // draw a progress bar on Err
	Stdout    io.Writer
	Err       io.Writer
}

// NewCmd returns the `pth convert` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "convert IN OUT",
		Short: "Convert a checkpoint between PyTorch, safetensors, GGUF and NumPy formats",
		Long: `Convert reads IN (a torch.save zip, legacy or tar file, a plain pickle, safetensors,
GGUF, .npz, or a sharded checkpoint through its *.index.json or directory) without running
anything in it, and writes OUT.

PyTorch → PyTorch (e.g. upgrading a legacy checkpoint to the zip format) keeps every value:
nested dicts, optimizer state, numbers, strings, numpy values, inert objects, Parameters,
state_dict _metadata and storage sharing. Other targets hold tensors only: values they cannot
hold are reported, or kept as string metadata where the report says so. Tensors that share
storage are stored once where the target allows it, otherwise written twice with a warning.

The output format comes from OUT's extension (.pt .pth .bin .ckpt → PyTorch zip,
.safetensors, .gguf, .npz) or --to. Output is written to a temporary file and renamed,
so OUT is never left half-written.`,
		Example: `  pth convert old_legacy.pth model.pt              # legacy stream → zip format, every value kept
  pth convert pytorch_model.bin model.safetensors
  pth convert model.safetensors model.gguf --dtype float16
  pth convert model.pt shards/ --shard-size 2GB --to safetensors
  pth convert shards/model.safetensors.index.json merged.pt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.In, opts.Out = args[0], args[1]
			opts.Stdout = cmd.OutOrStdout()
			opts.Err = cmd.ErrOrStderr()
			if f, ok := opts.Err.(*os.File); ok && term.IsTerminal(int(f.Fd())) && !opts.JSON {
				opts.Progress = true
			}
			return Run(opts)
		},
	}
	cmd.Flags().StringVar(&opts.To, "to", "", "output format: torch, safetensors, gguf, npz (default: from OUT's extension)")
	cmd.Flags().StringVar(&opts.DType, "dtype", "", "cast floating-point tensors to float16, bfloat16 or float32")
	cmd.Flags().StringVar(&opts.ShardSize, "shard-size", "", "write shards of at most this size (e.g. 2GB, 500MB) plus an index into the OUT directory")
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON report")
	return cmd
}

// Run performs the conversion described by opts.
func Run(opts *Options) error {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	if opts.Err == nil {
		opts.Err = io.Discard
	}
	copts := checkpoint.Options{}
	if opts.To != "" {
		f, err := checkpoint.ParseFormat(opts.To)
		if err != nil {
			return err
		}
		copts.To = f
	}
	if opts.DType != "" {
		dt, ok := tensor.ParseTorchName(opts.DType)
		if !ok || (dt != tensor.Float16 && dt != tensor.BFloat16 && dt != tensor.Float32) {
			return fmt.Errorf("--dtype %q: want float16, bfloat16 or float32", opts.DType)
		}
		copts.DType = dt
	}
	if opts.ShardSize != "" {
		n, err := parseSize(opts.ShardSize)
		if err != nil {
			return err
		}
		copts.ShardSize = n
	}

	if fullFidelity(opts, copts) {
		// PyTorch → PyTorch: re-save the whole value tree, not just its tensors.
		if err := pth.Convert(opts.In, opts.Out, nil); err != nil {
			return err
		}
		return report(opts, &checkpoint.Report{From: checkpoint.Torch, To: checkpoint.Torch, Files: []string{opts.Out}}, true)
	}

	var bar *progressbar.ProgressBar
	if opts.Progress {
		copts.Progress = func(done, total int64) {
			if bar == nil {
				bar = progressbar.DefaultBytes(total, "converting")
			}
			_ = bar.Set64(done)
		}
	}
	copts.Warn = func(msg string) {
		if !opts.JSON {
			fmt.Fprintln(opts.Err, "warning:", msg)
		}
	}
	rep, err := checkpoint.Convert(opts.In, opts.Out, copts)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return err
	}
	return report(opts, rep, false)
}

// fullFidelity reports whether the conversion is PyTorch → PyTorch with no
// casting or sharding, which pth.Convert does keeping every value.
func fullFidelity(opts *Options, copts checkpoint.Options) bool {
	if copts.DType != tensor.Invalid || copts.ShardSize > 0 {
		return false
	}
	to := copts.To
	if to == "" {
		f, err := checkpoint.FormatFromPath(opts.Out)
		if err != nil {
			return false
		}
		to = f
	}
	if to != checkpoint.Torch {
		return false
	}
	from, err := checkpoint.DetectFormat(opts.In)
	return err == nil && from == checkpoint.Torch
}

func report(opts *Options, rep *checkpoint.Report, everyValue bool) error {
	if opts.JSON {
		out := map[string]any{
			"in": opts.In, "out": opts.Out, "from": rep.From, "to": rep.To, "files": rep.Files,
			"tensors": rep.Tensors, "bytes": rep.Bytes, "shared": nonNil(rep.Shared), "dropped": nonNilS(rep.Dropped),
			"kept_as_metadata": nonNilS(rep.KeptAsMetadata), "warnings": nonNilS(rep.Warnings), "every_value_kept": everyValue,
		}
		enc := json.NewEncoder(opts.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if everyValue {
		fmt.Fprintf(opts.Stdout, "wrote %s (torch zip format, every value kept)\n", opts.Out)
		return nil
	}
	fmt.Fprintf(opts.Stdout, "wrote %s (%s → %s): %d tensors, %d bytes\n", strings.Join(rep.Files, ", "), rep.From, rep.To, rep.Tensors, rep.Bytes)
	for _, d := range rep.Dropped {
		fmt.Fprintf(opts.Stdout, "  not kept: %s\n", d)
	}
	for _, k := range rep.KeptAsMetadata {
		fmt.Fprintf(opts.Stdout, "  kept as string metadata: %s\n", k)
	}
	return nil
}

func nonNil(s [][]string) [][]string {
	if s == nil {
		return [][]string{}
	}
	return s
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// parseSize reads sizes like "2GB", "500MB", "64KiB" or plain byte counts.
func parseSize(s string) (int64, error) {
	t := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		m      int64
	}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}} {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.m
			break
		}
	}
	var n int64
	if _, err := fmt.Sscan(t, &n); err != nil || n <= 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("--shard-size %q: want a positive size such as 2GB, 500MB or 1000000", s)
	}
	return n * mult, nil
}
