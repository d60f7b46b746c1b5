package checkpoint

import (
	"archive/zip"
	"fmt"
	"io"

	"github.com/pthkit/pth/npy"
	"github.com/pthkit/pth/tensor"
)

// npzCheckpoint is a numpy .npz archive. Package npy reads its members
// eagerly, so the whole archive is in memory while it is open.
type npzCheckpoint struct {
	names  []string
	byName map[string]*tensor.Tensor
}

func openNPZ(path string) (*npzCheckpoint, error) {
	arrays, err := npy.ReadNPZFile(path)
	if err != nil {
		return nil, err
	}
	c := &npzCheckpoint{byName: map[string]*tensor.Tensor{}}
	for _, a := range arrays {
		if _, dup := c.byName[a.Name]; dup {
			return nil, fmt.Errorf("%s: member %q occurs twice", path, a.Name)
		}
		c.names = append(c.names, a.Name)
		c.byName[a.Name] = a.Tensor
	}
	return c, nil
}

func (c *npzCheckpoint) Format() Format  { return NPZ }
func (c *npzCheckpoint) Names() []string { return append([]string(nil), c.names...) }
func (c *npzCheckpoint) Info(name string) (Info, error) {
	t, ok := c.byName[name]
	if !ok {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return Info{Name: name, DType: t.DType, Shape: t.Shape, NBytes: t.Numel() * int64(t.DType.Size())}, nil
}
func (c *npzCheckpoint) Tensor(name string) (*tensor.Tensor, error) {
	t, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return t, nil
}
func (c *npzCheckpoint) Metadata() map[string]string { return nil }
func (c *npzCheckpoint) Close() error                { return nil }

// writeNPZ streams plan into an .npz archive laid out as numpy.savez does
// (stored members "<name>.npy"), one tensor at a time.
func writeNPZ(src Checkpoint, w io.Writer, plan []item, step func(int64)) error {
	zw := zip.NewWriter(w)
	for _, it := range plan {
		t, err := src.Tensor(it.name)
		if err != nil {
			return err
		}
		if t.DType != it.dtype {
			if t, err = t.Convert(it.dtype); err != nil {
				return fmt.Errorf("tensor %q: %w", it.name, err)
			}
		}
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: it.name + ".npy", Method: zip.Store})
		if err != nil {
			return err
		}
		if err := npy.Write(fw, t); err != nil {
			return fmt.Errorf("tensor %q: %w", it.name, err)
		}
		step(it.bytes)
	}
	return zw.Close()
}
