package zipfile

import (
	"cmp"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
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
type Reader struct {
	records []*Record
	// byName and dups are built on the first Lookup or Duplicates: an open
	// that only needs a few names (Find) never hashes 20,000 of them.
	index  sync.Once
	byName map[string]*Record
	dups   []string
	r      io.ReaderAt
	size   int64
	lim    Limits
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

func readAt(r io.ReaderAt, size, off, n int64) ([]byte, error) {
	return readInto(r, size, off, n, nil)
}

// readInto is readAt reading into buf, which it grows (by reallocating) when it
// is shorter than n; it returns buf[:n].
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

// NewReaderLimits is NewReader with explicit limits.
//
// Reading the directory costs a handful of allocations per archive, not per
// record: the records live in one slice, their names are substrings of the
// central directory as read, and the local headers are read into one reused
// buffer. Records, names and the central directory's bytes stay in memory as
// long as any record is referenced.
func NewReaderLimits(r io.ReaderAt, size int64, lim Limits) (*Reader, error) {
	if size < endLen {
		return nil, formatErr(0, "file of %d bytes is too short", size)
	}
	// The end record is in the last 22 + 65535 bytes (it may be followed by a comment).
	tail := min(size, endLen+max16)
	tailOff := size - tail
	buf, err := readAt(r, size, tailOff, tail)
	if err != nil {
		return nil, err
	}
	// bytesAt returns n bytes at off, from the tail already read when it holds them.
	bytesAt := func(off, n int64) ([]byte, error) {
		if off >= tailOff && off <= size && n >= 0 && n <= size-off {
			return buf[off-tailOff : off-tailOff+n], nil
		}
		return readAt(r, size, off, n)
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
	if entries > int64(lim.MaxEntries) {
		return nil, fmt.Errorf("%w: %d entries (limit %d)", ErrLimit, entries, lim.MaxEntries)
	}
	if entries*centralLen > cdSize {
		return nil, formatErr(cdOff, "%d entries cannot fit in a %d-byte central directory", entries, cdSize)
	}
	if pf, ok := r.(Prefetcher); ok {
		pf.Prefetch(cdOff, cdSize)
	}
	cdb, err := bytesAt(cdOff, cdSize)
	if err != nil {
		return nil, err
	}
	// Every name is a substring of the directory, viewed as a string without
	// a second copy. This is sound because cdb is never written again: it is
	// either a buffer readAt just filled or a slice of the tail buffer buf,
	// which nothing writes to after the read above.
	cd := unsafe.String(unsafe.SliceData(cdb), len(cdb))
	z := &Reader{r: r, size: size, lim: lim}
	recs := make([]Record, entries)
	z.records = make([]*Record, entries)
	maxName := 0
	p := 0
	for i := range recs {
		at := cdOff + int64(p)
		if len(cd)-p < centralLen || le.Uint32(cdb[p:]) != sigCentral {
			return nil, formatErr(at, "central directory entry %d: bad signature", i)
		}
		h := cdb[p : p+centralLen]
		nlen, xlen, clen := int(le.Uint16(h[28:])), int(le.Uint16(h[30:])), int(le.Uint16(h[32:]))
		if nlen > lim.MaxNameLen {
			return nil, fmt.Errorf("%w: offset %d: name of %d bytes (limit %d)", ErrLimit, at, nlen, lim.MaxNameLen)
		}
		if len(cd)-p-centralLen < nlen+xlen+clen {
			return nil, formatErr(at, "central directory entry %d runs past the directory", i)
		}
		extra := cdb[p+centralLen+nlen : p+centralLen+nlen+xlen]
		// Field by field: assigning a whole Record literal costs a bulk
		// write barrier per record while the GC runs.
		rec := &recs[i]
		rec.Name = cd[p+centralLen : p+centralLen+nlen]
		rec.Flags = le.Uint16(h[8:])
		rec.Method = le.Uint16(h[10:])
		rec.CRC32 = le.Uint32(h[16:])
		rec.CompressedSize = int64(le.Uint32(h[20:]))
		rec.Size = int64(le.Uint32(h[24:]))
		rec.HeaderOffset = int64(le.Uint32(h[42:]))
		rec.z = z
		if err := rec.applyZip64(extra, h); err != nil {
			return nil, fmt.Errorf("%w: offset %d: record %q: %v", ErrFormat, at, rec.Name, err)
		}
		p += centralLen + nlen + xlen + clen
		maxName = max(maxName, nlen)
		z.records[i] = rec
	}
	if err := z.readLocalHeaders(cdOff, cdSize, localLen+maxName); err != nil {
		return nil, err
	}
	return z, nil
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

// prefetchHeaders asks pf for the runs of local headers, in file order, that
// lie less than prefetchGap bytes apart.
func prefetchHeaders(pf Prefetcher, recs []*Record) {
	start, end, n := int64(0), int64(0), 0
	flush := func() {
		if n > 1 {
			pf.Prefetch(start, end-start)
		}
	}
	for _, rec := range recs {
		off := rec.HeaderOffset
		hend := off + localLen + int64(len(rec.Name))
		if n > 0 && off >= end && off-end < prefetchGap {
			end, n = hend, n+1
			continue
		}
		flush()
		start, end, n = off, hend, 1
	}
	flush()
}

// readLocalHeaders fills in LocalName and DataOffset and checks that every
// record lies inside the file, before the central directory, without overlap.
// Every header is read into one buffer of bufLen bytes (grown only for a
// local name longer than every central one).
func (z *Reader) readLocalHeaders(cdOff, cdSize int64, bufLen int) error {
	if pf, ok := z.r.(Prefetcher); ok {
		prefetchHeaders(pf, z.records)
	}
	buf := make([]byte, bufLen)
	for i, rec := range z.records {
		// Read the header and, speculatively, a name as long as the central one.
		h, err := readInto(z.r, z.size, rec.HeaderOffset, min(localLen+int64(len(rec.Name)), z.size-rec.HeaderOffset), buf)
		if err != nil {
			return fmt.Errorf("record %q: local header: %w", rec.Name, err)
		}
		if len(h) < localLen {
			return formatErr(rec.HeaderOffset, "record %q: local header past the end of the file", rec.Name)
		}
		if le.Uint32(h) != sigLocal {
			return formatErr(rec.HeaderOffset, "record %d %q: bad local header signature", i, rec.Name)
		}
		nlen, xlen := int64(le.Uint16(h[26:])), int64(le.Uint16(h[28:]))
		if nlen > int64(z.lim.MaxNameLen) {
			return fmt.Errorf("%w: offset %d: local name of %d bytes (limit %d)", ErrLimit, rec.HeaderOffset, nlen, z.lim.MaxNameLen)
		}
		ln := h[localLen:]
		if int64(len(ln)) != nlen {
			if ln, err = readInto(z.r, z.size, rec.HeaderOffset+localLen, nlen, buf); err != nil {
				return fmt.Errorf("record %q: local name: %w", rec.Name, err)
			}
			buf = ln[:cap(ln)] // keep the buffer if it grew
		}
		rec.LocalName = rec.Name
		if string(ln) != rec.Name { // compared without a copy
			rec.LocalName = string(ln)
		}
		rec.DataOffset = rec.HeaderOffset + localLen + nlen + xlen
		if rec.CompressedSize > z.size || rec.DataOffset > z.size-rec.CompressedSize {
			return formatErr(rec.HeaderOffset, "record %q: %d bytes of data at %d run past the end of the file", rec.Name, rec.CompressedSize, rec.DataOffset)
		}
		if rec.Method == Store && rec.CompressedSize != rec.Size && !rec.Flagged() {
			return formatErr(rec.HeaderOffset, "record %q: stored, but compressed size %d differs from size %d", rec.Name, rec.CompressedSize, rec.Size)
		}
	}
	return z.checkOverlap(span{cdOff, cdOff + cdSize, "central directory"})
}

// span is the byte range [start, end) of a record (local header and data) or
// of the central directory.
type span struct {
	start, end int64
	name       string
}

// checkOverlap checks that no two spans, the records' and the central
// directory's, share bytes: sorted by start (records of equal start in
// directory order, the directory after records starting where it does), each
// must start at or after the end of the one before. Writers put the records in
// offset order, which takes one pass and no allocation; other orders are
// sorted first.
func (z *Reader) checkOverlap(cd span) error {
	order := z.records
	for i := 1; i < len(order); i++ {
		if order[i].HeaderOffset < order[i-1].HeaderOffset {
			order = slices.Clone(order)
			slices.SortStableFunc(order, func(a, b *Record) int { return cmp.Compare(a.HeaderOffset, b.HeaderOffset) })
			break
		}
	}
	var prev span
	first, cdDone := true, false
	step := func(s span) error {
		if !first && s.start < prev.end {
			return fmt.Errorf("%w: %q [%d,%d) and %q [%d,%d)", ErrOverlap,
				prev.name, prev.start, prev.end, s.name, s.start, s.end)
		}
		prev, first = s, false
		return nil
	}
	for _, rec := range order {
		if !cdDone && cd.start < rec.HeaderOffset {
			if err := step(cd); err != nil {
				return err
			}
			cdDone = true
		}
		if err := step(span{rec.HeaderOffset, rec.DataOffset + rec.CompressedSize, rec.Name}); err != nil {
			return err
		}
	}
	if !cdDone {
		return step(cd)
	}
	return nil
}

// Records returns the records in central directory order. The slice is shared.
func (z *Reader) Records() []*Record { return z.records }

// Lookup returns the first record with the given full name, or nil. The
// first call indexes every name; for a few names, Find costs less.
func (z *Reader) Lookup(name string) *Record {
	z.index.Do(z.buildIndex)
	return z.byName[name]
}

// Find returns the first record with the given full name, or nil, by a scan
// of the directory (no index is built).
func (z *Reader) Find(name string) *Record {
	for _, r := range z.records {
		if r.Name == name {
			return r
		}
	}
	return nil
}

// Duplicates returns names that occur more than once (after the first), in
// directory order. PyTorch's reader would pick one of them unpredictably.
func (z *Reader) Duplicates() []string {
	z.index.Do(z.buildIndex)
	return z.dups
}

// buildIndex indexes the records by name, last record first, so that each
// name ends up with its first record in one map operation per record; a map
// that did not grow means a duplicate name, listed (rarely) in a second pass.
func (z *Reader) buildIndex() {
	z.byName = make(map[string]*Record, len(z.records))
	dup := false
	for i := len(z.records) - 1; i >= 0; i-- {
		n := len(z.byName)
		z.byName[z.records[i].Name] = z.records[i]
		dup = dup || len(z.byName) == n
	}
	if dup {
		for _, r := range z.records {
			if z.byName[r.Name] != r {
				z.dups = append(z.dups, r.Name)
			}
		}
	}
}

// Prefix returns the top-level folder of entry #0 ("archive" for
// "archive/data.pkl"), as PyTorch's reader does; ErrNoPrefix if it has none.
func (z *Reader) Prefix() (string, error) {
	if len(z.records) == 0 {
		return "", fmt.Errorf("%w: archive is empty", ErrNoPrefix)
	}
	name := z.records[0].Name
	i := strings.IndexByte(name, '/')
	if i < 0 {
		return "", fmt.Errorf("%w: %q", ErrNoPrefix, name)
	}
	return name[:i], nil
}

// CheckPrefix reports, like PyTorch's getAllRecords, an ErrNoPrefix error
// naming the first record that is not under Prefix()/.
func (z *Reader) CheckPrefix() error {
	p, err := z.Prefix()
	if err != nil {
		return err
	}
	p += "/"
	for _, r := range z.records {
		if !strings.HasPrefix(r.Name, p) {
			return fmt.Errorf("%w: %q is not under %q", ErrNoPrefix, r.Name, p)
		}
	}
	return nil
}

// Size returns the archive's size in bytes.
func (z *Reader) Size() int64 { return z.size }

// Flagged reports whether the record carries the encryption, strong-encryption
// or patch-data flag bits (0, 6, 5), which other zip readers refuse and PyTorch ignores.
func (rec *Record) Flagged() bool { return rec.Flags&(1|1<<5|1<<6) != 0 }

// OpenRaw returns the record's bytes as stored in the file (compressed if it is
// deflated), whatever its flags say.
func (rec *Record) OpenRaw() *io.SectionReader {
	var r io.ReaderAt
	if rec.z != nil {
		r = rec.z.r
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
