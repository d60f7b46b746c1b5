package pth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/tensor"
)

// readZip reads torch.save's zip format (and TorchScript's, which shares it)
// through internal/zipfile, which reads like PyTorch's miniz: any ordinary zip,
// records addressed by the data offset their local header gives, so stored
// records become views of the mapping.
func (l *loader) readZip() error {
	zr, err := zipfile.NewReader(l.ra, l.size)
	if err != nil {
		return &Error{File: l.name, Offset: -1, Err: zipErr(err)}
	}
	prefix, err := zr.Prefix()
	if err != nil {
		return &Error{File: l.name, Offset: -1, Err: zipErr(err)}
	}
	prefix += "/"
	for i := range zr.Len() {
		if name := zr.NameAt(i); !strings.HasPrefix(name, prefix) {
			return &Error{File: l.name, Record: strings.Clone(name), Offset: -1, Err: errorf(ErrFormat, "record is not under the archive folder %q", prefix)}
		}
	}
	l.file.zr = zr
	if l.opts.VerifyCRC {
		for i := range zr.Len() {
			r := zr.At(i)
			if err := r.Verify(); err != nil {
				return &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: zipErr(err)}
			}
		}
	}
	l.file.Format = FormatZip
	if zr.Find(prefix+"constants.pkl") != nil {
		l.file.Format = FormatTorchScript
		if l.opts.WeightsOnly {
			return &Error{File: l.name, Offset: -1, Err: errorf(ErrWeightsOnly, "Cannot use ``weights_only=True`` with TorchScript archives passed to ``torch.load``.")}
		}
	}
	bigEndian := false
	if r := zr.Find(prefix + "byteorder"); r != nil {
		b, err := l.zipBytes(r, 16)
		if err != nil {
			return err
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			bigEndian = true
		default:
			return &Error{File: l.name, Record: r.Name, Offset: r.DataOffset, Err: errorf(ErrFormat, "byteorder %q", b)}
		}
	}
	pklName := prefix + "data.pkl"
	pkl := zr.Find(pklName)
	if pkl == nil {
		return &Error{File: l.name, Record: pklName, Offset: -1, Err: errorf(ErrMissingRecord, "no data.pkl record")}
	}
	if pkl.Method == zipfile.Store {
		l.populate(pkl.DataOffset, pkl.Size)
	}
	data, err := l.zipBytes(pkl, l.size)
	if err != nil {
		return err
	}
	dataRecs := numberedRecords(zr, prefix+"data/")
	in := newInterpreter(func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error) {
		// r's name may view the mapping: the errors below copy it.
		var r zipfile.Record
		if n, ok := numericKey(key); ok && n < len(dataRecs) && dataRecs[n] != 0 {
			r = zr.At(int(dataRecs[n] - 1))
		} else if p := zr.Lookup(prefix + "data/" + key); p != nil {
			r = *p
		} else {
			return nil, errorf(ErrMissingRecord, "no record %sdata/%s", prefix, key)
		}
		if byteOff > r.Size || nbytes > r.Size-byteOff {
			return nil, errorf(ErrStorageSize, "record %s holds %d bytes, the storage needs %d", r.Name, r.Size, byteOff+nbytes)
		}
		if r.Method != zipfile.Store {
			b, err := l.zipBytes(&r, r.Size)
			if err != nil {
				return nil, err
			}
			return tensor.NewStorageOrder(dt, b[byteOff:byteOff+nbytes], bigEndian), nil
		}
		return l.storageAt(dt, r.DataOffset+byteOff, nbytes, bigEndian), nil
	}, l.mapLoc, len(data))
	root, err := l.decodePickleIn(data, pklName, l.storagePID, in)
	if err != nil {
		return err
	}
	return l.interpretIn(in, root, pklName)
}

// numberedRecords indexes the records named dir+"0", dir+"1", … (torch.save
// numbers its storages) by number: idx[n] is the position in zr of record n
// plus one (0: none), so that finding a storage's record costs no string
// building, hashing or Record list. Other names, and duplicates (the first
// wins, as zipfile.Reader.Lookup does), are left to Lookup. Positions fit in
// an int32: zipfile.DefaultLimits allows a million records.
func numberedRecords(zr *zipfile.Reader, dir string) []int32 {
	n := zr.Len()
	idx := make([]int32, 0, n)
	for i := range n {
		name := zr.NameAt(i)
		if !strings.HasPrefix(name, dir) {
			continue
		}
		k, ok := numericKey(name[len(dir):])
		if !ok || k >= 2*n {
			continue
		}
		if k >= len(idx) {
			idx = append(idx, make([]int32, k+1-len(idx))...)
		}
		if idx[k] == 0 {
			idx[k] = int32(i + 1)
		}
	}
	return idx
}

// zipErr maps internal/zipfile's errors to this package's sentinels.
func zipErr(err error) error {
	switch {
	case errors.Is(err, zipfile.ErrChecksum):
		return fmt.Errorf("%w: %w", ErrChecksum, err)
	case errors.Is(err, ErrFormat):
		return err
	}
	return fmt.Errorf("%w: %w", ErrFormat, err)
}

// zipBytes returns a record's bytes (a view of the mapping when stored), refusing
// records larger than max. Its errors copy the record's name, which may view
// the mapping (zipfile.Reader.At).
func (l *loader) zipBytes(r *zipfile.Record, max int64) ([]byte, error) {
	if r.Size > max {
		return nil, &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: errorf(ErrFormat, "record of %d bytes is larger than %d", r.Size, max)}
	}
	if r.Method == zipfile.Store {
		if r.CompressedSize != r.Size {
			return nil, &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: errorf(ErrFormat, "stored record with %d compressed and %d uncompressed bytes", r.CompressedSize, r.Size)}
		}
		return l.readAll(r.DataOffset, r.Size, r.Name)
	}
	b, err := r.ReadAll()
	if err != nil {
		return nil, &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: zipErr(err)}
	}
	return b, nil
}

// ErrChecksum means a zip record's CRC-32 does not match its data (Options.VerifyCRC).
var ErrChecksum = errors.New("pth: zip record checksum mismatch")
