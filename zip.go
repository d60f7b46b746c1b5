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
	recs := zr.Records()
	for _, r := range recs {
		if !strings.HasPrefix(r.Name, prefix) {
			return &Error{File: l.name, Record: r.Name, Offset: -1, Err: errorf(ErrFormat, "record is not under the archive folder %q", prefix)}
		}
	}
	l.file.zipRecords = recs
	if l.opts.VerifyCRC {
		for _, r := range recs {
			if err := r.Verify(); err != nil {
				return &Error{File: l.name, Record: r.Name, Offset: r.DataOffset, Err: zipErr(err)}
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
	dataRecs := numberedRecords(recs, prefix+"data/")
	in := newInterpreter(func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error) {
		var r *zipfile.Record
		if n, ok := numericKey(key); ok && n < len(dataRecs) {
			r = dataRecs[n]
		}
		if r == nil {
			r = zr.Lookup(prefix + "data/" + key)
		}
		if r == nil {
			return nil, errorf(ErrMissingRecord, "no record %sdata/%s", prefix, key)
		}
		if byteOff > r.Size || nbytes > r.Size-byteOff {
			return nil, errorf(ErrStorageSize, "record %s holds %d bytes, the storage needs %d", r.Name, r.Size, byteOff+nbytes)
		}
		if r.Method != zipfile.Store {
			b, err := l.zipBytes(r, r.Size)
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
// numbers its storages) by number, so that finding a storage's record costs
// no string building or hashing. Other names, and duplicates (the first
// wins, as zipfile.Reader.Lookup does), are left to Lookup.
func numberedRecords(recs []*zipfile.Record, dir string) []*zipfile.Record {
	idx := make([]*zipfile.Record, 0, len(recs))
	for _, r := range recs {
		if !strings.HasPrefix(r.Name, dir) {
			continue
		}
		n, ok := numericKey(r.Name[len(dir):])
		if !ok || n >= 2*len(recs) {
			continue
		}
		if n >= len(idx) {
			idx = append(idx, make([]*zipfile.Record, n+1-len(idx))...)
		}
		if idx[n] == nil {
			idx[n] = r
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
// records larger than max.
func (l *loader) zipBytes(r *zipfile.Record, max int64) ([]byte, error) {
	if r.Size > max {
		return nil, &Error{File: l.name, Record: r.Name, Offset: r.DataOffset, Err: errorf(ErrFormat, "record of %d bytes is larger than %d", r.Size, max)}
	}
	if r.Method == zipfile.Store {
		if r.CompressedSize != r.Size {
			return nil, &Error{File: l.name, Record: r.Name, Offset: r.DataOffset, Err: errorf(ErrFormat, "stored record with %d compressed and %d uncompressed bytes", r.CompressedSize, r.Size)}
		}
		return l.readAll(r.DataOffset, r.Size, r.Name)
	}
	b, err := r.ReadAll()
	if err != nil {
		return nil, &Error{File: l.name, Record: r.Name, Offset: r.DataOffset, Err: zipErr(err)}
	}
	return b, nil
}

// ErrChecksum means a zip record's CRC-32 does not match its data (Options.VerifyCRC).
var ErrChecksum = errors.New("pth: zip record checksum mismatch")
