package zipfile

import (
	"cmp"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"unsafe"
)

// Errors. Every structural problem wraps ErrFormat; test with errors.Is.
var (
	// ErrFormat: the bytes are not a readable zip archive.
	ErrFormat = errors.New("zipfile: not a valid zip file")
	// ErrOverlap: two records, or a record and the central directory, share bytes.
	ErrOverlap = fmt.Errorf("%w: overlapping records", ErrFormat)
	// ErrLimit: the archive exceeds a Limits bound (entries, name length, expansion).
	ErrLimit = fmt.Errorf("%w: limit exceeded", ErrFormat)
	// ErrNoPrefix: entry #0 has no top-level folder, which PyTorch requires.
	ErrNoPrefix = fmt.Errorf("%w: file in archive is not in a subdirectory", ErrFormat)
	// ErrChecksum: a record's data does not match its CRC-32.
	ErrChecksum = errors.New("zipfile: checksum error")
	// ErrMethod: the record uses a compression method other than store or deflate.
	ErrMethod = errors.New("zipfile: unsupported compression method")
)

// Compression methods.
const (
	Store   uint16 = 0
	Deflate uint16 = 8
)

// maxDeflateRatio is deflate's largest possible expansion (258 bytes per 2-bit
// code is about 1032:1); a record claiming more is a bomb or a lie.
const maxDeflateRatio = 1032

// Limits bound what a Reader accepts.
type Limits struct {
	MaxEntries    int   // records in the central directory
	MaxNameLen    int   // bytes in one record name
	MaxRecordSize int64 // uncompressed bytes of one deflated record (stored ones are bounded by the file)
}

// DefaultLimits allows a million records, names of 4096 bytes, and deflated
// records of up to 1 GiB.
var DefaultLimits = Limits{MaxEntries: 1 << 20, MaxNameLen: 4096, MaxRecordSize: 1 << 30}

// Record is one entry of the archive.
type Record struct {
	Name           string // name in the central directory ("archive/data.pkl")
	LocalName      string // name in the local header; differs from Name only in crafted files
	Method         uint16 // Store or Deflate (others cannot be opened)
	Flags          uint16 // general-purpose bit flags from the central directory
	CRC32          uint32
	CompressedSize int64
	Size           int64
	HeaderOffset   int64 // offset of the local header
	DataOffset     int64 // offset of the data: HeaderOffset + 30 + local name length + local extra length

	z *Reader // the archive, whose reader holds the bytes
}

// Reader is an open archive.
//
// Opening keeps the central directory's bytes and eight bytes per record,
// not a Record each: a 20,000-tensor state_dict has 20,002 records, and most
// opens only look at a few of them by name (Find) and the rest by position
// (At). Records, Lookup and Duplicates build the full list and name index on
// first use.
type Reader struct {
	// cd is the central directory: a view of the caller's memory when r is a
	// Mapper (then names taken from it live only as long as that memory), a
	// copy otherwise (see views). cds is the same bytes as a string, never
	// written.
	cd   []byte
	cds  string
	ents []entry
	// localNames holds, by record, the local header names that differ from
	// the central ones (crafted files only), copied.
	localNames map[int]string

	recordsOnce sync.Once
	records     []*Record
	// byName and dups are built on the first Lookup or Duplicates: an open
	// that only needs a few names (Find) never hashes 20,000 of them.
	index  sync.Once
	byName map[string]int32
	dups   []string
	lim    Limits
	// src reads the archive; lazy: local headers are read when a record is
	// asked for (NewLazyReader); cdStart is where the central directory starts.
	src     source
	lazy    bool
	cdStart int64
}

// entry locates one record: its central header at cd[cd:], and the length
// of its local header (30 bytes, the local name and the local extra field),
// which gives its data offset (0 on a NewLazyReader, whose At reads it).
type entry struct {
	cd    uint32
	local uint32
}

// NewReader reads the directory of the archive in r (size bytes) with DefaultLimits.
func NewReader(r io.ReaderAt, size int64) (*Reader, error) {
	return NewReaderLimits(r, size, DefaultLimits)
}

// ReadCloser is a Reader over a file it owns.
type ReadCloser struct {
	*Reader
	f *os.File
}

// Close closes the file.
func (rc *ReadCloser) Close() error { return rc.f.Close() }

// OpenReader opens the archive at path.
func OpenReader(path string) (*ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	z, err := NewReader(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &ReadCloser{Reader: z, f: f}, nil
}

// Mapper is implemented by an io.ReaderAt whose bytes are all in memory, such
// as a read-only memory mapping of the file. NewReader then reads the central
// directory and the local headers in place instead of copying them, and the
// Reader keeps viewing that memory: it must not be used once the memory is
// released (unmapped). Records, Find, Lookup, Duplicates and Prefix still
// return names of their own; only At's, Entry's and NameAt's view it.
type Mapper interface {
	// Mapped returns all size bytes of the archive.
	Mapped() []byte
}

var le = binary.LittleEndian

const (
	sigLocal    = 0x04034b50
	sigCentral  = 0x02014b50
	sigEnd      = 0x06054b50
	sigEnd64    = 0x06064b50
	sigLocator  = 0x07064b50
	sigDataDesc = 0x08074b50

	localLen   = 30
	centralLen = 46
	endLen     = 22
	end64Len   = 56
	locatorLen = 20
	max16      = 0xffff
	max32      = 0xffffffff
)

func formatErr(off int64, format string, args ...any) error {
	return fmt.Errorf("%w: offset %d: %s", ErrFormat, off, fmt.Sprintf(format, args...))
}

// readInto reads n bytes at off into buf, which it grows (by reallocating)
// when it is shorter than n; it returns buf[:n].
func readInto(r io.ReaderAt, size, off, n int64, buf []byte) ([]byte, error) {
	if off < 0 || n < 0 || off > size || n > size-off {
		return nil, formatErr(off, "%d bytes past the end of the file (%d bytes)", n, size)
	}
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	b := buf[:n]
	if got, err := r.ReadAt(b, off); int64(got) < n {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("zipfile: reading %d bytes at offset %d: %w", n, off, err)
	}
	return b, nil
}

// source reads the archive's bytes: slices of mem when the reader is a
// Mapper (no copy), reads into a buffer otherwise.
type source struct {
	r    io.ReaderAt
	mem  []byte
	size int64
}

// bytes returns n bytes at off: a view of mem, or buf (grown if too short) filled by a read.
func (s source) bytes(off, n int64, buf []byte) ([]byte, error) {
	if s.mem == nil {
		return readInto(s.r, s.size, off, n, buf)
	}
	if off < 0 || n < 0 || off > s.size || n > s.size-off {
		return nil, formatErr(off, "%d bytes past the end of the file (%d bytes)", n, s.size)
	}
	return s.mem[off : off+n : off+n], nil
}

// NewLazyReader is NewReaderLimits without reading the local headers at
// open: it reads and checks the central directory, and each record's local
// header is read and checked when the record is asked for (At, Find,
// Records, Lookup), as PyTorch's own reader does. Opening a 20,000-record
// archive then touches the directory's pages only, not the file's.
//
// At open, every record must lie inside the file and, with at least its
// fixed 30-byte local header, overlap no other record and not the directory;
// asking for a record checks the rest: its header's signature, its name
// length, and that its data ends before the next record starts. A directory
// that does not list the records in offset order (writers do) is read as
// NewReaderLimits reads it, every local header at once.
//
// Records that fail their check are reported by At; Find, Lookup and Records
// give them a DataOffset of -1, which Open refuses.
func NewLazyReader(r io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	return newReader(r, size, lim, true)
}

// NewReaderLimits is NewReader with explicit limits.
//
// Reading the directory costs a handful of allocations per archive, not per
// record, and eight bytes per record: the central directory is read whole
// (or viewed in place, from a Mapper) and each record is found again in it
// when asked for. Every local header is read (in place, or into one reused
// buffer) to check it and to know where the record's data starts.
func NewReaderLimits(r io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	return newReader(r, size, lim, false)
}

func newReader(r io.ReaderAt, size int64, lim Limits, lazy bool) (*Reader, error) {
	if size < endLen {
		return nil, formatErr(0, "file of %d bytes is too short", size)
	}
	src := source{r: r, size: size}
	if m, ok := r.(Mapper); ok {
		if b := m.Mapped(); int64(len(b)) == size {
			src.mem = b
		}
	}
	// The end record is in the last 22 + 65535 bytes (it may be followed by a comment).
	tail := min(size, endLen+max16)
	tailOff := size - tail
	buf, err := src.bytes(tailOff, tail, nil)
	if err != nil {
		return nil, err
	}
	// bytesAt returns n bytes at off, from the tail already read when it holds them.
	bytesAt := func(off, n int64) ([]byte, error) {
		if off >= tailOff && off <= size && n >= 0 && n <= size-off {
			return buf[off-tailOff : off-tailOff+n], nil
		}
		return src.bytes(off, n, nil)
	}
	endPos := int64(-1)
	for i := len(buf) - endLen; i >= 0; i-- {
		if le.Uint32(buf[i:]) == sigEnd && i+endLen+int(le.Uint16(buf[i+20:])) <= len(buf) {
			endPos = tailOff + int64(i)
			break
		}
	}
	if endPos < 0 {
		return nil, formatErr(size, "no end of central directory record")
	}
	e := buf[endPos-tailOff:]
	entries := int64(le.Uint16(e[10:]))
	cdSize := int64(le.Uint32(e[12:]))
	cdOff := int64(le.Uint32(e[16:]))
	cdEnd := endPos // the directory must end before this

	// A ZIP64 locator just before the end record points at the ZIP64 end record.
	if endPos >= locatorLen {
		loc, err := bytesAt(endPos-locatorLen, locatorLen)
		if err != nil {
			return nil, err
		}
		if le.Uint32(loc) == sigLocator {
			off64 := le.Uint64(loc[8:])
			if off64 > uint64(endPos-locatorLen-end64Len) || endPos-locatorLen < end64Len {
				return nil, formatErr(endPos-locatorLen, "ZIP64 end record offset %d out of range", off64)
			}
			e64, err := bytesAt(int64(off64), end64Len)
			if err != nil {
				return nil, err
			}
			if le.Uint32(e64) != sigEnd64 {
				return nil, formatErr(int64(off64), "bad ZIP64 end record signature")
			}
			n64, s64, o64 := le.Uint64(e64[32:]), le.Uint64(e64[40:]), le.Uint64(e64[48:])
			if n64 > 1<<62 || s64 > 1<<62 || o64 > 1<<62 {
				return nil, formatErr(int64(off64), "ZIP64 end record values out of range")
			}
			entries, cdSize, cdOff = int64(n64), int64(s64), int64(o64)
			cdEnd = int64(off64)
		}
	}
	if cdOff < 0 || cdSize < 0 || cdOff > cdEnd || cdSize > cdEnd-cdOff {
		return nil, formatErr(cdOff, "central directory (%d bytes) outside the file", cdSize)
	}
	if entries > int64(lim.MaxEntries) || entries > math.MaxInt32 {
		return nil, fmt.Errorf("%w: %d entries (limit %d)", ErrLimit, entries, lim.MaxEntries)
	}
	if entries*centralLen > cdSize {
		return nil, formatErr(cdOff, "%d entries cannot fit in a %d-byte central directory", entries, cdSize)
	}
	if cdSize > max32 {
		// Records are located by a 32-bit position in the directory.
		return nil, fmt.Errorf("%w: central directory of %d bytes (limit 4 GiB)", ErrLimit, cdSize)
	}
	if pf, ok := r.(Prefetcher); ok {
		pf.Prefetch(cdOff, cdSize)
	}
	cdb, err := bytesAt(cdOff, cdSize)
	if err != nil {
		return nil, err
	}
	// Names are substrings of the directory, viewed as a string without a
	// second copy. This is sound because cdb is never written: it is the
	// caller's memory (a Mapper's), a buffer readAt just filled, or a slice
	// of the tail buffer buf, which nothing writes to after the read above.
	z := &Reader{cd: cdb, cds: unsafe.String(unsafe.SliceData(cdb), len(cdb)), lim: lim, src: src, cdStart: cdOff}
	z.ents = make([]entry, entries)
	var rec Record
	var runs headerRuns
	if !lazy {
		runs.pf, _ = r.(Prefetcher)
	}
	// lazily, the spans records take at least (their data and a local
	// header of 30 bytes) are checked while the directory is read
	ov := overlaps{cd: span{cdOff, cdOff + cdSize, "central directory"}}
	inOrder, lastStart := true, int64(0)
	maxName := 0
	p := 0
	for i := range z.ents {
		at := cdOff + int64(p)
		if len(cdb)-p < centralLen || le.Uint32(cdb[p:]) != sigCentral {
			return nil, formatErr(at, "central directory entry %d: bad signature", i)
		}
		h := cdb[p : p+centralLen]
		nlen, xlen, clen := int(le.Uint16(h[28:])), int(le.Uint16(h[30:])), int(le.Uint16(h[32:]))
		if nlen > lim.MaxNameLen {
			return nil, fmt.Errorf("%w: offset %d: name of %d bytes (limit %d)", ErrLimit, at, nlen, lim.MaxNameLen)
		}
		if len(cdb)-p-centralLen < nlen+xlen+clen {
			return nil, formatErr(at, "central directory entry %d runs past the directory", i)
		}
		if err := z.parse(p, &rec); err != nil {
			return nil, fmt.Errorf("%w: offset %d: record %q: %v", ErrFormat, at, rec.Name, err)
		}
		z.ents[i].cd = uint32(p)
		p += centralLen + nlen + xlen + clen
		maxName = max(maxName, nlen)
		runs.add(rec.HeaderOffset, rec.HeaderOffset+localLen+int64(nlen))
		if lazy && inOrder {
			if err := z.checkCentral(&rec); err != nil {
				return nil, err
			}
			if i > 0 && rec.HeaderOffset < lastStart {
				inOrder = false // read as NewReaderLimits does
				continue
			}
			lastStart = rec.HeaderOffset
			if err := ov.add(span{rec.HeaderOffset, rec.HeaderOffset + localLen + rec.CompressedSize, rec.Name}); err != nil {
				return nil, err
			}
		}
	}
	runs.flush()
	if lazy && inOrder {
		if err := ov.finish(); err != nil {
			return nil, err
		}
		z.lazy = true
		return z, nil
	}
	inOrder, err = z.readLocalHeaders(src, localLen+maxName, ov.cd)
	if err != nil {
		return nil, err
	}
	if !inOrder {
		return z, z.checkOverlap(ov.cd)
	}
	return z, nil
}

// checkCentral checks what the central directory alone tells of a record: its
// data, after a local header of at least 30 bytes, lies inside the file, and
// a stored record's two sizes agree.
func (z *Reader) checkCentral(rec *Record) error {
	if rec.CompressedSize > z.src.size || rec.HeaderOffset > z.src.size-localLen-rec.CompressedSize {
		return formatErr(rec.HeaderOffset, "record %q: %d bytes of data at %d run past the end of the file", rec.Name, rec.CompressedSize, rec.HeaderOffset+localLen)
	}
	if rec.Method == Store && rec.CompressedSize != rec.Size && !rec.Flagged() {
		return formatErr(rec.HeaderOffset, "record %q: stored, but compressed size %d differs from size %d", rec.Name, rec.CompressedSize, rec.Size)
	}
	return nil
}

// parse decodes the central header at cd[p:], which NewReaderLimits has
// bounds-checked, into rec, whose Name views the directory. It leaves
// LocalName, DataOffset and the reader unset.
func (z *Reader) parse(p int, rec *Record) error {
	h := z.cd[p : p+centralLen]
	nlen, xlen := int(le.Uint16(h[28:])), int(le.Uint16(h[30:]))
	rec.Name = z.cds[p+centralLen : p+centralLen+nlen]
	rec.Flags = le.Uint16(h[8:])
	rec.Method = le.Uint16(h[10:])
	rec.CRC32 = le.Uint32(h[16:])
	rec.CompressedSize = int64(le.Uint32(h[20:]))
	rec.Size = int64(le.Uint32(h[24:]))
	rec.HeaderOffset = int64(le.Uint32(h[42:]))
	return rec.applyZip64(z.cd[p+centralLen+nlen:p+centralLen+nlen+xlen], h)
}

// views reports whether the Reader views a Mapper's memory (its names do too).
func (z *Reader) views() bool { return z.src.mem != nil }

// Len returns the number of records.
func (z *Reader) Len() int { return len(z.ents) }

// At returns record i (0 ≤ i < Len()) by value, without building the list
// Records returns. When the Reader views a Mapper's memory, the record's
// names view it too: they are valid only while that memory is mapped (copy
// them with strings.Clone to keep them). On a NewLazyReader it reads and
// checks the record's local header (every call: At keeps nothing), which is
// the only way it fails; its LocalName is then the central name.
func (z *Reader) At(i int) (Record, error) {
	var rec Record
	e := z.ents[i]
	_ = z.parse(int(e.cd), &rec) // checked when the directory was read
	rec.LocalName = rec.Name
	rec.z = z
	if z.lazy {
		off, err := z.local(i, &rec)
		rec.DataOffset = off
		return rec, err
	}
	if n, ok := z.localNames[i]; ok {
		rec.LocalName = n
	}
	rec.DataOffset = rec.HeaderOffset + int64(e.local)
	return rec, nil
}

// Entry returns record i as the central directory describes it, without
// reading its local header: on a NewLazyReader its DataOffset is -1 (At
// reads it) and its LocalName the central name. Its names view the
// directory, as At's do.
func (z *Reader) Entry(i int) Record {
	if !z.lazy {
		rec, _ := z.At(i) // read at open: cannot fail
		return rec
	}
	var rec Record
	_ = z.parse(int(z.ents[i].cd), &rec) // checked when the directory was read
	rec.LocalName, rec.DataOffset, rec.z = rec.Name, -1, z
	return rec
}

// at is At for the lookups that report a record NewLazyReader cannot read
// with DataOffset -1.
func (z *Reader) at(i int) Record {
	rec, err := z.At(i)
	if err != nil {
		rec.DataOffset = -1
	}
	return rec
}

// local reads and checks record i's local header (rec, its central record,
// at hand) for a NewLazyReader, and returns the offset of its data.
func (z *Reader) local(i int, rec *Record) (int64, error) {
	var buf []byte
	if z.src.mem == nil {
		buf = make([]byte, localLen+len(rec.Name))
	}
	h, err := z.src.bytes(rec.HeaderOffset, min(localLen+int64(len(rec.Name)), z.src.size-rec.HeaderOffset), buf)
	if err != nil {
		return -1, fmt.Errorf("record %q: local header: %w", rec.Name, err)
	}
	dataOff, _, err := z.checkLocal(i, rec, h)
	if err != nil {
		return -1, err
	}
	// The data must end before what follows the record in the file: the
	// next record (the directory lists them in offset order) or the directory.
	end := z.src.size
	if i+1 < len(z.ents) {
		var next Record
		_ = z.parse(int(z.ents[i+1].cd), &next)
		end = next.HeaderOffset
	}
	if z.cdStart >= rec.HeaderOffset {
		end = min(end, z.cdStart)
	}
	if dataOff > end || rec.CompressedSize > end-dataOff {
		return -1, fmt.Errorf("%w: record %q [%d,%d) runs past offset %d, where the next record or the central directory starts",
			ErrOverlap, rec.Name, rec.HeaderOffset, dataOff+rec.CompressedSize, end)
	}
	return dataOff, nil
}

// NameAt returns record i's name as At does (a view of a Mapper's memory).
func (z *Reader) NameAt(i int) string {
	p := int(z.ents[i].cd)
	return z.cds[p+centralLen : p+centralLen+int(le.Uint16(z.cd[p+28:]))]
}

// applyZip64 replaces 0xffffffff fields with the values of a ZIP64 extra field
// (ID 1), which holds, in order, only the fields that overflowed.
func (rec *Record) applyZip64(extra, h []byte) error {
	needU := le.Uint32(h[24:]) == max32
	needC := le.Uint32(h[20:]) == max32
	needO := le.Uint32(h[42:]) == max32
	if !needU && !needC && !needO {
		return nil
	}
	for len(extra) >= 4 {
		id, n := le.Uint16(extra), int(le.Uint16(extra[2:]))
		if 4+n > len(extra) {
			break
		}
		field := extra[4 : 4+n]
		extra = extra[4+n:]
		if id != 1 {
			continue
		}
		take := func(need bool, dst *int64) error {
			if !need {
				return nil
			}
			if len(field) < 8 {
				return errors.New("short ZIP64 extra field")
			}
			v := le.Uint64(field)
			if v > 1<<62 {
				return errors.New("ZIP64 value out of range")
			}
			*dst = int64(v)
			field = field[8:]
			return nil
		}
		if err := take(needU, &rec.Size); err != nil {
			return err
		}
		if err := take(needC, &rec.CompressedSize); err != nil {
			return err
		}
		return take(needO, &rec.HeaderOffset)
	}
	return errors.New("sizes need a ZIP64 extra field, none found")
}

// Prefetcher is implemented by an io.ReaderAt that can bring a byte range
// into memory in one request before it is read, such as a memory mapping
// (madvise MADV_POPULATE_READ) where each first touch of a page otherwise
// costs a fault. NewReader asks it for the central directory and for runs of
// local headers close enough together that every page of the run holds one
// (in a state_dict of small tensors, thousands of headers share pages with
// the data between them): never for pages it would not read anyway.
// Prefetch is a hint; errors are the implementation's to ignore.
type Prefetcher interface {
	Prefetch(off, n int64)
}

// prefetchGap is the largest gap between two local headers that a prefetched
// run spans: with less than a page between them, no page of the run is free
// of headers.
const prefetchGap = 4096 - 1

// headerRuns plans the Prefetch requests for local headers, given in file
// order: runs of headers that lie less than prefetchGap bytes apart, each
// asked for once it ends (a lone header is not worth a request).
type headerRuns struct {
	pf              Prefetcher // nil: no requests
	start, end, run int64
}

// add extends the current run with the header at [off, end), or starts a new one.
func (h *headerRuns) add(off, end int64) {
	if h.pf == nil {
		return
	}
	if h.run > 0 && off >= h.end && off-h.end < prefetchGap {
		h.end, h.run = end, h.run+1
		return
	}
	h.flush()
	h.start, h.end, h.run = off, end, 1
}

// flush asks for the current run.
func (h *headerRuns) flush() {
	if h.pf != nil && h.run > 1 {
		h.pf.Prefetch(h.start, h.end-h.start)
	}
	h.run = 0
}

// readLocalHeaders fills in each entry's local header length and checks that
// every record lies inside the file, its local header where the directory
// says. Headers are read in place from a Mapper, or into one buffer of
// bufLen bytes (grown only for a local name longer than every central one).
// While the records come in offset order (as writers put them) it also checks
// that none overlaps another or the central directory cd; inOrder is false
// when they do not, and checkOverlap must then sort them.
func (z *Reader) readLocalHeaders(src source, bufLen int, cd span) (inOrder bool, err error) {
	var rec Record
	var buf []byte
	if src.mem == nil {
		buf = make([]byte, bufLen)
	}
	ov := overlaps{cd: cd}
	inOrder = true
	lastStart := int64(0)
	for i := range z.ents {
		_ = z.parse(int(z.ents[i].cd), &rec)
		// Read the header and, speculatively, a name as long as the central one.
		h, err := src.bytes(rec.HeaderOffset, min(localLen+int64(len(rec.Name)), z.src.size-rec.HeaderOffset), buf)
		if err != nil {
			return false, fmt.Errorf("record %q: local header: %w", rec.Name, err)
		}
		dataOff, nameLen, err := z.checkLocal(i, &rec, h)
		if err != nil {
			return false, err
		}
		ln := h[localLen:]
		if len(ln) != nameLen {
			if ln, err = src.bytes(rec.HeaderOffset+localLen, int64(nameLen), buf); err != nil {
				return false, fmt.Errorf("record %q: local name: %w", rec.Name, err)
			}
			if src.mem == nil {
				buf = ln[:cap(ln)] // keep the buffer if it grew
			}
		}
		if string(ln) != rec.Name { // compared without a copy
			if z.localNames == nil {
				z.localNames = map[int]string{}
			}
			z.localNames[i] = string(ln)
		}
		z.ents[i].local = uint32(dataOff - rec.HeaderOffset) // at most 30 + 2×65535
		rec.DataOffset = dataOff
		if inOrder {
			if i > 0 && rec.HeaderOffset < lastStart {
				inOrder = false // checkOverlap sorts and checks them all
				continue
			}
			lastStart = rec.HeaderOffset
			if err := ov.add(span{rec.HeaderOffset, rec.DataOffset + rec.CompressedSize, rec.Name}); err != nil {
				return false, err
			}
		}
	}
	if inOrder {
		return true, ov.finish()
	}
	return false, nil
}

// checkLocal checks record i's local header h (rec is its central record; h
// holds the fixed header and, when the file is long enough, as many bytes of
// name as the central name has) and returns the offset of the record's data
// and the length of the local name.
func (z *Reader) checkLocal(i int, rec *Record, h []byte) (dataOff int64, nameLen int, err error) {
	if len(h) < localLen {
		return -1, 0, formatErr(rec.HeaderOffset, "record %q: local header past the end of the file", rec.Name)
	}
	if le.Uint32(h) != sigLocal {
		return -1, 0, formatErr(rec.HeaderOffset, "record %d %q: bad local header signature", i, rec.Name)
	}
	nlen, xlen := int64(le.Uint16(h[26:])), int64(le.Uint16(h[28:]))
	if nlen > int64(z.lim.MaxNameLen) {
		return -1, 0, fmt.Errorf("%w: offset %d: local name of %d bytes (limit %d)", ErrLimit, rec.HeaderOffset, nlen, z.lim.MaxNameLen)
	}
	dataOff = rec.HeaderOffset + localLen + nlen + xlen
	if err := z.checkCentral(rec); err != nil {
		return -1, 0, err
	}
	if dataOff > z.src.size-rec.CompressedSize {
		return -1, 0, formatErr(rec.HeaderOffset, "record %q: %d bytes of data at %d run past the end of the file", rec.Name, rec.CompressedSize, dataOff)
	}
	return dataOff, int(nlen), nil
}

// span is the byte range [start, end) of a record (local header and data) or
// of the central directory.
type span struct {
	start, end int64
	name       string
}

// checkOverlap checks that no two spans, the records' and the central
// directory's, share bytes.
func (z *Reader) checkOverlap(cd span) error {
	var rec Record
	return checkOverlap(len(z.ents), func(i int) span {
		rec, _ = z.At(i) // read at open: cannot fail
		return span{rec.HeaderOffset, rec.DataOffset + rec.CompressedSize, rec.Name}
	}, cd)
}

// checkOverlap checks that no two of the n spans at(i) and cd share bytes:
// sorted by start (records of equal start in directory order, the directory
// after records starting where it does), each must start at or after the end
// of the one before. Spans already in order take one pass and no allocation;
// others are sorted first.
func checkOverlap(n int, at func(i int) span, cd span) error {
	var order []int32
	for i, prev := 0, int64(0); i < n; i++ {
		start := at(i).start
		if i > 0 && start < prev {
			order = make([]int32, n)
			starts := make([]int64, n)
			for j := range order {
				order[j], starts[j] = int32(j), at(j).start
			}
			slices.SortStableFunc(order, func(a, b int32) int { return cmp.Compare(starts[a], starts[b]) })
			break
		}
		prev = start
	}
	ov := overlaps{cd: cd}
	for k := range n {
		i := k
		if order != nil {
			i = int(order[k])
		}
		if err := ov.add(at(i)); err != nil {
			return err
		}
	}
	return ov.finish()
}

// overlaps checks spans given in order of start for overlap, placing the
// central directory cd among them: before the first record that starts after
// it, after those that start where it does.
type overlaps struct {
	cd, prev span
	cdDone   bool
	n        int // spans checked
}

// add checks record span s, which starts at or after every span added before.
func (o *overlaps) add(s span) error {
	if !o.cdDone && o.cd.start < s.start {
		if err := o.step(o.cd); err != nil {
			return err
		}
		o.cdDone = true
	}
	return o.step(s)
}

// finish checks the central directory if no record starts after it.
func (o *overlaps) finish() error {
	if !o.cdDone {
		o.cdDone = true
		return o.step(o.cd)
	}
	return nil
}

func (o *overlaps) step(s span) error {
	if o.n > 0 && s.start < o.prev.end {
		// The names may view a mapping: the message copies them.
		return fmt.Errorf("%w: %q [%d,%d) and %q [%d,%d)", ErrOverlap,
			o.prev.name, o.prev.start, o.prev.end, s.name, s.start, s.end)
	}
	o.prev = s
	o.n++
	return nil
}

// Records returns the records in central directory order. The slice is
// shared; it is built on the first call, with names of its own (copied when
// the Reader views a Mapper's memory). On a NewLazyReader, building it reads
// every local header, and a record whose header fails its check has a
// DataOffset of -1 (At tells why).
func (z *Reader) Records() []*Record {
	z.recordsOnce.Do(func() {
		recs := make([]Record, len(z.ents))
		ptrs := make([]*Record, len(z.ents))
		var names []byte
		if z.views() {
			total := 0
			for i := range z.ents {
				total += len(z.NameAt(i))
			}
			names = make([]byte, 0, total)
		}
		for i := range recs {
			recs[i] = z.at(i)
			if z.views() {
				n := len(names)
				names = append(names, recs[i].Name...)
				_, local := z.localNames[i]
				// names never grows past its capacity, so earlier views stay valid.
				recs[i].Name = unsafe.String(unsafe.SliceData(names[n:]), len(recs[i].Name))
				if !local {
					recs[i].LocalName = recs[i].Name
				}
			}
			ptrs[i] = &recs[i]
		}
		z.records = ptrs
	})
	return z.records
}

// Lookup returns the first record with the given full name, or nil. The
// first call indexes every name; for a few names, Find costs less. On a
// NewLazyReader it builds the Records list, reading every local header.
func (z *Reader) Lookup(name string) *Record {
	if i := z.LookupIndex(name); i >= 0 {
		return z.Records()[i]
	}
	return nil
}

// LookupIndex returns the position of the first record with the given full
// name, or -1, through the index Lookup builds (but not the Records list).
func (z *Reader) LookupIndex(name string) int {
	z.index.Do(z.buildIndex)
	if i, ok := z.byName[name]; ok {
		return int(i)
	}
	return -1
}

// Index returns the position of the first record with the given full name,
// or -1, by a scan of the directory (no index is built).
func (z *Reader) Index(name string) int {
	for i := range z.ents {
		if z.NameAt(i) == name {
			return i
		}
	}
	return -1
}

// Find returns the first record with the given full name, or nil, by a scan
// of the directory (no index is built, nor the list Records returns). On a
// NewLazyReader a record whose local header fails its check has a
// DataOffset of -1 (At tells why).
func (z *Reader) Find(name string) *Record {
	i := z.Index(name)
	if i < 0 {
		return nil
	}
	rec := z.at(i)
	// The caller's string, equal to the directory's: never a view of a mapping.
	if rec.LocalName == rec.Name {
		rec.LocalName = name
	}
	rec.Name = name
	return &rec
}

// Duplicates returns names that occur more than once (after the first), in
// directory order. PyTorch's reader would pick one of them unpredictably.
func (z *Reader) Duplicates() []string {
	z.index.Do(z.buildIndex)
	return z.dups
}

// buildIndex indexes the records' positions by name, last record first, so
// that each name ends up with its first record in one map operation per
// record; a map that did not grow means a duplicate name, listed (rarely,
// copied) in a second pass. The map's keys view the directory, which the
// Reader holds (a Mapper's memory: the Reader is not used once it is gone).
func (z *Reader) buildIndex() {
	z.byName = make(map[string]int32, len(z.ents))
	dup := false
	for i := len(z.ents) - 1; i >= 0; i-- {
		n := len(z.byName)
		z.byName[z.NameAt(i)] = int32(i)
		dup = dup || len(z.byName) == n
	}
	if dup {
		for i := range z.ents {
			if name := z.NameAt(i); z.byName[name] != int32(i) {
				z.dups = append(z.dups, strings.Clone(name))
			}
		}
	}
}

// Prefix returns the top-level folder of entry #0 ("archive" for
// "archive/data.pkl"), as PyTorch's reader does; ErrNoPrefix if it has none.
func (z *Reader) Prefix() (string, error) {
	if len(z.ents) == 0 {
		return "", fmt.Errorf("%w: archive is empty", ErrNoPrefix)
	}
	name := z.NameAt(0)
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "", fmt.Errorf("%w: %q", ErrNoPrefix, name)
	}
	return strings.Clone(name[:i]), nil
}

// CheckPrefix reports, like PyTorch's getAllRecords, an ErrNoPrefix error
// naming the first record that is not under Prefix()/.
func (z *Reader) CheckPrefix() error {
	p, err := z.Prefix()
	if err != nil {
		return err
	}
	p += "/"
	for i := range z.ents {
		if name := z.NameAt(i); !strings.HasPrefix(name, p) {
			return fmt.Errorf("%w: %q is not under %q", ErrNoPrefix, name, p)
		}
	}
	return nil
}

// Size returns the archive's size in bytes.
func (z *Reader) Size() int64 { return z.src.size }

// Flagged reports whether the record carries the encryption, strong-encryption
// or patch-data flag bits (0, 6, 5), which other zip readers refuse and PyTorch ignores.
func (rec *Record) Flagged() bool { return rec.Flags&(1|1<<5|1<<6) != 0 }

// OpenRaw returns the record's bytes as stored in the file (compressed if it is
// deflated), whatever its flags say.
func (rec *Record) OpenRaw() *io.SectionReader {
	var r io.ReaderAt
	if rec.z != nil {
		r = rec.z.src.r
	}
	return io.NewSectionReader(r, rec.DataOffset, rec.CompressedSize)
}

// Open returns a reader of the record's uncompressed bytes. Deflated records are
// inflated on the fly; reading past the declared Size, or a stream that ends
// early, gives an ErrFormat error.
//
// Like PyTorch's reader, Open ignores the encryption and patch flag bits (see
// Flagged): torch.load reads such records as plain data (CVE-2025-1945), so a
// loader or scanner that skipped them would miss what PyTorch runs. Truly
// encrypted data then fails Verify.
func (rec *Record) Open() (io.Reader, error) {
	if rec.DataOffset < 0 {
		return nil, fmt.Errorf("%w: record %q: unreadable local header", ErrFormat, rec.Name)
	}
	raw := rec.OpenRaw()
	switch rec.Method {
	case Store:
		return raw, nil
	case Deflate:
		lim := DefaultLimits.MaxRecordSize
		if rec.z != nil {
			lim = rec.z.lim.MaxRecordSize
		}
		if rec.Size > lim {
			return nil, fmt.Errorf("%w: record %q inflates to %d bytes (limit %d)", ErrLimit, rec.Name, rec.Size, lim)
		}
		if rec.Size/maxDeflateRatio > rec.CompressedSize {
			return nil, fmt.Errorf("%w: record %q claims %d bytes from %d compressed", ErrLimit, rec.Name, rec.Size, rec.CompressedSize)
		}
		return &inflater{fr: flate.NewReader(raw), left: rec.Size, name: rec.Name}, nil
	}
	return nil, fmt.Errorf("record %q: %w %d", rec.Name, ErrMethod, rec.Method)
}

// inflater yields exactly `left` bytes of a deflate stream.
type inflater struct {
	fr   io.ReadCloser
	left int64
	name string
	err  error
}

func (f *inflater) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	if f.left == 0 {
		// the stream must end here
		var one [1]byte
		if n, err := f.fr.Read(one[:]); n > 0 {
			f.err = fmt.Errorf("%w: record %q inflates past its declared size", ErrFormat, f.name)
			return 0, f.err
		} else if err != nil && err != io.EOF {
			f.err = fmt.Errorf("%w: record %q: %v", ErrFormat, f.name, err)
			return 0, f.err
		}
		f.err = io.EOF
		return 0, io.EOF
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.fr.Read(p)
	f.left -= int64(n)
	if err == io.EOF && f.left > 0 {
		f.err = fmt.Errorf("%w: record %q: deflate stream ends %d bytes early", ErrFormat, f.name, f.left)
		return n, f.err
	}
	if err != nil && err != io.EOF {
		f.err = fmt.Errorf("%w: record %q: %v", ErrFormat, f.name, err)
		return n, f.err
	}
	return n, nil
}

// ReadAll returns the record's uncompressed bytes.
func (rec *Record) ReadAll() ([]byte, error) {
	rd, err := rec.Open()
	if err != nil {
		return nil, err
	}
	b := make([]byte, rec.Size)
	if _, err := io.ReadFull(rd, b); err != nil {
		return nil, fmt.Errorf("record %q: %w", rec.Name, err)
	}
	if _, err := rd.Read(make([]byte, 1)); err != io.EOF && rec.Method == Deflate {
		return nil, fmt.Errorf("%w: record %q inflates past its declared size", ErrFormat, rec.Name)
	}
	return b, nil
}

// Verify reads the record and checks its CRC-32 (ErrChecksum on mismatch).
// Files written with PyTorch's CRC disabled (≥ 2.6, set_crc32_options) fail it.
func (rec *Record) Verify() error {
	rd, err := rec.Open()
	if err != nil {
		return err
	}
	h := crc32.NewIEEE()
	n, err := io.Copy(h, rd)
	if err != nil {
		return fmt.Errorf("record %q: %w", rec.Name, err)
	}
	if n != rec.Size {
		return fmt.Errorf("%w: record %q: %d bytes, directory says %d", ErrFormat, rec.Name, n, rec.Size)
	}
	if got := h.Sum32(); got != rec.CRC32 {
		return fmt.Errorf("%w: record %q: CRC-32 %08x, directory says %08x", ErrChecksum, rec.Name, got, rec.CRC32)
	}
	return nil
}
