package pth

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/pthkit/pth/tensor"
)

// zipRecord is one record of an opened zip archive.
type zipRecord struct {
	f      *zip.File
	offset int64 // data offset in the file
	size   int64 // uncompressed size
}

// readZip reads torch.save's zip format (and TorchScript's, which shares it).
//
// The container is read with Go's archive/zip, which like miniz accepts any
// ordinary zip (data descriptors, zip64, any flags); records are addressed by
// their data offset so stored records become views of the mapping.
func (l *loader) readZip() error {
	zr, err := zip.NewReader(l.ra, l.size)
	if err != nil {
		return &Error{File: l.name, Offset: -1, Err: fmt.Errorf("%w: zip: %w", ErrFormat, err)}
	}
	if len(zr.File) == 0 {
		return &Error{File: l.name, Offset: -1, Err: errorf(ErrFormat, "zip archive has no records")}
	}
	first := zr.File[0].Name
	slash := strings.IndexByte(first, '/')
	if slash <= 0 {
		return &Error{File: l.name, Record: first, Offset: -1, Err: errorf(ErrFormat, "file in archive is not in a subdirectory")}
	}
	prefix := first[:slash+1]
	recs := make(map[string]*zipRecord, len(zr.File))
	for _, f := range zr.File {
		if !strings.HasPrefix(f.Name, prefix) {
			return &Error{File: l.name, Record: f.Name, Offset: -1, Err: errorf(ErrFormat, "record is not under the archive folder %q", prefix)}
		}
		off, err := f.DataOffset()
		if err != nil {
			return &Error{File: l.name, Record: f.Name, Offset: -1, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
		}
		size := int64(f.UncompressedSize64)
		if f.UncompressedSize64 > 1<<62 || (f.Method == zip.Store && (off < 0 || off > l.size || size > l.size-off)) {
			return &Error{File: l.name, Record: f.Name, Offset: off, Err: errorf(ErrFormat, "record of %d bytes at %d exceeds the file", size, off)}
		}
		recs[f.Name] = &zipRecord{f: f, offset: off, size: size}
		l.file.records = append(l.file.records, Record{Name: f.Name, Offset: off, Size: size, Compressed: f.Method != zip.Store})
	}
	if l.opts.VerifyCRC {
		for _, f := range zr.File {
			if err := verifyRecord(f); err != nil {
				return &Error{File: l.name, Record: f.Name, Offset: -1, Err: err}
			}
		}
	}
	l.file.Format = FormatZip
	if _, ok := recs[prefix+"constants.pkl"]; ok {
		l.file.Format = FormatTorchScript
		if l.opts.WeightsOnly {
			return &Error{File: l.name, Offset: -1, Err: errorf(ErrWeightsOnly, "Cannot use ``weights_only=True`` with TorchScript archives passed to ``torch.load``.")}
		}
	}
	bigEndian := false
	if r, ok := recs[prefix+"byteorder"]; ok {
		b, err := l.zipBytes(r, 16)
		if err != nil {
			return err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return &Error{File: l.name, Record: r.f.Name, Offset: r.offset, Err: errorf(ErrFormat, "byteorder %q", b)}
		}
	}
	pklName := prefix + "data.pkl"
	pkl, ok := recs[pklName]
	if !ok {
		return &Error{File: l.name, Record: pklName, Offset: -1, Err: errorf(ErrMissingRecord, "no data.pkl record")}
	}
	data, err := l.zipBytes(pkl, l.size)
	if err != nil {
		return err
	}
	root, err := l.decodePickle(data, pklName, l.storagePID)
	if err != nil {
		return err
	}
	return l.interpret(root, pklName, func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error) {
		r, ok := recs[prefix+"data/"+key]
		if !ok {
			return nil, errorf(ErrMissingRecord, "no record %sdata/%s", prefix, key)
		}
		if byteOff > r.size || nbytes > r.size-byteOff {
			return nil, errorf(ErrStorageSize, "record %s holds %d bytes, the storage needs %d", r.f.Name, r.size, byteOff+nbytes)
		}
		if r.f.Method != zip.Store {
			b, err := l.zipBytes(r, r.size)
			if err != nil {
				return nil, err
			}
			return tensor.NewStorageOrder(dt, b[byteOff:byteOff+nbytes], bigEndian), nil
		}
		start := r.offset + byteOff
		if l.mapped != nil {
			return tensor.NewStorageOrder(dt, l.mapped[start:start+nbytes:start+nbytes], bigEndian), nil
		}
		return tensor.NewLazyStorage(dt, l.ra, start, nbytes, bigEndian), nil
	})
}

// zipBytes returns a record's bytes (a view of the mapping when stored), refusing
// records larger than max.
func (l *loader) zipBytes(r *zipRecord, max int64) ([]byte, error) {
	if r.size > max {
		return nil, &Error{File: l.name, Record: r.f.Name, Offset: r.offset, Err: errorf(ErrFormat, "record of %d bytes is larger than %d", r.size, max)}
	}
	if r.f.Method == zip.Store {
		return l.readAll(r.offset, r.size, r.f.Name)
	}
	rc, err := r.f.Open()
	if err != nil {
		return nil, &Error{File: l.name, Record: r.f.Name, Offset: r.offset, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, r.size+1))
	if err == nil && int64(len(b)) != r.size {
		err = fmt.Errorf("record holds %d bytes, the directory says %d", len(b), r.size)
	}
	if err != nil {
		return nil, &Error{File: l.name, Record: r.f.Name, Offset: r.offset, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	}
	return b, nil
}

// ErrChecksum means a zip record's CRC-32 does not match its data (Options.VerifyCRC).
var ErrChecksum = errors.New("pth: zip record checksum mismatch")

// verifyRecord reads a record through archive/zip, which checks its CRC-32 at the
// end. PyTorch ≥ 2.6 may write records without CRC (the field is 0); those pass
// only when the data is empty, as with miniz's strict check.
func verifyRecord(f *zip.File) error {
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	defer rc.Close()
	if _, err := io.Copy(io.Discard, rc); err != nil {
		if errors.Is(err, zip.ErrChecksum) {
			return fmt.Errorf("%w: %w", ErrChecksum, err)
		}
		return fmt.Errorf("%w: %w", ErrFormat, err)
	}
	return nil
}
