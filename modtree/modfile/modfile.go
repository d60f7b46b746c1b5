package modfile

import (
	"bytes"
	"errors"
	"fmt"
	"os"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/tensor"
	"github.com/pthkit/pth/torchscript"
)

// ErrNoModule is returned when a file holds neither an nn.Module nor a TorchScript
// archive (a state_dict, for instance).
var ErrNoModule = errors.New("modfile: the file holds no nn.Module (is it already a state_dict?)")

// The kinds of file Open recognizes, as Model.Kind and StateDict report them.
const (
	KindTorchScript = "TorchScript archive"
	KindPickle      = "entire-model pickle"
)

// Model is the module tree of an opened file.
type Model struct {
	// Tree is the root module.
	Tree *modtree.Node
	// Kind is KindTorchScript or KindPickle.
	Kind string

	close func() error
}

// Close releases the file; the tree's tensors then no longer read their bytes.
// Calling it again does nothing.
func (m *Model) Close() error {
	if m.close == nil {
		return nil
	}
	err := m.close()
	m.close = nil
	return err
}

// Open reads the module tree of the entire-model pickle or TorchScript archive at
// path. The tree's tensors read their bytes from the file when first used; Close the
// Model when done with them. A file holding no module gives an ErrNoModule error.
func Open(path string) (*Model, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if torchscript.IsTorchScript(f, fi.Size()) {
		a, err := torchscript.Read(f, fi.Size())
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return &Model{Tree: a.Module, Kind: KindTorchScript, close: f.Close}, nil
	}
	f.Close()
	pf, err := pth.Open(path, nil)
	if err != nil {
		return nil, err
	}
	n, err := modtree.Parse(pf.Root)
	if err != nil {
		pf.Close()
		if errors.Is(err, modtree.ErrNotModule) {
			return nil, fmt.Errorf("%s: %w", path, ErrNoModule)
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Model{Tree: n, Kind: KindPickle, close: pf.Close}, nil
}

// StateDict returns the state_dict of the module tree in path (keys, order and
// _metadata as PyTorch's state_dict() gives them) and the kind of file that held it
// (KindTorchScript or KindPickle). The tensors are copied to memory, so they outlive
// the file, which is closed on return; tensors that shared a storage still share one.
func StateDict(path string) (sd *pth.StateDict, kind string, err error) {
	m, err := Open(path)
	if err != nil {
		return nil, "", err
	}
	defer m.Close()
	out := pth.StateDict(*m.Tree.StateDict())
	copies := map[*tensor.Storage]*tensor.Storage{}
	for _, k := range out.Keys {
		t := out.Tensors[k]
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
		out.Tensors[k] = &c
	}
	return &out, m.Kind, nil
}

// LoadStateDict returns the state_dict held in path, whatever kind of model file it
// is: a state_dict or training checkpoint (through pth.LoadStateDict), an
// entire-model pickle, or a TorchScript archive. It is what a program that "loads
// weights" wants: the same call for every file PyTorch users hand around.
func LoadStateDict(path string) (*pth.StateDict, error) {
	sd, err := pth.LoadStateDict(path)
	if err == nil || !errors.Is(err, pth.ErrNoStateDict) {
		return sd, err
	}
	msd, _, merr := StateDict(path)
	if merr != nil {
		if errors.Is(merr, ErrNoModule) {
			return nil, err // neither: report pth's error, which names the file
		}
		return nil, merr
	}
	return msd, nil
}
