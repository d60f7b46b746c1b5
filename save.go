package pth

import (
	"archive/zip"
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pthkit/pth/pickle"
)

// SaveOptions configure Save. The zero value (or nil) writes what torch.save
// writes.
type SaveOptions struct {
	// ArchiveName overrides the archive folder name (by default the file's base
	// name without its extension, as torch.save names it).
	ArchiveName string
}

// Save writes v to path in torch.save's zip format, atomically: it writes a
// temporary file in the same directory, syncs it and renames it over path. On
// any error path is left untouched and the temporary file is removed.
//
// v may be any value tree Open produces or a program builds: state_dicts
// (*OrderedDict of *tensor.Tensor), nested checkpoints of dicts, lists, tuples,
// numbers and strings, Parameters, numpy values and inert objects.
func Save(path string, v Value, opts *SaveOptions) (err error) {
	archive := ""
	if opts != nil {
		archive = opts.ArchiveName
	}
	if archive == "" {
		archive = archiveNameOf(path)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
			err = fmt.Errorf("save %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriterSize(tmp, 1<<20)
	if err = SaveTo(bw, archive, v); err != nil {
		return err
	}
	if err = bw.Flush(); err != nil {
		return err
	}
	if err = tmp.Chmod(0o644); err != nil {
		return err
	}
	if err = tmp.Sync(); err != nil {
		return err
	}
	if err = tmp.Close(); err != nil {
		return err
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, derr := os.Open(dir); derr == nil { // make the rename durable; best effort
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// archiveNameOf is PyTorch's basename(): the last path element without its
// last extension ("model.pt" → "model").
func archiveNameOf(path string) string {
	base := filepath.Base(path)
	if ext := filepath.Ext(base); ext != "" && ext != base {
		base = base[:len(base)-len(ext)]
	}
	if base == "" || base == "." || base == "/" {
		base = "archive"
	}
	return base
}

// SaveTo writes v to w in torch.save's zip format with records under
// archiveName/:
//
//	data.pkl     the pickle (protocol 2, CPython's opcode choices); tensors as
//	             torch._utils._rebuild_tensor_v2 calls whose storages are
//	             BINPERSID ('storage', torch.<X>Storage, key, location, numel),
//	             dtypes without a storage class via _rebuild_tensor_v3 over
//	             torch.storage.UntypedStorage
//	byteorder    "little" (PyTorch ≥ 2.1 reads it; 1.13 ignores the record)
//	data/<key>   each storage once, keys "0", "1", … in pickling order
//	version      "3\n"
//
// Every record is stored uncompressed with its data 64-byte aligned (the "FB"
// padding extra field PyTorch's writer uses), so PyTorch can memory-map it.
func SaveTo(w io.Writer, archiveName string, v Value) error {
	lw := newLowerer()
	lowered, err := lw.value(v)
	if err != nil {
		return err
	}
	pkl, err := pickle.Marshal(lowered)
	if err != nil {
		return err
	}
	zw := newAlignedZip(w, archiveName)
	if err := zw.record("data.pkl", pkl); err != nil {
		return err
	}
	if err := zw.record("byteorder", []byte("little")); err != nil {
		return err
	}
	for i, s := range lw.order {
		b, err := s.Bytes()
		if err != nil {
			return fmt.Errorf("storage %d: %w", i, err)
		}
		if int64(len(b)) != s.NBytes {
			return fmt.Errorf("storage %d: %w: %d bytes, NBytes %d", i, ErrInvalid, len(b), s.NBytes)
		}
		if err := zw.record(fmt.Sprintf("data/%d", i), b); err != nil {
			return err
		}
	}
	if err := zw.record("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.close()
}

// alignedZip writes stored zip records whose data starts at a multiple of 64,
// as PyTorch's PyTorchStreamWriter does (caffe2/serialize/inline_container.cc).
type alignedZip struct {
	cw      *countWriter
	zw      *zip.Writer
	archive string
	// pending is the size of the data descriptor archive/zip still owes the
	// previous record (written when the next record starts).
	pending int64
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func newAlignedZip(w io.Writer, archive string) *alignedZip {
	cw := &countWriter{w: w}
	return &alignedZip{cw: cw, zw: zip.NewWriter(cw), archive: archive}
}

const storageAlignment = 64

func (a *alignedZip) record(name string, data []byte) error {
	if err := a.zw.Flush(); err != nil {
		return err
	}
	full := a.archive + "/" + name
	// Local header: 30 bytes + name + extra; the extra is "FB" + u16 length + padding.
	start := a.cw.n + a.pending + 30 + int64(len(full)) + 4
	pad := (storageAlignment - start%storageAlignment) % storageAlignment
	extra := make([]byte, 4+pad)
	extra[0], extra[1] = 'F', 'B'
	extra[2], extra[3] = byte(pad), byte(pad>>8)
	for i := 4; i < len(extra); i++ {
		extra[i] = 'Z'
	}
	fw, err := a.zw.CreateHeader(&zip.FileHeader{Name: full, Method: zip.Store, Extra: extra})
	if err != nil {
		return err
	}
	if err := a.zw.Flush(); err != nil {
		return err
	}
	if a.cw.n%storageAlignment != 0 {
		return errors.New("pth: internal error: record data is not 64-byte aligned")
	}
	_, err = fw.Write(data)
	a.pending = 16 // signature, CRC-32, 32-bit sizes
	if int64(len(data)) >= 0xFFFFFFFF {
		a.pending = 24 // 64-bit sizes
	}
	return err
}

func (a *alignedZip) close() error { return a.zw.Close() }
