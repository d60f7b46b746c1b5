package pth

// API CONTRACT for the other packages (nn, cmd, examples). The signatures and the
// StateDict type are final; the bodies here are stubs replaced by the real reader/writer.

import (
	"errors"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// StateDict is an ordered mapping from parameter/buffer names to tensors, plus
// PyTorch's per-module `_metadata` ({"": {"version": 1}, "fc1": {"version": 1}, …}).
type StateDict struct {
	Keys     []string                  // insertion order
	Tensors  map[string]*tensor.Tensor // by key
	Metadata *pickle.Dict              // nil when absent; prefix → *pickle.Dict{"version": int64}
}

// LoadStateDict reads the state_dict held in path: a file whose root is a state_dict,
// a training checkpoint holding one under "state_dict"/"model_state_dict"/"model",
// or (once the module-tree code lands) an entire-model pickle or TorchScript archive. Stub.
func LoadStateDict(path string) (*StateDict, error) { return nil, errors.New("unimplemented") }

// SaveStateDict writes sd to path exactly as torch.save(state_dict) would (zip format,
// OrderedDict with _metadata), atomically. Stub.
func SaveStateDict(path string, sd *StateDict) error { return errors.New("unimplemented") }
