package extract

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/tensor"
	"github.com/pthkit/pth/torchscript"
)

// ErrNoModule is returned when MODEL holds neither an nn.Module nor a TorchScript archive.
var ErrNoModule = errors.New("extract: the file holds no nn.Module (is it already a state_dict?)")

// Options are the inputs of one `pth extract` run.
type Options struct {
	Model string    // the entire-model or TorchScript file
	Out   string    // where the state_dict goes
	Log   io.Writer // one line of summary; nil for none
}

// NewCmd returns the `pth extract` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	return &cobra.Command{
		Use:   "extract MODEL OUT",
		Short: "Write the state_dict of an entire-model pickle or TorchScript archive as a weights-only file",
		Long: `Extract reads a model saved whole — torch.save(model) in the zip or legacy format, or a
TorchScript archive from torch.jit.save — without its Python classes and without running
anything in it, recovers the module tree, and writes its state_dict (keys, order, bytes and
_metadata as model.state_dict() gives them) with torch.save's zip format.

PyTorch loads the result with torch.load(OUT, weights_only=True) and
model.load_state_dict(sd, strict=True). Non-persistent buffers are left out, as PyTorch
leaves them out; TorchScript archives do not record persistence, so all their buffers are
kept, as torch.jit.load(MODEL).state_dict() keeps them.`,
		Example: `  pth extract model.pt model_state.pt
  pth extract scripted.pt weights.pt`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Model, opts.Out = args[0], args[1]
			opts.Log = cmd.ErrOrStderr()
			return Run(opts)
		},
	}
}

// Run extracts the state_dict of opts.Model into opts.Out.
func Run(opts *Options) error {
	sd, kind, err := Load(opts.Model)
	if err != nil {
		return err
	}
	if err := pth.SaveStateDict(opts.Out, sd); err != nil {
		return fmt.Errorf("extract: writing %s: %w", opts.Out, err)
	}
	if opts.Log != nil {
		fmt.Fprintf(opts.Log, "%s: %d tensors from the %s written to %s\n", opts.Model, len(sd.Keys), kind, opts.Out)
	}
	return nil
}

// Load returns the state_dict of the module tree in path and what kind of file held it
// ("TorchScript archive" or "entire-model pickle").
func Load(path string) (*pth.StateDict, string, error) {
	tree, kind, closer, err := Tree(path)
	if err != nil {
		return nil, "", err
	}
	defer closer()
	sd := pth.StateDict(*tree.StateDict())
	// Copy every storage to the heap now: the source file (possibly memory-mapped)
	// closes when Load returns. Shared storages stay shared.
	copies := map[*tensor.Storage]*tensor.Storage{}
	for _, k := range sd.Keys {
		t := sd.Tensors[k]
		st, ok := copies[t.Storage]
		if !ok {
			b, err := t.Storage.Bytes()
			if err != nil {
				return nil, "", fmt.Errorf("%s: tensor %s: %w", path, k, err)
			}
			st = tensor.NewStorage(t.Storage.DType, bytes.Clone(b))
			st.Location, st.Key = t.Storage.Location, t.Storage.Key
			copies[t.Storage] = st
		}
		c := *t
		c.Storage = st
		sd.Tensors[k] = &c
	}
	return &sd, kind, nil
}

// Tree returns the module tree in path. Call closer when done with its tensors.
func Tree(path string) (tree *modtree.Node, kind string, closer func(), err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, "", nil, err
	}
	if torchscript.IsTorchScript(f, fi.Size()) {
		a, err := torchscript.Read(f, fi.Size())
		if err != nil {
			f.Close()
			return nil, "", nil, fmt.Errorf("%s: %w", path, err)
		}
		return a.Module, "TorchScript archive", func() { f.Close() }, nil
	}
	f.Close()
	pf, err := pth.Open(path, nil)
	if err != nil {
		return nil, "", nil, err
	}
	n, err := modtree.Parse(pf.Root)
	if err != nil {
		pf.Close()
		if errors.Is(err, modtree.ErrNotModule) {
			return nil, "", nil, fmt.Errorf("%s: %w", path, ErrNoModule)
		}
		return nil, "", nil, fmt.Errorf("%s: %w", path, err)
	}
	return n, "entire-model pickle", func() { pf.Close() }, nil
}
