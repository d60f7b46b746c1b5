package pth

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/pthkit/pth/internal/atomicfile"
	"github.com/pthkit/pth/internal/zipfile"
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
func Save(path string, v Value, opts *SaveOptions) error {
	archive := ""
	if opts != nil {
		archive = opts.ArchiveName
	}
	if archive == "" {
		archive = archiveNameOf(path)
	}
	if err := atomicfile.Write(path, func(w io.Writer) error { return SaveTo(w, archive, v) }); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
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
// The zip bytes are PyTorch 1.13's (internal/zipfile): every record stored
// uncompressed with its data 64-byte aligned, data descriptors, ZIP64 end
// records, so PyTorch can memory-map it.
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
	zw := zipfile.NewWriter(w, archiveName)
	if err := zw.WriteRecord("data.pkl", pkl); err != nil {
		return err
	}
	if err := zw.WriteRecord("byteorder", []byte("little")); err != nil {
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
		if err := zw.WriteRecord(fmt.Sprintf("data/%d", i), b); err != nil {
			return err
		}
	}
	if err := zw.WriteRecord("version", []byte("3\n")); err != nil {
		return err
	}
	return zw.Close()
}
