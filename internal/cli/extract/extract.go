package extract

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree/modfile"
)

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

// Run extracts the state_dict of opts.Model into opts.Out (modfile.StateDict does the
// reading). A file that holds no module gives a modfile.ErrNoModule error.
func Run(opts *Options) error {
	sd, kind, err := modfile.StateDict(opts.Model)
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
