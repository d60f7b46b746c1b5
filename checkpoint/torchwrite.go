package checkpoint

import (
	"bufio"
	"fmt"
	"io"
	"path/filepath"
	"strconv"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Streaming torch.save writer.
//
// pth.SaveStateDict takes a whole StateDict and writes each storage from its
// bytes, so every storage is resident at once by the end. Convert needs one
// tensor at a time, so it writes the same layout itself: data.pkl first (it
// only needs dtypes, shapes and storage sizes), then each storage's record,
// copied from a file section or converted just before it is written. The
// pickle mirrors pth's lowering of a state_dict (which is checked against
// PyTorch): an OrderedDict REDUCE with SETITEMS of _rebuild_tensor_v2 calls
// over ('storage', torch.<X>Storage, key, 'cpu', numel) persistent ids (with
// PyTorch 2.x's metadata argument {'conj': True} / {'neg': True} for a
// conjugate or negative view whose storage is copied as stored), then
// BUILD {'_metadata': OrderedDict} when the source had one. Cases this
// writer does not cover (dtypes without a storage class, quantized tensors)
// go through pth.SaveStateDict.

var (
	gOrderedDict = pickle.Global{Module: "collections", Name: "OrderedDict"}
	gRebuildV2   = pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
)

// outStorage is one data/<key> record to write.
type outStorage struct {
	dtype  tensor.DType
	nbytes int64
	// write copies the storage's bytes to w.
	write func(w io.Writer) error
	items []item // the plan items whose progress completes with it
}

// canStreamTorch reports whether every tensor of plan fits the streaming writer.
func canStreamTorch(src Checkpoint, plan []item) bool {
	for _, it := range plan {
		t, err := src.Tensor(it.name)
		if err != nil || t.Quant != nil || t.Storage == nil || it.dtype.StorageClass() == "" || t.Storage.DType.StorageClass() == "" {
			return false
		}
	}
	return true
}

// writeTorchStream writes plan to w as torch.save's zip format, with records
// under archive/.
func writeTorchStream(src Checkpoint, w io.Writer, archive string, plan []item, meta *pickle.Dict, step func(int64)) error {
	var storages []*outStorage
	byStorage := map[*tensor.Storage]int{} // torch sources without a cast: keep sharing
	byView := map[string]int{}             // casts: one new storage per identical view
	root := &pickle.Object{Kind: pickle.Reduce, Callable: gOrderedDict, Args: pickle.Tuple{}}
	tc, isTorch := src.(*torchCheckpoint)
	for _, it := range plan {
		t, err := src.Tensor(it.name)
		if err != nil {
			return err
		}
		var key int
		offset, shape, strides := t.Offset, t.Shape, t.Strides
		stored := false // the source's storage, written as it is stored
		switch {
		case isTorch && it.dtype == t.DType:
			stored = true
			k, ok := byStorage[t.Storage]
			if !ok {
				k = len(storages)
				byStorage[t.Storage] = k
				storages = append(storages, &outStorage{dtype: t.Storage.DType, nbytes: t.Storage.NBytes, write: storageWriter(tc, t.Storage)})
			}
			key = k
		default:
			// A conjugate or negative view of a storage has other values than a
			// plain view of it: the bits are part of the key.
			view := fmt.Sprintf("%p/%d/%v/%v/%v/%v", t.Storage, t.Offset, t.Shape, t.Strides, t.Conj, t.Neg)
			k, ok := byView[view]
			if !ok || !isTorch {
				k = len(storages)
				byView[view] = k
				name, dt, flags := it.name, it.dtype, t.HasConjNeg()
				storages = append(storages, &outStorage{dtype: dt, nbytes: it.bytes, write: func(w io.Writer) error {
					// A file section holds a view's stored bytes, not the values of a
					// conjugate or negative view.
					if sec, ok := sectionFor(src, name, dt); ok && !flags {
						_, err := io.Copy(w, sec)
						return err
					}
					b, err := tensorBytes(src, name, dt)
					if err != nil {
						return err
					}
					_, err = w.Write(b)
					return err
				}})
			}
			key = k
			offset, strides = 0, tensor.ContiguousStrides(shape)
		}
		s := storages[key]
		s.items = append(s.items, it)
		es := int64(s.dtype.Size())
		pid := pickle.PersistentID{ID: pickle.Tuple{"storage", pickle.Global{Module: "torch", Name: s.dtype.StorageClass()}, strconv.Itoa(key), "cpu", s.nbytes / es}}
		obj := &pickle.Object{Kind: pickle.Reduce, Callable: gRebuildV2, Args: pickle.Tuple{
			pid, offset, ints(shape), ints(strides), t.RequiresGrad,
			&pickle.Object{Kind: pickle.Reduce, Callable: gOrderedDict, Args: pickle.Tuple{}},
		}}
		if stored && t.HasConjNeg() {
			// The stored bytes with the bits, as PyTorch 2.x writes the view
			// (the cast storages above hold resolved values).
			obj.Args = append(obj.Args, tensorMetadata(t))
		}
		root.Items = append(root.Items, pickle.Entry{Key: it.name, Value: obj})
	}
	if meta != nil {
		md := &pickle.Object{Kind: pickle.Reduce, Callable: gOrderedDict, Args: pickle.Tuple{}, Items: meta.Entries}
		st := pickle.NewDict()
		st.Set("_metadata", md)
		root.State, root.Built = st, true
	}
	pkl, err := pickle.Marshal(root)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	zw := zipfile.NewWriter(bw, archive)
	if err := zw.WriteRecord("data.pkl", pkl); err != nil {
		return err
	}
	if err := zw.WriteRecord("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, s := range storages {
		rw, err := zw.CreateRecord("data/"+strconv.Itoa(i), s.nbytes)
		if err != nil {
			return err
		}
		if err := s.write(rw); err != nil {
			return fmt.Errorf("storage %d (%s): %w", i, s.items[0].name, err)
		}
		for _, it := range s.items {
			step(it.bytes)
		}
	}
	if err := zw.WriteRecord("version", []byte("3\n")); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return bw.Flush()
}

// storageWriter copies a PyTorch source's whole storage: from its stored zip
// record when there is one, else from its bytes.
func storageWriter(c *torchCheckpoint, s *tensor.Storage) func(io.Writer) error {
	return func(w io.Writer) error {
		if r, ok := c.recs[s.Key]; ok && c.fh != nil && r.Size == s.NBytes {
			_, err := io.Copy(w, io.NewSectionReader(c.fh, r.Offset, r.Size))
			return err
		}
		b, err := s.Bytes()
		if err != nil {
			return err
		}
		_, err = w.Write(b)
		return err
	}
}

// tensorMetadata is _rebuild_tensor_v2's metadata argument for a conjugate
// or negative view, as PyTorch 2.x writes it (and pth's lowering: lower.go):
// {'neg': True, 'conj': True}, with only the keys of the bits that are set.
func tensorMetadata(t *tensor.Tensor) *pickle.Dict {
	md := pickle.NewDict()
	if t.Neg {
		md.Set("neg", true)
	}
	if t.Conj {
		md.Set("conj", true)
	}
	return md
}

func ints(v []int64) pickle.Tuple {
	t := make(pickle.Tuple, len(v))
	for i, x := range v {
		t[i] = x
	}
	return t
}

// archiveName is PyTorch's name for the records' folder: the file's base
// name without its extension.
func archiveName(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = base[:len(base)-len(ext)]
	}
	if base == "" || base == "." || base == "/" {
		return "archive"
	}
	return base
}
