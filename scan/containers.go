package scan

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"regexp"
	"strings"

	"github.com/pthkit/pth/pickle"
)

// bufSize is the read buffer for a record of n bytes: small records (most of a
// TorchScript archive, all of a many-record zip) must not each cost 64 KiB.
func bufSize(n int64) int {
	return int(max(min(n, 64<<10), 4<<10))
}

// kind is what the first bytes of a stream say it is. Detection is by content,
// never by name.
type kind uint8

const (
	kindUnknown kind = iota
	kindZip
	kind7z
	kindTar
	kindNpy
	kindGzip
	kindZlib
	kindBzip2
	kindPreview
	kindLegacy
	kindPickle
	kindSafetensors
	kindGGUF
)

var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e}

func sniff(h []byte) kind {
	switch {
	case bytes.HasPrefix(h, []byte("PK\x03\x04")), bytes.HasPrefix(h, []byte("PK\x05\x06")),
		bytes.HasPrefix(h, []byte("PK\x07\x08PK\x03\x04")):
		return kindZip
	case bytes.HasPrefix(h, []byte("7z\xbc\xaf\x27\x1c")):
		return kind7z
	case bytes.HasPrefix(h, []byte("\x93NUMPY")):
		return kindNpy
	case bytes.HasPrefix(h, []byte("PYTORCH1")):
		return kindPreview
	case len(h) >= 262 && string(h[257:262]) == "ustar":
		return kindTar
	case bytes.HasPrefix(h, []byte{0x1f, 0x8b}):
		return kindGzip
	case bytes.HasPrefix(h, []byte("BZh")) && len(h) > 3 && h[3] >= '1' && h[3] <= '9':
		return kindBzip2
	case len(h) >= 2 && h[0] == 0x78 && (uint16(h[0])<<8|uint16(h[1]))%31 == 0:
		return kindZlib // joblib's compressed pickles ('x' is not an opcode)
	case bytes.HasPrefix(h, legacyMagic):
		return kindLegacy
	case bytes.HasPrefix(h, []byte("GGUF")):
		return kindGGUF
	case len(h) >= 9 && h[8] == '{' && binary.LittleEndian.Uint64(h) >= 2 && binary.LittleEndian.Uint64(h) <= 100<<20:
		return kindSafetensors // 8-byte header length, then the JSON header
	case len(h) > 0:
		if _, ok := pickle.LookupOp(h[0]); ok {
			return kindPickle
		}
	}
	return kindUnknown
}

// embeddedZip finds a zip at the end of ra whose offsets are relative to a
// later start than the file's (data prepended to it, as in a polyglot), the way
// Python's zipfile does: start = EOCD position - central directory size -
// central directory offset. ok is false when the tail holds no EOCD.
func embeddedZip(ra io.ReaderAt, size int64) (start int64, ok bool) {
	const tail = 22 + 65535
	from := max(size-tail, 0)
	buf := make([]byte, size-from)
	if _, err := ra.ReadAt(buf, from); err != nil && err != io.EOF {
		return 0, false
	}
	i := bytes.LastIndex(buf, []byte("PK\x05\x06"))
	if i < 0 || len(buf)-i < 22 {
		return 0, false
	}
	entries := binary.LittleEndian.Uint16(buf[i+10:])
	cdSize := int64(binary.LittleEndian.Uint32(buf[i+12:]))
	cdOff := int64(binary.LittleEndian.Uint32(buf[i+16:]))
	if cdOff == 0xFFFFFFFF || entries == 0xFFFF {
		// zip64: real when its locator sits just before; the zip reader judges the rest.
		return 0, i >= 20 && string(buf[i-20:i-16]) == "PK\x06\x07"
	}
	start = from + int64(i) - cdSize - cdOff
	if start < 0 || entries == 0 {
		return 0, false
	}
	// The central directory must be where the record says: the signature bytes
	// alone turn up by chance in tensor data now and then.
	var sig [4]byte
	if _, err := ra.ReadAt(sig[:], start+cdOff); err != nil || string(sig[:]) != "PK\x01\x02" {
		return 0, false
	}
	return start, true
}

var tensorRecord = regexp.MustCompile(`^[^/]*/?(data|constants)/[^/]+$`)

// isPickleName reports whether a loader unpickles a record of this name:
// data.pkl, constants.pkl, bytecode.pkl, any other .pkl, and TorchScript's .debug_pkl.
func isPickleName(name string) bool {
	return strings.HasSuffix(name, ".pkl") || strings.HasSuffix(name, ".debug_pkl") || strings.HasSuffix(name, ".pickle")
}

// zip scans every record a loader might unpickle: .pkl records strictly (under
// either the central-directory or the local-header name, as PyTorch's reader
// and others disagree), every other record by content, except tensor storages
// (data/…, constants/… of an archive that has a .pkl), which are never unpickled
// and never read.
func (fs *fileScan) zip(where string, ra io.ReaderAt, size int64, depth int) {
	if depth > fs.opts.MaxNesting {
		fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
		return
	}
	entries, err := openZip(ra, size)
	if err != nil {
		fs.fail(where, err)
		return
	}
	fs.modelish = true // a readable archive: what it holds is judged record by record
	torch := false
	for _, e := range entries {
		if isPickleName(e.name) || isPickleName(e.localName) {
			torch = true
		}
	}
	for _, e := range entries {
		m := modeSniff
		switch {
		case isPickleName(e.name) || isPickleName(e.localName):
			m = modeStrict
		case torch && tensorRecord.MatchString(e.name) && tensorRecord.MatchString(e.localName):
			continue
		case strings.HasSuffix(e.name, "/"):
			continue // a folder
		}
		rwhere := where + ":" + e.name
		if e.localName != e.name {
			rwhere += " (local header: " + e.localName + ")"
		}
		r, err := e.open()
		if err != nil {
			fs.fail(rwhere, err)
			continue
		}
		br := bufio.NewReaderSize(r, bufSize(e.size))
		head, err := br.Peek(512)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			fs.fail(rwhere, err)
			continue
		}
		k := sniff(head)
		if (k == kindZip || k == kind7z) && e.stored != nil {
			// An archive stored in the archive: read it in place.
			if depth >= fs.opts.MaxNesting {
				fs.fail(rwhere, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
			} else {
				fs.source(rwhere, e.stored, e.size, depth+1, m)
			}
			continue
		}
		fs.stream(rwhere, br, head, k, depth, m)
		// Finish the record so that read errors (checksums, truncation) surface.
		if m != modeSniff {
			if _, err := io.Copy(io.Discard, io.LimitReader(br, 1<<20)); err != nil {
				fs.fail(rwhere, err)
			}
		}
	}
}

// tar scans a tar archive: the ≤0.3 torch format (members sys_info, pickle,
// storages, tensors) or any other tar, whose members are scanned by content.
func (fs *fileScan) tar(where string, r io.Reader, depth int) {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			fs.fail(where, fmt.Errorf("tar: %w", err))
			return
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		mwhere := where + ":" + h.Name
		br := bufio.NewReaderSize(tr, bufSize(h.Size))
		switch path.Base(h.Name) {
		case "storages":
			fs.tarStorages(mwhere, br)
			continue
		case "tensors":
			fs.tarTensors(mwhere, br)
			continue
		}
		head, err := br.Peek(512)
		if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
			fs.fail(mwhere, err)
			continue
		}
		m := modeSniff
		if b := path.Base(h.Name); b == "pickle" || b == "sys_info" || isPickleName(b) {
			m = modeStrict
		}
		fs.stream(mwhere, br, head, sniff(head), depth, m)
	}
}

// storageElemSize is the element size of a legacy storage class.
var storageElemSize = map[string]int64{
	"DoubleStorage": 8, "FloatStorage": 4, "HalfStorage": 2, "BFloat16Storage": 2,
	"LongStorage": 8, "IntStorage": 4, "ShortStorage": 2, "CharStorage": 1, "ByteStorage": 1,
	"BoolStorage": 1, "ComplexFloatStorage": 8, "ComplexDoubleStorage": 16,
	"QInt8Storage": 1, "QUInt8Storage": 1, "QInt32Storage": 4, "QUInt4x2Storage": 1, "QUInt2x4Storage": 1,
}

// tarStorages walks the "storages" member: pickle(n), then n times
// [pickle((key, location, storage_type)), int64 numel, numel elements], then a
// pickle of the views. Element data is skipped, never read into memory.
func (fs *fileScan) tarStorages(where string, br *bufio.Reader) {
	n, err := fs.countPickle(where, br)
	if err != nil {
		fs.fail(where, err)
		return
	}
	for i := int64(0); i < n; i++ {
		v, err := fs.onePickle(where, br)
		if err != nil {
			fs.fail(fmt.Sprintf("%s storage %d", where, i), err)
			return
		}
		elem := int64(0)
		if v.kind == kTuple && len(v.items) == 3 && v.items[2].kind == kGlobal {
			elem = storageElemSize[v.items[2].glob.name]
		}
		if elem == 0 {
			fs.fail(fmt.Sprintf("%s storage %d", where, i), fmt.Errorf("%w: storage header is not (key, location, storage class)", pickle.ErrMalformed))
			return
		}
		var numel int64
		if err := binary.Read(br, binary.LittleEndian, &numel); err != nil {
			fs.fail(where, fmt.Errorf("%w: storage %d size: %v", pickle.ErrTruncated, i, err))
			return
		}
		if numel < 0 || numel > (1<<62)/elem {
			fs.fail(where, fmt.Errorf("%w: storage %d has %d elements", pickle.ErrMalformed, i, numel))
			return
		}
		if k, err := br.Discard(int(min(numel*elem, 1<<62))); err != nil {
			fs.fail(where, fmt.Errorf("%w: storage %d: %d of %d bytes", pickle.ErrTruncated, i, k, numel*elem))
			return
		}
	}
	if _, err := fs.onePickle(where+" views", br); err != nil {
		fs.fail(where+" views", err)
	}
}

// tarTensors walks the "tensors" member: pickle(n), then n times
// [pickle((key, storage_id, type)), int32 ndim, 4 pad bytes, ndim×i64 size, ndim×i64 stride, i64 offset].
func (fs *fileScan) tarTensors(where string, br *bufio.Reader) {
	n, err := fs.countPickle(where, br)
	if err != nil {
		fs.fail(where, err)
		return
	}
	for i := int64(0); i < n; i++ {
		if _, err := fs.onePickle(where, br); err != nil {
			fs.fail(fmt.Sprintf("%s tensor %d", where, i), err)
			return
		}
		var hdr [8]byte
		if _, err := io.ReadFull(br, hdr[:]); err != nil {
			fs.fail(where, fmt.Errorf("%w: tensor %d header", pickle.ErrTruncated, i))
			return
		}
		ndim := int64(int32(binary.LittleEndian.Uint32(hdr[:4])))
		if ndim < 0 || ndim > 1<<16 {
			fs.fail(where, fmt.Errorf("%w: tensor %d has %d dimensions", pickle.ErrMalformed, i, ndim))
			return
		}
		if _, err := br.Discard(int(ndim*16 + 8)); err != nil {
			fs.fail(where, fmt.Errorf("%w: tensor %d sizes", pickle.ErrTruncated, i))
			return
		}
	}
}

// countPickle reads a pickle that must hold a non-negative int count.
func (fs *fileScan) countPickle(where string, br *bufio.Reader) (int64, error) {
	v, err := fs.onePickle(where, br)
	if err != nil {
		return 0, err
	}
	n, ok := v.val.(int64)
	if v.kind != kConst || !ok || n < 0 || n > 1<<32 {
		return 0, fmt.Errorf("%w: expected a count, got %s", pickle.ErrMalformed, render(v, 40))
	}
	return n, nil
}

var npyObject = regexp.MustCompile(`['"][<>|=]?O\d*['"]`)

// npy reads a .npy header; an object array is followed by the one pickle
// numpy.load(allow_pickle=True) unpickles. Numeric data is never read.
func (fs *fileScan) npy(where string, br *bufio.Reader) {
	var pre [8]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		fs.fail(where, fmt.Errorf("%w: npy preamble", pickle.ErrTruncated))
		return
	}
	var hlen int64
	switch pre[6] {
	case 1:
		var b [2]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			fs.fail(where, fmt.Errorf("%w: npy header length", pickle.ErrTruncated))
			return
		}
		hlen = int64(binary.LittleEndian.Uint16(b[:]))
	case 2, 3:
		var b [4]byte
		if _, err := io.ReadFull(br, b[:]); err != nil {
			fs.fail(where, fmt.Errorf("%w: npy header length", pickle.ErrTruncated))
			return
		}
		hlen = int64(binary.LittleEndian.Uint32(b[:]))
	default:
		fs.fail(where, fmt.Errorf("%w: npy version %d.%d", ErrNotModel, pre[6], pre[7]))
		return
	}
	if hlen > 1<<20 {
		fs.fail(where, fmt.Errorf("%w: npy header of %d bytes", ErrBudget, hlen))
		return
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(br, hdr); err != nil {
		fs.fail(where, fmt.Errorf("%w: npy header", pickle.ErrTruncated))
		return
	}
	fs.modelish = true
	descr := string(hdr)
	if i := strings.Index(descr, "descr"); i >= 0 {
		descr = descr[i:]
		if j := strings.Index(descr, "'fortran_order'"); j >= 0 {
			descr = descr[:j]
		}
	}
	if !npyObject.MatchString(descr) {
		return
	}
	fs.pickleStream(where+" (object array)", br, 1, 1)
}

// compressed inflates gzip, zlib (joblib) or bzip2 within the buffer budget and
// scans what comes out.
func (fs *fileScan) compressed(where string, br *bufio.Reader, k kind, depth int, m mode) {
	var r io.Reader
	var err error
	switch k {
	case kindGzip:
		r, err = gzip.NewReader(br)
		where += " (gzip)"
	case kindZlib:
		r, err = zlib.NewReader(br)
		where += " (zlib)"
	case kindBzip2:
		r = bzip2.NewReader(br)
		where += " (bzip2)"
	}
	if err != nil {
		fs.fail(where, err)
		return
	}
	lr := &budgetReader{r: r, fs: fs}
	inner := bufio.NewReaderSize(lr, 64<<10)
	head, err := inner.Peek(512)
	if err != nil && err != io.EOF && !errors.Is(err, bufio.ErrBufferFull) {
		fs.fail(where, err)
		return
	}
	fs.stream(where, inner, head, sniff(head), depth, m)
	if lr.err != nil {
		fs.fail(where, lr.err)
	}
}

// budgetReader charges what it reads against the scan's buffer budget.
type budgetReader struct {
	r   io.Reader
	fs  *fileScan
	err error
}

func (b *budgetReader) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n, err := b.r.Read(p)
	if cerr := b.fs.chargeBuffered(int64(n)); cerr != nil {
		b.err = cerr
		return 0, cerr
	}
	return n, err
}
