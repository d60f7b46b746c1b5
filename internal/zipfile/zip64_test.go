package zipfile

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"strconv"
	"testing"
)

// sparse is an io.ReaderAt of base zero bytes followed by tail.
type sparse struct {
	base int64
	tail []byte
}

func (s sparse) ReadAt(p []byte, off int64) (int, error) {
	n := 0
	for n < len(p) {
		o := off + int64(n)
		switch {
		case o < s.base:
			k := min(int64(len(p)-n), s.base-o)
			clear(p[n : n+int(k)])
			n += int(k)
		case o-s.base < int64(len(s.tail)):
			n += copy(p[n:], s.tail[o-s.base:])
		default:
			return n, io.EOF
		}
	}
	return n, nil
}

func le16(v uint16) []byte { return binary.LittleEndian.AppendUint16(nil, v) }
func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// TestZip64Offsets checks records whose local header lies past 4 GiB against
// the layout miniz (PyTorch's writer) produces there, spelled out byte by byte
// from its source: a ZIP64 extra field with the header offset before the FB
// padding, a 24-byte data descriptor, 0xffffffff offsets in the central
// directory with the real one in a ZIP64 extra, and the end record capped.
func TestZip64Offsets(t *testing.T) {
	const base = int64(1) << 32 // pretend 4 GiB were already written
	var buf bytes.Buffer
	zw := NewWriter(&buf, "archive")
	zw.off = base
	if err := zw.WriteRecord("data/0", []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := "archive/data/0"
	// start = base + 30 + 14 + 4 + 4 + 8 = base+60; pad to 64 → 4 'Z'
	local := cat(le32(sigLocal), le16(0), le16(0x0808), le16(0), le32(0), make([]byte, 12), le16(14), le16(12+4+4),
		[]byte(name), le16(1), le16(8), le64(uint64(base)), []byte("FB"), le16(4), []byte("ZZZZ"))
	crc := le32(0x352441c2) // CRC-32 of "abc"
	desc := cat(le32(sigDataDesc), crc, le64(3), le64(3))
	cdOff := base + int64(len(local)) + 3 + int64(len(desc))
	central := cat(le32(sigCentral), le16(0), le16(0), le16(0x0808), le16(0), le32(0), crc, le32(3), le32(3), le16(14), le16(12),
		make([]byte, 10), le32(0xffffffff), []byte(name), le16(1), le16(8), le64(uint64(base)))
	end64 := cat(le32(sigEnd64), le64(44), le16(0x031e), le16(0x2d), le32(0), le32(0), le64(1), le64(1),
		le64(uint64(len(central))), le64(uint64(cdOff)))
	loc := cat(le32(sigLocator), le32(0), le64(uint64(cdOff+int64(len(central)))), le32(1))
	end := cat(le32(sigEnd), le32(0), le16(1), le16(1), le32(uint32(len(central))), le32(0xffffffff), le16(0))
	want := cat(local, []byte("abc"), desc, central, end64, loc, end)
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("got\n%s\nwant\n%s", hex.Dump(buf.Bytes()), hex.Dump(want))
	}
	if got := DataOffset(base, name, 3); got != base+64 {
		t.Errorf("DataOffset %d", got)
	}

	// and the reader finds the record through the ZIP64 fields
	z, err := NewReader(sparse{base, buf.Bytes()}, base+int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	r := z.Lookup(name)
	if r == nil || r.HeaderOffset != base || r.DataOffset != base+64 || r.Size != 3 {
		t.Fatalf("record %+v", r)
	}
	if err := r.Verify(); err != nil {
		t.Error(err)
	}
}

// TestZip64Size streams a record of 4 GiB (zeros, not kept) and checks the
// headers around it: a ZIP64 extra with size and a zero compressed size in
// the local header, 24-byte descriptor, 0xffffffff sizes in the directory.
func TestZip64Size(t *testing.T) {
	const size = int64(1) << 32
	var head, tail bytes.Buffer
	cw := &splitWriter{head: &head, tail: &tail, headLen: 128, tailFrom: 128 + size}
	zw := NewWriter(cw, "archive")
	w, err := zw.CreateRecord("big", size)
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<22)
	for left := size; left > 0; left -= int64(len(zeros)) {
		if _, err := w.Write(zeros[:min(left, int64(len(zeros)))]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Write([]byte{0}); err == nil {
		t.Error("write past the declared size accepted")
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	name := "archive/big"
	// start = 30 + 11 + 4 + 4 + 16 = 65 → pad 63
	wantHead := cat(le32(sigLocal), le16(0), le16(0x0808), le16(0), le32(0), make([]byte, 12), le16(11), le16(20+4+63),
		[]byte(name), le16(1), le16(16), le64(uint64(size)), le64(0), []byte("FB"), le16(63), bytes.Repeat([]byte("Z"), 63))
	if !bytes.Equal(head.Bytes(), wantHead) {
		t.Errorf("local header\n%s\nwant\n%s", hex.Dump(head.Bytes()), hex.Dump(wantHead))
	}
	crc := le32(0xd202ef8d) // CRC-32 of 2^32 zero bytes
	desc := cat(le32(sigDataDesc), crc, le64(uint64(size)), le64(uint64(size)))
	central := cat(le32(sigCentral), le16(0), le16(0), le16(0x0808), le16(0), le32(0), crc, le32(0xffffffff), le32(0xffffffff),
		le16(11), le16(20), make([]byte, 10), le32(0), []byte(name), le16(1), le16(16), le64(uint64(size)), le64(uint64(size)))
	got := tail.Bytes()
	if !bytes.HasPrefix(got, cat(desc, central)) {
		t.Errorf("after the data\n%s\nwant prefix\n%s", hex.Dump(got[:min(len(got), 200)]), hex.Dump(cat(desc, central)))
	}
}

// splitWriter keeps the first headLen bytes and everything from tailFrom on.
type splitWriter struct {
	head, tail *bytes.Buffer
	headLen    int64
	tailFrom   int64
	off        int64
}

func (s *splitWriter) Write(p []byte) (int, error) {
	start, end := s.off, s.off+int64(len(p))
	if start < s.headLen {
		s.head.Write(p[:min(end, s.headLen)-start])
	}
	if end > s.tailFrom {
		s.tail.Write(p[max(start, s.tailFrom)-start:])
	}
	s.off = end
	return len(p), nil
}

// TestManyRecords writes more records than the 16-bit end record can count:
// the end record then holds 0xffff (as miniz caps it) and the reader takes the
// count from the ZIP64 end record.
func TestManyRecords(t *testing.T) {
	const n = 70000
	var buf bytes.Buffer
	zw := NewWriter(&buf, "archive")
	for i := range n {
		if err := zw.WriteRecord("r/"+strconv.Itoa(i), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	end := b[len(b)-22:]
	if binary.LittleEndian.Uint32(end) != sigEnd || binary.LittleEndian.Uint16(end[8:]) != 0xffff || binary.LittleEndian.Uint16(end[10:]) != 0xffff {
		t.Fatalf("end record % x", end)
	}
	z, err := open(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Records()) != n || z.Records()[n-1].Name != "archive/r/69999" {
		t.Fatalf("%d records, last %q", len(z.Records()), z.Records()[len(z.Records())-1].Name)
	}
}
