package zipfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"strconv"
	"strings"
	"testing"
)

// recordingReaderAt notes the offsets of every read.
type recordingReaderAt struct {
	*bytes.Reader
	reads []int64
}

func (r *recordingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	r.reads = append(r.reads, off)
	return r.Reader.ReadAt(p, off)
}

func lazyEntries(n int) []rawEntry {
	var entries []rawEntry
	for i := range n {
		name := "a/" + strconv.Itoa(i)
		entries = append(entries, rawEntry{name, name, bytes.Repeat([]byte{byte('0' + i)}, 100+i)})
	}
	return entries
}

// NewLazyReader reads no local header at open; At reads one, and equals the
// eager reader's record (LocalName aside, which only the eager one reads).
func TestLazyReadsNoLocalHeaders(t *testing.T) {
	entries := lazyEntries(5)
	for i := range entries {
		entries[i].data = bytes.Repeat(entries[i].data, 200) // 100 KB: the tail read holds no header
	}
	b := rawZip(entries, []int{0, 1, 2, 3, 4})
	eager, err := NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	rr := &recordingReaderAt{Reader: bytes.NewReader(b)}
	z, err := NewLazyReader(rr, int64(len(b)), DefaultLimits)
	if err != nil {
		t.Fatal(err)
	}
	// (Reads start at the tail's 64 KiB and at the directory: never at a local header.)
	for _, off := range rr.reads {
		for _, r := range eager.Records() {
			if off == r.HeaderOffset {
				t.Errorf("lazy open read %q's local header", r.Name)
			}
		}
	}
	if len(rr.reads) == 0 || len(rr.reads) > 3 {
		t.Errorf("lazy open made %d reads (%v), want the tail and the directory", len(rr.reads), rr.reads)
	}
	for i, want := range eager.Records() {
		got, err := z.At(i)
		if err != nil {
			t.Fatal(err)
		}
		data, err := got.ReadAll()
		if err != nil || !bytes.Equal(data, entries[i].data) {
			t.Errorf("record %d: %q, %v", i, data, err)
		}
		w := *want
		got.z, w.z = nil, nil
		if got != w {
			t.Errorf("record %d: lazy %+v, eager %+v", i, got, w)
		}
	}
}

// A damaged local header fails only the record that has it, when it is asked
// for, with a located ErrFormat; Records and Find give it DataOffset -1, which
// Open refuses. The eager reader refuses the whole archive.
func TestLazyBadLocalHeader(t *testing.T) {
	entries := lazyEntries(5)
	good := rawZip(entries, []int{0, 1, 2, 3, 4})
	eager, err := NewReader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	h2 := eager.Records()[2].HeaderOffset
	dataEnd1 := eager.Records()[1].DataOffset + eager.Records()[1].CompressedSize
	cases := []struct {
		name string
		edit func(b []byte)
		want error
		at   string
	}{
		{"signature", func(b []byte) { b[h2] = 'X' }, ErrFormat, "bad local header signature"},
		// a local extra field that pushes record 2's data into record 3
		{"extra", func(b []byte) { binary.LittleEndian.PutUint16(b[h2+28:], 50) }, ErrOverlap, "runs past offset"},
		// a local name length past the limit
		{"name", func(b []byte) { binary.LittleEndian.PutUint16(b[h2+26:], 5000) }, ErrLimit, "local name of 5000 bytes"},
	}
	for _, c := range cases {
		b := bytes.Clone(good)
		c.edit(b)
		if _, err := NewReader(bytes.NewReader(b), int64(len(b))); !errors.Is(err, c.want) {
			t.Errorf("%s: eager open: %v, want %v", c.name, err, c.want)
		}
		z, err := NewLazyReader(mapped{bytes.NewReader(b), b}, int64(len(b)), DefaultLimits)
		if err != nil {
			t.Fatalf("%s: lazy open: %v", c.name, err)
		}
		for i := range z.Len() {
			_, err := z.At(i)
			if i != 2 && err != nil {
				t.Errorf("%s: record %d: %v", c.name, i, err)
			}
			if i == 2 && (!errors.Is(err, c.want) || !strings.Contains(err.Error(), c.at) || !strings.Contains(err.Error(), `"a/2"`) && !strings.Contains(err.Error(), strconv.FormatInt(h2, 10))) {
				t.Errorf("%s: record 2: %v, want %v saying %q and naming the record", c.name, err, c.want, c.at)
			}
		}
		if r := z.Records()[2]; r.DataOffset != -1 {
			t.Errorf("%s: Records()[2].DataOffset = %d, want -1", c.name, r.DataOffset)
		} else if _, err := r.Open(); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: Open of the bad record: %v", c.name, err)
		}
		if r := z.Find("a/2"); r == nil || r.DataOffset != -1 {
			t.Errorf("%s: Find: %+v", c.name, r)
		}
		if r := z.Find("a/1"); r == nil || r.DataOffset+r.CompressedSize != dataEnd1 {
			t.Errorf("%s: Find of a good record: %+v", c.name, r)
		}
	}
}

// Overlaps the central directory shows (records sharing a local header, data
// running into the next record even with a 30-byte header) fail the lazy
// open; a directory out of offset order is read eagerly.
func TestLazyOpenChecks(t *testing.T) {
	entries := lazyEntries(5)
	good := rawZip(entries, []int{0, 1, 2, 3, 4})
	ce := centralEntries(good)
	b := bytes.Clone(good)
	copy(b[ce[2]+42:ce[2]+46], b[ce[1]+42:ce[1]+46]) // a/2 at a/1's header
	if _, err := NewLazyReader(mapped{bytes.NewReader(b), b}, int64(len(b)), DefaultLimits); !errors.Is(err, ErrOverlap) {
		t.Errorf("shared header: %v", err)
	}
	b = bytes.Clone(good)
	binary.LittleEndian.PutUint32(b[ce[1]+20:], 400) // a/1's data runs through a/2
	binary.LittleEndian.PutUint32(b[ce[1]+24:], 400)
	if _, err := NewLazyReader(mapped{bytes.NewReader(b), b}, int64(len(b)), DefaultLimits); !errors.Is(err, ErrOverlap) {
		t.Errorf("long data: %v", err)
	}
	// out of order: every local header read at open, as NewReader does
	shuffled := rawZip(entries, []int{3, 0, 4, 1, 2})
	h := bytes.Clone(shuffled)
	eager, err := NewReader(bytes.NewReader(h), int64(len(h)))
	if err != nil {
		t.Fatal(err)
	}
	h[eager.Records()[4].HeaderOffset] = 'X' // a/2's header
	if _, err := NewLazyReader(mapped{bytes.NewReader(h), h}, int64(len(h)), DefaultLimits); !errors.Is(err, ErrFormat) {
		t.Errorf("out of order, bad header: lazy open gave %v", err)
	}
}
