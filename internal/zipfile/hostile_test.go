package zipfile

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testdataDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mapped is an in-memory archive read as NewReader reads a memory mapping:
// in place, as a Mapper.
type mapped struct {
	*bytes.Reader
	b []byte
}

func (m mapped) Mapped() []byte { return m.b }

// errDisagree means the two ways of reading an archive (copying through
// ReadAt, in place through Mapper) gave different results.
var errDisagree = errors.New("ReadAt and Mapper readers disagree")

// open reads b three ways: through ReadAt, in place as a Mapper, and lazily
// (NewLazyReader, local headers read by At). It returns the first reader, or
// an errDisagree error if the others differ from it: the Mapper reader in its
// error or in any record; the lazy one in any record, or by failing (at open
// or in some At) where the first succeeds or succeeding where it fails.
// Every test and the fuzzer compare them this way.
func open(b []byte) (*Reader, error) {
	z, err := NewReader(bytes.NewReader(b), int64(len(b)))
	zm, errm := NewReader(mapped{bytes.NewReader(b), b}, int64(len(b)))
	if (err == nil) != (errm == nil) || err != nil && err.Error() != errm.Error() {
		return nil, fmt.Errorf("%w: %v / %v", errDisagree, err, errm)
	}
	if err := sameLazy(b, z, err); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if z.Len() != zm.Len() || len(z.Records()) != z.Len() {
		return nil, fmt.Errorf("%w: %d / %d records", errDisagree, z.Len(), zm.Len())
	}
	for i, r := range z.Records() {
		m, err := zm.At(i)
		if err != nil {
			return nil, fmt.Errorf("%w: record %d: %v", errDisagree, i, err)
		}
		a, rm := *r, *zm.Records()[i]
		a.z, m.z, rm.z = nil, nil, nil
		if a != m || a != rm || zm.NameAt(i) != a.Name {
			return nil, fmt.Errorf("%w: record %d: %+v / %+v / %+v", errDisagree, i, a, m, rm)
		}
		if i >= 64 {
			continue // Find scans: checking every record would be quadratic
		}
		if f := zm.Find(a.Name); f == nil || f.DataOffset > a.DataOffset {
			return nil, fmt.Errorf("%w: Find(%q) = %+v", errDisagree, a.Name, f)
		}
	}
	return z, nil
}

// sameLazy checks a NewLazyReader of b against z (err), read eagerly.
func sameLazy(b []byte, z *Reader, err error) error {
	lz, lerr := NewLazyReader(mapped{bytes.NewReader(b), b}, int64(len(b)), DefaultLimits)
	if lerr != nil {
		if !errors.Is(lerr, ErrFormat) {
			return fmt.Errorf("%w: lazy open: %v is not ErrFormat", errDisagree, lerr)
		}
		if err == nil {
			return fmt.Errorf("%w: lazy open fails (%v), eager open succeeds", errDisagree, lerr)
		}
		return nil
	}
	var atErr error
	for i := range lz.Len() {
		r, err := lz.At(i)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				return fmt.Errorf("%w: lazy At(%d): %v is not ErrFormat", errDisagree, i, err)
			}
			atErr = err
			continue
		}
		if z == nil {
			continue
		}
		want := *z.Records()[i]
		r.z, want.z, want.LocalName = nil, nil, want.Name
		if r != want {
			return fmt.Errorf("%w: lazy record %d: %+v, eager %+v", errDisagree, i, r, want)
		}
	}
	if (err == nil) != (atErr == nil) {
		return fmt.Errorf("%w: eager open: %v; lazy: every At succeeds unless %v", errDisagree, err, atErr)
	}
	return nil
}

func TestTruncated(t *testing.T) {
	b := readFile(t, "writer_small.zip")
	for n := 0; n < len(b); n++ {
		if _, err := open(b[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		} else if !errors.Is(err, ErrFormat) {
			t.Fatalf("truncated to %d bytes: %v is not ErrFormat", n, err)
		}
	}
}

// centralEntries returns the offsets of the central directory headers.
func centralEntries(b []byte) []int {
	var out []int
	for i := 0; i+4 <= len(b); i++ {
		if binary.LittleEndian.Uint32(b[i:]) == sigCentral {
			out = append(out, i)
		}
	}
	return out
}

func TestOverlap(t *testing.T) {
	b := bytes.Clone(readFile(t, "writer_small.zip"))
	ce := centralEntries(b)
	// point entry 2's local header offset at entry 1's
	copy(b[ce[2]+42:ce[2]+46], b[ce[1]+42:ce[1]+46])
	_, err := open(b)
	if !errors.Is(err, ErrOverlap) || !errors.Is(err, ErrFormat) {
		t.Errorf("shared local header: %v", err)
	}
	// a record whose data runs into the next one
	b = bytes.Clone(readFile(t, "writer_small.zip"))
	binary.LittleEndian.PutUint32(b[ce[0]+20:], 200) // compressed size of data.pkl
	binary.LittleEndian.PutUint32(b[ce[0]+24:], 200)
	if _, err := open(b); !errors.Is(err, ErrOverlap) {
		t.Errorf("data into next record: %v", err)
	}
	// a record past the end of the file
	b = bytes.Clone(readFile(t, "writer_small.zip"))
	binary.LittleEndian.PutUint32(b[ce[0]+20:], 1<<30)
	binary.LittleEndian.PutUint32(b[ce[0]+24:], 1<<30)
	if _, err := open(b); !errors.Is(err, ErrFormat) {
		t.Errorf("data past the end: %v", err)
	}
	// a local header offset past the end
	b = bytes.Clone(readFile(t, "writer_small.zip"))
	binary.LittleEndian.PutUint32(b[ce[3]+42:], 0xfffffff0)
	if _, err := open(b); !errors.Is(err, ErrFormat) {
		t.Errorf("header past the end: %v", err)
	}
}

func TestLimits(t *testing.T) {
	b := readFile(t, "writer_many.zip")
	if _, err := NewReaderLimits(bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: 100, MaxNameLen: 100, MaxRecordSize: 1 << 20}); !errors.Is(err, ErrLimit) {
		t.Errorf("151 entries with limit 100: %v", err)
	}
	b = readFile(t, "writer_long.zip")
	if _, err := NewReaderLimits(bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: 100, MaxNameLen: 100, MaxRecordSize: 1 << 20}); !errors.Is(err, ErrLimit) {
		t.Errorf("210-byte name with limit 100: %v", err)
	}
	// an end record claiming more entries than the directory can hold
	b = bytes.Clone(readFile(t, "py_stream.zip"))
	end := bytes.LastIndex(b, []byte("PK\x05\x06"))
	binary.LittleEndian.PutUint16(b[end+8:], 60000)
	binary.LittleEndian.PutUint16(b[end+10:], 60000)
	if _, err := open(b); !errors.Is(err, ErrFormat) {
		t.Errorf("60000 entries in a tiny directory: %v", err)
	}
}

// rawDeflate builds, with Go's archive/zip, an archive holding one deflated
// record whose directory claims size bytes.
func rawDeflate(t *testing.T, payload []byte, size uint64) []byte {
	t.Helper()
	var comp bytes.Buffer
	fw, _ := flate.NewWriter(&comp, 9)
	fw.Write(payload)
	fw.Close()
	var out bytes.Buffer
	zw := zip.NewWriter(&out)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "a/b", Method: zip.Deflate, CRC32: crc32.ChecksumIEEE(payload),
		CompressedSize64: uint64(comp.Len()), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(comp.Bytes())
	zw.Close()
	return out.Bytes()
}

func TestDeflateBombs(t *testing.T) {
	zeros := make([]byte, 10<<20)
	// honest: 10 MiB of zeros, about 10 KiB compressed
	z, err := open(rawDeflate(t, zeros, uint64(len(zeros))))
	if err != nil {
		t.Fatal(err)
	}
	if err := z.Records()[0].Verify(); err != nil {
		t.Errorf("honest record: %v", err)
	}
	// the stream holds more than the directory admits
	z, err = open(rawDeflate(t, zeros, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Records()[0].ReadAll(); !errors.Is(err, ErrFormat) {
		t.Errorf("stream longer than declared: %v", err)
	}
	if err := z.Records()[0].Verify(); !errors.Is(err, ErrFormat) {
		t.Errorf("Verify of stream longer than declared: %v", err)
	}
	// the directory claims more than deflate can produce from the compressed bytes
	z, err = open(rawDeflate(t, []byte("hello"), 1<<29))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Records()[0].Open(); !errors.Is(err, ErrLimit) {
		t.Errorf("impossible ratio: %v", err)
	}
	// the stream ends early
	z, err = open(rawDeflate(t, []byte("hello, hello, hello"), 25))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Records()[0].ReadAll(); !errors.Is(err, ErrFormat) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("stream shorter than declared: %v", err)
	}
	// beyond MaxRecordSize
	b := rawDeflate(t, zeros, uint64(len(zeros)))
	z, err = NewReaderLimits(bytes.NewReader(b), int64(len(b)), Limits{MaxEntries: 10, MaxNameLen: 10, MaxRecordSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := z.Records()[0].Open(); !errors.Is(err, ErrLimit) {
		t.Errorf("over MaxRecordSize: %v", err)
	}
}

func TestNotZip(t *testing.T) {
	for _, b := range [][]byte{nil, []byte("PK\x03\x04"), bytes.Repeat([]byte{0}, 100), []byte("\x80\x02}q\x00.")} {
		if _, err := open(b); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v", b, err)
		}
	}
}

func FuzzReader(f *testing.F) {
	for _, dir := range []string{testdataDir, filepath.Join(testdataDir, "corpus")} {
		entries, err := os.ReadDir(dir)
		if err != nil {
			f.Fatal(err)
		}
		for _, e := range entries {
			if e.IsDir() || filepath.Ext(e.Name()) == ".json" || filepath.Ext(e.Name()) == ".picklescan" {
				continue
			}
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		z, err := open(b)
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error not ErrFormat: %v", err)
			}
			return
		}
		z.Prefix()
		for _, r := range z.Records() {
			if r.DataOffset < 0 || r.DataOffset+r.CompressedSize > int64(len(b)) {
				t.Fatalf("record %q out of bounds: %+v", r.Name, r)
			}
			if rd, err := r.Open(); err == nil {
				io.Copy(io.Discard, io.LimitReader(rd, 1<<20))
			}
			r.Verify()
		}
	})
}
