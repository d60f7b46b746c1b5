package pth

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/tensor"
)

// readZip reads torch.save's zip format (and TorchScript's, which shares it)
// through internal/zipfile, which reads like PyTorch's miniz: any ordinary zip,
// records addressed by the data offset their local header gives, so stored
// records become views of the mapping.
//
// A mapped file is read lazily, as PyTorch's reader reads it: opening reads
// the central directory and data.pkl, and each tensor's local header is read
// on its storage's first use (tensor.StorageArena.NewDeferred, zipStorages).
// A state_dict of 20,000 small tensors has its local headers on every page of
// the file; reading them all at open touched every page.
func (l *loader) readZip() error {
	var zr *zipfile.Reader
	var err error
	if l.mapped != nil {
		zr, err = zipfile.NewLazyReader(l.ra, l.size, zipfile.DefaultLimits)
	} else {
		zr, err = zipfile.NewReader(l.ra, l.size)
	}
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
			r, err := zr.At(i)
			if err == nil {
				err = r.Verify()
			}
			if err != nil {
				return &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: zipErr(err)}
			}
		}
	}
	l.file.Format = FormatZip
	if zr.Index(prefix+"constants.pkl") >= 0 {
		l.file.Format = FormatTorchScript
		if l.opts.WeightsOnly {
			return &Error{File: l.name, Offset: -1, Err: errorf(ErrWeightsOnly, "Cannot use ``weights_only=True`` with TorchScript archives passed to ``torch.load``.")}
		}
	}
	bigEndian := false
	r, err := l.zipRecord(zr, prefix+"byteorder")
	if err != nil {
		return err
	}
	if r != nil {
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
	pkl, err := l.zipRecord(zr, pklName)
	if err != nil {
		return err
	}
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
	var deferred *tensor.Deferred
	if l.mapped != nil && !bigEndian {
		zs := &zipStorages{zr: zr, mapped: l.mapped, file: l.name}
		l.file.zipStorages = zs
		deferred = tensor.NewDeferred(zs)
	}
	dataRecs := numberedRecords(zr, prefix+"data/")
	in := newInterpreter(func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error) {
		var i int
		if n, ok := numericKey(key); ok && n < len(dataRecs) && dataRecs[n] != 0 {
			i = int(dataRecs[n] - 1)
		} else {
			i = zr.LookupIndex(prefix + "data/" + key)
		}
		if i < 0 {
			return nil, errorf(ErrMissingRecord, "no record %sdata/%s", prefix, key)
		}
		// What the directory says; r's name may view the mapping: the
		// errors below copy it.
		r := zr.Entry(i)
		if byteOff > r.Size || nbytes > r.Size-byteOff {
			return nil, errorf(ErrStorageSize, "record %s holds %d bytes, the storage needs %d", r.Name, r.Size, byteOff+nbytes)
		}
		stored := r.Method == zipfile.Store
		if stored && r.CompressedSize != r.Size {
			return nil, errorf(ErrFormat, "record %s: stored with %d compressed and %d uncompressed bytes", r.Name, r.CompressedSize, r.Size)
		}
		if stored && deferred != nil && byteOff == 0 && nbytes > 0 && nbytes <= math.MaxUint32 {
			return l.storages.NewDeferred(dt, nbytes, deferred, uint32(i)), nil
		}
		if r, err = zr.At(i); err != nil {
			return nil, &Error{File: l.name, Record: strings.Clone(r.Name), Offset: r.HeaderOffset, Err: zipErr(err)}
		}
		if !stored {
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

// zipRecord returns the record named name (nil if there is none), its local
// header read: one that fails its check is a located error.
func (l *loader) zipRecord(zr *zipfile.Reader, name string) (*zipfile.Record, error) {
	i := zr.Index(name)
	if i < 0 {
		return nil, nil
	}
	r, err := zr.At(i)
	if err != nil {
		return nil, &Error{File: l.name, Record: name, Offset: r.HeaderOffset, Err: zipErr(err)}
	}
	r.Name = name // the caller's string, never a view of the mapping
	return &r, nil
}

// zipStorages finds the data of a mapped zip file's deferred storages
// (tensor.Locator): where its record's local header, read on the storage's
// first use, says. The storage's record is its id, a position in zr, which
// the directory said is stored and holds at least the storage's bytes.
type zipStorages struct {
	mu     sync.RWMutex
	zr     *zipfile.Reader // nil after Close
	mapped []byte
	file   string
}

// Locate implements tensor.Locator.
func (z *zipStorages) Locate(id uint32, n int64) ([]byte, error) {
	z.mu.RLock()
	defer z.mu.RUnlock()
	if z.zr == nil {
		return nil, &Error{File: z.file, Offset: -1, Err: ErrClosed}
	}
	r, err := z.zr.At(int(id))
	if err != nil {
		return nil, &Error{File: z.file, Record: strings.Clone(r.Name), Offset: r.HeaderOffset, Err: zipErr(err)}
	}
	// At checked that the record's CompressedSize bytes lie in the file.
	if n > r.CompressedSize {
		return nil, &Error{File: z.file, Record: strings.Clone(r.Name), Offset: r.DataOffset, Err: errorf(ErrStorageSize, "record holds %d bytes, the storage needs %d", r.CompressedSize, n)}
	}
	return z.mapped[r.DataOffset : r.DataOffset+n : r.DataOffset+n], nil
}

// close makes every later Locate fail: the mapping is about to go.
func (z *zipStorages) close() {
	z.mu.Lock()
	z.zr, z.mapped = nil, nil
	z.mu.Unlock()
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
