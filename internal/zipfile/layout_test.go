package zipfile

import (
	"archive/zip"
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// rawEntry is one stored record for rawZip: its central and local names differ
// when local says so.
type rawEntry struct {
	name, local string
	data        []byte
}

// rawZip lays out, byte by byte as APPNOTE.TXT 4.3.7/4.3.12/4.3.16 specify,
// the local records in entries' order and then a central directory listing
// them in the order given (a permutation of entry indices).
func rawZip(entries []rawEntry, order []int) []byte {
	var b []byte
	offs := make([]int, len(entries))
	for i, e := range entries {
		offs[i] = len(b)
		n := uint32(len(e.data))
		b = append(b, cat(le32(sigLocal), le16(20), le16(0), le16(Store), le32(0), le32(crc32.ChecksumIEEE(e.data)), le32(n), le32(n),
			le16(uint16(len(e.local))), le16(0), []byte(e.local), e.data)...)
	}
	cdOff := len(b)
	for _, i := range order {
		e := entries[i]
		n := uint32(len(e.data))
		b = append(b, cat(le32(sigCentral), le16(20), le16(20), le16(0), le16(Store), le32(0), le32(crc32.ChecksumIEEE(e.data)), le32(n), le32(n),
			le16(uint16(len(e.name))), le16(0), le16(0), le16(0), le16(0), le32(0), le32(uint32(offs[i])), []byte(e.name))...)
	}
	return append(b, cat(le32(sigEnd), le16(0), le16(0), le16(uint16(len(order))), le16(uint16(len(order))),
		le32(uint32(len(b)-cdOff)), le32(uint32(cdOff)), le16(0))...)
}

// sameAsArchiveZip checks the records against Go's archive/zip, an independent
// reader: names in directory order, data offsets from the local headers.
func sameAsArchiveZip(t *testing.T, b []byte, z *Reader) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("archive/zip: %v", err)
	}
	recs := z.Records()
	if len(recs) != len(zr.File) {
		t.Fatalf("%d records, archive/zip %d", len(recs), len(zr.File))
	}
	for i, f := range zr.File {
		off, err := f.DataOffset()
		if err != nil {
			t.Fatalf("archive/zip %q: %v", f.Name, err)
		}
		if recs[i].Name != f.Name || recs[i].DataOffset != off || recs[i].Size != int64(f.UncompressedSize64) || recs[i].CRC32 != f.CRC32 {
			t.Errorf("record %d: %q at %d (%d bytes, crc %08x); archive/zip %q at %d (%d bytes, crc %08x)", i,
				recs[i].Name, recs[i].DataOffset, recs[i].Size, recs[i].CRC32, f.Name, off, f.UncompressedSize64, f.CRC32)
		}
	}
}

// TestLocalNames reads records whose local name differs from the central one
// in content or length, longer than every central name included (the local
// header buffer must grow) and empty.
func TestLocalNames(t *testing.T) {
	entries := []rawEntry{
		{"a/data.pkl", "a/data.pkl", []byte("same")},
		{"a/x", "a/a-local-name-longer-than-every-central-name", []byte("longer")},
		{"a/a-long-central-name", "a/s", []byte("shorter, and the bytes after it are data")},
		{"a/y", "a/z", []byte("same length")},
		{"a/e", "", []byte("empty local name")},
		{"a/last", "a/last", nil},
	}
	b := rawZip(entries, []int{0, 1, 2, 3, 4, 5})
	z, err := open(b)
	if err != nil {
		t.Fatal(err)
	}
	sameAsArchiveZip(t, b, z)
	for i, r := range z.Records() {
		if r.LocalName != entries[i].local {
			t.Errorf("record %d: local name %q, wrote %q", i, r.LocalName, entries[i].local)
		}
		got, err := r.ReadAll()
		if err != nil || !bytes.Equal(got, entries[i].data) {
			t.Errorf("record %d: %q, %v; wrote %q", i, got, err, entries[i].data)
		}
		if err := r.Verify(); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
}

// TestDirectoryOrder reads a directory that lists the records out of offset
// order, and the overlaps such a directory can hide.
func TestDirectoryOrder(t *testing.T) {
	var entries []rawEntry
	for i := range 5 {
		entries = append(entries, rawEntry{"a/" + strconv.Itoa(i), "a/" + strconv.Itoa(i), bytes.Repeat([]byte{byte('0' + i)}, 10+i)})
	}
	for _, order := range [][]int{{0, 1, 2, 3, 4}, {3, 0, 4, 1, 2}, {4, 3, 2, 1, 0}} {
		b := rawZip(entries, order)
		z, err := open(b)
		if err != nil {
			t.Fatalf("order %v: %v", order, err)
		}
		sameAsArchiveZip(t, b, z)
		for i, r := range z.Records() {
			if got, err := r.ReadAll(); err != nil || !bytes.Equal(got, entries[order[i]].data) {
				t.Errorf("order %v record %d: %q, %v", order, i, got, err)
			}
		}

		ce := centralEntries(b)
		pos := slices.Index(order, 2)     // directory entry of a/2
		first := slices.Index(order, 3)   // and of a/3
		lastRec := slices.Index(order, 4) // a/4, the record just before the directory
		// a/2's directory entry points at a/3's local header
		bad := bytes.Clone(b)
		copy(bad[ce[pos]+42:ce[pos]+46], bad[ce[first]+42:ce[first]+46])
		_, err = open(bad)
		if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), `"a/2"`) || !strings.Contains(err.Error(), `"a/3"`) {
			t.Errorf("order %v, a/2 at a/3's header: %v", order, err)
		}
		// a/0's data runs into a/1's header
		bad = bytes.Clone(b)
		p0 := ce[slices.Index(order, 0)]
		binary.LittleEndian.PutUint32(bad[p0+20:], 15)
		binary.LittleEndian.PutUint32(bad[p0+24:], 15)
		_, err = open(bad)
		if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), `"a/0"`) || !strings.Contains(err.Error(), `"a/1"`) {
			t.Errorf("order %v, a/0 into a/1: %v", order, err)
		}
		// a/4's data runs into the central directory
		bad = bytes.Clone(b)
		binary.LittleEndian.PutUint32(bad[ce[lastRec]+20:], 20)
		binary.LittleEndian.PutUint32(bad[ce[lastRec]+24:], 20)
		_, err = open(bad)
		if !errors.Is(err, ErrOverlap) || !strings.Contains(err.Error(), `"a/4"`) || !strings.Contains(err.Error(), `"central directory"`) {
			t.Errorf("order %v, a/4 into the directory: %v", order, err)
		}
	}
}

// TestDuplicates checks that Lookup finds the first of records sharing a name
// and Duplicates lists the later ones in directory order.
func TestDuplicates(t *testing.T) {
	names := []string{"a/x", "a/y", "a/x", "a/z", "a/x", "a/y"}
	var entries []rawEntry
	order := make([]int, len(names))
	for i, n := range names {
		entries = append(entries, rawEntry{n, n, []byte{byte(i)}})
		order[i] = i
	}
	b := rawZip(entries, order)
	z, err := open(b)
	if err != nil {
		t.Fatal(err)
	}
	sameAsArchiveZip(t, b, z)
	if got, want := z.Duplicates(), []string{"a/x", "a/x", "a/y"}; !slices.Equal(got, want) {
		t.Errorf("Duplicates %q, want %q", got, want)
	}
	for _, first := range []int{0, 1, 3} {
		if r := z.Lookup(names[first]); r != z.Records()[first] {
			t.Errorf("Lookup(%q) = %+v, want record %d", names[first], r, first)
		}
	}
	if z.Lookup("a/w") != nil {
		t.Error("Lookup of a missing name")
	}
	z, err = open(rawZip(entries[:2], []int{1, 0}))
	if err != nil {
		t.Fatal(err)
	}
	if d := z.Duplicates(); len(d) != 0 {
		t.Errorf("Duplicates %q without duplicates", d)
	}
}

// TestCheckOverlap compares checkOverlap with the definition, every pair of
// spans tested, on random layouts, in directory orders sorted by offset (one
// pass) and shuffled (sorted first).
func TestCheckOverlap(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 20000 {
		n := 1 + rng.IntN(8)
		recs := make([]Record, n)
		spans := make([]span, 0, n+1)
		for i := range recs {
			start := rng.Int64N(300)
			recs[i] = Record{Name: strconv.Itoa(i), HeaderOffset: start, DataOffset: start + localLen + rng.Int64N(10), CompressedSize: rng.Int64N(20)}
			spans = append(spans, span{start, recs[i].DataOffset + recs[i].CompressedSize, recs[i].Name})
		}
		cdStart := rng.Int64N(350)
		cd := span{cdStart, cdStart + centralLen*int64(n), "central directory"}
		spans = append(spans, cd)
		want := false
		for i := range spans {
			for j := range i {
				if max(spans[i].start, spans[j].start) < min(spans[i].end, spans[j].end) {
					want = true
				}
			}
		}
		ptrs := make([]*Record, n)
		for i := range recs {
			ptrs[i] = &recs[i]
		}
		if trial%2 == 0 {
			slices.SortStableFunc(ptrs, func(a, b *Record) int { return cmp.Compare(a.HeaderOffset, b.HeaderOffset) })
		}
		err := checkOverlap(len(ptrs), func(i int) span {
			return span{ptrs[i].HeaderOffset, ptrs[i].DataOffset + ptrs[i].CompressedSize, ptrs[i].Name}
		}, cd)
		if (err != nil) != want || (err != nil && !errors.Is(err, ErrOverlap)) {
			t.Fatalf("spans %v: %v, overlap %v", spans, err, want)
		}
	}
}

// TestOpenAllocs checks that opening does not allocate per record (it did
// three times per record: the record, its name and its local header).
func TestOpenAllocs(t *testing.T) {
	const n = 5000
	var buf bytes.Buffer
	zw := NewWriter(&buf, "archive")
	for i := range n {
		if err := zw.WriteRecord("data/"+strconv.Itoa(i), []byte{byte(i)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	for _, how := range []struct {
		name string
		r    io.ReaderAt
	}{{"ReadAt", bytes.NewReader(b)}, {"Mapper", mapped{bytes.NewReader(b), b}}} {
		allocs := testing.AllocsPerRun(5, func() {
			if _, err := NewReader(how.r, int64(len(b))); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > 10 {
			t.Errorf("%s: %v allocations to open %d records", how.name, allocs, n)
		}
	}
}
