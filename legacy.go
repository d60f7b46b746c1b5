package pth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/big"

	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// legacyMagicNumber is MAGIC_NUMBER of torch/serialization.py.
var legacyMagicNumber, _ = new(big.Int).SetString("1950a86a20f9469cfc6c", 16)

// streamReader reads consecutive pickles and raw fields from a section of the
// file, keeping track of the offset of everything it consumed.
type streamReader struct {
	l    *loader
	what string // section name for errors
	base int64  // file offset of the section
	end  int64  // file offset just past the section
	br   *bufio.Reader
	pos  int64 // file offset of the next unread byte
}

func (l *loader) newStreamReader(what string, base, end int64) *streamReader {
	return &streamReader{l: l, what: what, base: base, end: end, pos: base,
		br: bufio.NewReaderSize(io.NewSectionReader(l.ra, base, end-base), 64<<10)}
}

// pickle decodes the next pickle, reading up to and including its STOP.
func (s *streamReader) pickle(pload func(pickle.Value) (pickle.Value, error)) (v pickle.Value, err error) {
	start := s.pos
	d := pickle.NewDecoder(s.br, s.l.pickleOptions(s.end-start, start, pload))
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, &Error{File: s.l.name, Record: s.what, Offset: start, Err: fmt.Errorf(
				"%w: pickle decoder failed on this input (a bug in package pickle): %v", pickle.ErrMalformed, r)}
		}
	}()
	v, err = d.Decode()
	if err == io.EOF {
		err = &pickle.OpcodeError{Offset: 0, Err: fmt.Errorf("%w: stream ended before a pickle", pickle.ErrTruncated)}
	}
	if err != nil {
		return nil, s.l.pickleError(s.what, start, err)
	}
	s.pos += d.Offset()
	s.l.pickleBytes += int(d.Offset())
	s.l.shared = s.l.shared || d.Shared()
	return s.l.checkDecoded(v, s.what)
}

// fixed reads n raw bytes (n is small: headers).
func (s *streamReader) fixed(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := io.ReadFull(s.br, b); err != nil {
		return nil, &Error{File: s.l.name, Record: s.what, Offset: s.pos, Err: fmt.Errorf("%w: truncated: %w", ErrFormat, err)}
	}
	s.pos += int64(n)
	return b, nil
}

// skip moves past n bytes of data without reading them into memory.
func (s *streamReader) skip(n int64) error {
	if n < 0 || n > s.end-s.pos {
		return errorf(ErrStorageSize, "%d bytes of data at offset %d, %d left in the file", n, s.pos, s.end-s.pos)
	}
	s.pos += n
	// Re-seat the buffered reader after the skipped data.
	s.br.Reset(io.NewSectionReader(s.l.ra, s.pos, s.end-s.pos))
	return nil
}

// legacyRegion is where one storage's bytes lie in the file.
type legacyRegion struct {
	off, size int64
}

// readLegacy reads the legacy stream: magic, protocol, sys_info, the object
// pickle, the sorted key list, then per key an int64 numel and the raw data.
// Only the 8-byte numel headers are read; the data stays in the file.
func (l *loader) readLegacy() error {
	l.file.Format = FormatLegacy
	s := l.newStreamReader("legacy stream", 0, l.size)
	magic, err := s.pickle(nil)
	if err != nil {
		return err
	}
	if m, ok := magic.(*big.Int); !ok || m.Cmp(legacyMagicNumber) != 0 {
		return &Error{File: l.name, Record: "magic number", Offset: 0, Err: errorf(ErrFormat, "Invalid magic number; corrupt file?")}
	}
	at := s.pos
	proto, err := s.pickle(nil)
	if err != nil {
		return err
	}
	if proto != int64(1001) {
		return &Error{File: l.name, Record: "protocol version", Offset: at, Err: errorf(ErrFormat, "Invalid protocol version: %s", shortRepr(proto))}
	}
	at = s.pos
	sysInfo, err := s.pickle(nil)
	if err != nil {
		return err
	}
	bigEndian, err := sysInfoBigEndian(sysInfo)
	if err != nil {
		return &Error{File: l.name, Record: "sys_info", Offset: at, Err: err}
	}
	refs := map[string]*storageRef{}
	s.what = "object pickle"
	root, err := s.pickle(func(id pickle.Value) (pickle.Value, error) {
		v, err := l.storagePID(id)
		if r, ok := v.(*storageRef); ok {
			if prev, seen := refs[r.key]; seen {
				if prev.dtype != r.dtype || prev.numel != r.numel {
					return nil, &keyError{r.key, errorf(ErrInvalid, "storage declared twice with different types or sizes")}
				}
			} else {
				refs[r.key] = r
			}
		}
		return v, err
	})
	if err != nil {
		return err
	}
	s.what = "storage keys"
	at = s.pos
	keysV, err := s.pickle(nil)
	if err != nil {
		return err
	}
	keyList, ok := keysV.(*pickle.List)
	if !ok {
		return &Error{File: l.name, Record: "storage keys", Offset: at, Err: errorf(ErrFormat, "key list is %T", keysV)}
	}
	regions := map[string]legacyRegion{}
	s.what = "storage data"
	for _, kv := range keyList.Items {
		key, ok := kv.(string)
		if !ok {
			return &Error{File: l.name, Record: "storage keys", Offset: at, Err: errorf(ErrFormat, "storage key is %T", kv)}
		}
		ref, ok := refs[key]
		if !ok {
			return &Error{File: l.name, Record: "storage data", Offset: s.pos, Key: key, Err: errorf(ErrFormat, "key not referenced by the object pickle")}
		}
		hdrAt := s.pos
		hdr, err := s.fixed(8)
		if err != nil {
			return locate(l.name, "storage data", hdrAt, &keyError{key, err})
		}
		numel := readInt64LE(hdr)
		nbytes, ok := mulCheck(numel, int64(ref.elemSize()))
		if !ok {
			return &Error{File: l.name, Record: "storage data", Offset: hdrAt, Key: key, Err: errorf(ErrFormat, "storage numel %d", numel)}
		}
		regions[key] = legacyRegion{off: s.pos, size: nbytes}
		if err := s.skip(nbytes); err != nil {
			return locate(l.name, "storage data", hdrAt, &keyError{key, err})
		}
	}
	return l.interpret(root, "object pickle", func(key string, dt tensor.DType, byteOff, nbytes int64) (*tensor.Storage, error) {
		r, ok := regions[key]
		if !ok {
			return nil, errorf(ErrMissingRecord, "storage %q has no data in the stream", key)
		}
		if byteOff > r.size || nbytes > r.size-byteOff {
			return nil, errorf(ErrStorageSize, "storage data holds %d bytes, the storage needs %d", r.size, byteOff+nbytes)
		}
		return l.storageAt(dt, r.off+byteOff, nbytes, bigEndian), nil
	})
}

// storageAt returns a storage over nbytes of the file at off: a view of the
// mapping, or lazy.
func (l *loader) storageAt(dt tensor.DType, off, nbytes int64, bigEndian bool) *tensor.Storage {
	if l.mapped != nil {
		return l.storages.NewStorageOrder(dt, l.mapped[off:off+nbytes:off+nbytes], bigEndian)
	}
	return tensor.NewLazyStorage(dt, l.ra, off, nbytes, bigEndian)
}

// sysInfoBigEndian reads little_endian from a sys_info dict.
func sysInfoBigEndian(v pickle.Value) (bool, error) {
	d, ok := v.(*pickle.Dict)
	if !ok {
		return false, errorf(ErrFormat, "sys_info is %T", v)
	}
	le, ok := d.GetString("little_endian")
	if !ok {
		return false, nil
	}
	b, ok := le.(bool)
	if !ok {
		return false, errorf(ErrFormat, "sys_info little_endian is %T", le)
	}
	return !b, nil
}

// readInt64LE decodes a little-endian int64.
func readInt64LE(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }
