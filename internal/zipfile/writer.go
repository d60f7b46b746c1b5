package zipfile

import (
	"bytes"
	"compress/flate"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
)

// Alignment is the boundary on which the Writer starts every record's data
// (PyTorch's kFieldAlignment; config.save.storage_alignment from 2.7).
const Alignment = 64

// ErrWriter reports misuse of a Writer: a record written past its declared size
// or closed short, a write after Close, a name too long for a zip header.
var ErrWriter = errors.New("zipfile: writer misuse")

// Writer writes an archive sequentially, exactly as PyTorch 1.13's
// PyTorchStreamWriter (miniz with MZ_ZIP_FLAG_WRITE_ZIP64) does.
type Writer struct {
	w       io.Writer
	prefix  string
	off     int64 // bytes written so far (the position of the next local header)
	central []centralEntry
	cur     *recordWriter
	err     error // sticky
	closed  bool
}

type centralEntry struct {
	name       string
	flags      uint16
	method     uint16
	crc        uint32
	size       int64 // uncompressed
	csize      int64 // compressed (= size when stored)
	headerOff  int64
	descriptor bool
}

// NewWriter returns a Writer that puts every record under archiveName/
// (PyTorch uses the file's base name without its extension, or "archive").
func NewWriter(w io.Writer, archiveName string) *Writer {
	return &Writer{w: w, prefix: archiveName + "/"}
}

// Offset returns the number of bytes written so far.
func (zw *Writer) Offset() int64 { return zw.off }

func (zw *Writer) write(b []byte) error {
	if zw.err != nil {
		return zw.err
	}
	n, err := zw.w.Write(b)
	zw.off += int64(n)
	if err == nil && n < len(b) {
		err = io.ErrShortWrite
	}
	if err != nil {
		zw.err = err
	}
	return err
}

// DataOffset returns where the data of a record with the given full name and
// size would start if its local header were written at offset off: PyTorch's
// getPadding, which also predicts offsets when reading (_get_offset).
func DataOffset(off int64, fullName string, size int64) int64 {
	start := off + localLen + int64(len(fullName)) + 4
	if size >= max32 || off >= max32 {
		start += 4
		if size >= max32 {
			start += 16
		}
		if off >= max32 {
			start += 8
		}
	}
	return start + (Alignment-start%Alignment)%Alignment
}

// WriteRecord writes one record holding data.
func (zw *Writer) WriteRecord(name string, data []byte) error {
	w, err := zw.CreateRecord(name, int64(len(data)))
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	return zw.finish()
}

// CreateRecord starts a record of exactly size bytes and returns the writer for
// its data. The record is finished by the next CreateRecord, WriteRecord or Close,
// which fail if fewer than size bytes were written.
func (zw *Writer) CreateRecord(name string, size int64) (io.Writer, error) {
	rw, err := zw.startRecord(name, size, Store)
	if err != nil {
		return nil, err // not a nil *recordWriter in a non-nil io.Writer
	}
	return rw, nil
}

// WriteRecordDeflated writes one record compressed with deflate, laid out as
// PyTorch's writer lays out the records TorchScript compresses (code and
// debug_pkl records over 200 bytes): version needed 20, method 8, data still
// starting on a 64-byte boundary. The compressed bytes come from Go's
// compress/flate, so they differ from miniz's; everything around them matches.
// Records of 3 bytes or fewer are stored, as miniz does.
func (zw *Writer) WriteRecordDeflated(name string, data []byte) error {
	if len(data) <= 3 {
		return zw.WriteRecord(name, data)
	}
	var comp bytes.Buffer
	fw, err := flate.NewWriter(&comp, flate.DefaultCompression)
	if err != nil {
		return err
	}
	fw.Write(data)
	if err := fw.Close(); err != nil {
		return err
	}
	rw, err := zw.startRecord(name, int64(len(data)), Deflate)
	if err != nil {
		return err
	}
	rw.entry.csize = int64(comp.Len())
	rw.entry.crc = crc32.ChecksumIEEE(data)
	if err := zw.write(comp.Bytes()); err != nil {
		return err
	}
	rw.left = 0
	return zw.finish()
}

func (zw *Writer) startRecord(name string, size int64, method uint16) (*recordWriter, error) {
	if err := zw.finish(); err != nil {
		return nil, err
	}
	if zw.closed {
		return nil, fmt.Errorf("%w: CreateRecord after Close", ErrWriter)
	}
	full := zw.prefix + name
	if len(full) > max16 {
		return nil, fmt.Errorf("%w: name of %d bytes", ErrWriter, len(full))
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size", ErrWriter)
	}
	off := zw.off
	var zip64 []byte
	if size >= max32 || off >= max32 {
		// miniz's ZIP64 extra in the local header: sizes (compressed still 0) and/or offset.
		zip64 = le.AppendUint16(nil, 1)
		n := 0
		if size >= max32 {
			n += 16
		}
		if off >= max32 {
			n += 8
		}
		zip64 = le.AppendUint16(zip64, uint16(n))
		if size >= max32 {
			zip64 = le.AppendUint64(zip64, uint64(size))
			zip64 = le.AppendUint64(zip64, 0)
		}
		if off >= max32 {
			zip64 = le.AppendUint64(zip64, uint64(off))
		}
	}
	pad := DataOffset(off, full, size) - (off + localLen + int64(len(full)) + int64(len(zip64)) + 4)
	flags := uint16(0x0808)
	if size == 0 {
		flags = 0x0800
	}
	h := make([]byte, 0, localLen+len(full)+len(zip64)+4+int(pad))
	h = le.AppendUint32(h, sigLocal)
	h = le.AppendUint16(h, versionNeeded(method))
	h = le.AppendUint16(h, flags)
	h = le.AppendUint16(h, method)
	h = le.AppendUint32(h, 0)                             // time, date
	h = append(h, make([]byte, 12)...)                    // crc, sizes: in the data descriptor
	h = le.AppendUint16(h, uint16(len(full)))             //
	h = le.AppendUint16(h, uint16(len(zip64)+4+int(pad))) // extra length
	h = append(h, full...)
	h = append(h, zip64...)
	h = append(h, 'F', 'B')
	h = le.AppendUint16(h, uint16(pad))
	for range pad {
		h = append(h, 'Z')
	}
	if err := zw.write(h); err != nil {
		return nil, err
	}
	zw.cur = &recordWriter{zw: zw, left: size, crc: crc32.NewIEEE(),
		entry: centralEntry{name: full, flags: flags, method: method, size: size, csize: size, headerOff: off, descriptor: size > 0}}
	return zw.cur, nil
}

// recordWriter accepts one record's data.
type recordWriter struct {
	zw    *Writer
	left  int64
	crc   hash.Hash32
	entry centralEntry
}

func (rw *recordWriter) Write(p []byte) (int, error) {
	if rw.zw.cur != rw {
		return 0, fmt.Errorf("%w: record %q already finished", ErrWriter, rw.entry.name)
	}
	if int64(len(p)) > rw.left {
		return 0, fmt.Errorf("%w: record %q: more than its declared %d bytes", ErrWriter, rw.entry.name, rw.entry.size)
	}
	if err := rw.zw.write(p); err != nil {
		return 0, err
	}
	rw.crc.Write(p)
	rw.left -= int64(len(p))
	return len(p), nil
}

// finish completes the current record: its data descriptor and directory entry.
func (zw *Writer) finish() error {
	rw := zw.cur
	if rw == nil {
		return zw.err
	}
	zw.cur = nil
	if rw.left != 0 {
		zw.err = fmt.Errorf("%w: record %q: %d of its %d bytes missing", ErrWriter, rw.entry.name, rw.left, rw.entry.size)
		return zw.err
	}
	e := rw.entry
	if e.descriptor {
		if e.method == Store {
			e.crc = rw.crc.Sum32()
		}
		d := le.AppendUint32(nil, sigDataDesc)
		d = le.AppendUint32(d, e.crc)
		if e.size >= max32 || e.headerOff >= max32 {
			d = le.AppendUint64(d, uint64(e.csize))
			d = le.AppendUint64(d, uint64(e.size))
		} else {
			d = le.AppendUint32(d, uint32(e.csize))
			d = le.AppendUint32(d, uint32(e.size))
		}
		if err := zw.write(d); err != nil {
			return err
		}
	}
	zw.central = append(zw.central, e)
	return zw.err
}

// versionNeeded is what miniz writes: 0 for stored records, 2.0 for deflated ones.
func versionNeeded(method uint16) uint16 {
	if method == Deflate {
		return 20
	}
	return 0
}

func min32(v int64) uint32 {
	if v >= max32 {
		return max32
	}
	return uint32(v)
}

// Close finishes the last record and writes the central directory, the ZIP64
// end record and locator, and the end record. It does not close the underlying writer.
func (zw *Writer) Close() error {
	if zw.closed {
		return zw.err
	}
	if err := zw.finish(); err != nil {
		return err
	}
	zw.closed = true
	cdOff := zw.off
	var cd []byte
	for _, e := range zw.central {
		var extra []byte
		if e.size >= max32 || e.headerOff >= max32 {
			n := 0
			if e.size >= max32 {
				n += 16
			}
			if e.headerOff >= max32 {
				n += 8
			}
			extra = le.AppendUint16(extra, 1)
			extra = le.AppendUint16(extra, uint16(n))
			if e.size >= max32 {
				extra = le.AppendUint64(extra, uint64(e.size))
				extra = le.AppendUint64(extra, uint64(e.csize))
			}
			if e.headerOff >= max32 {
				extra = le.AppendUint64(extra, uint64(e.headerOff))
			}
		}
		cd = le.AppendUint32(cd, sigCentral)
		cd = le.AppendUint16(cd, 0) // made by
		cd = le.AppendUint16(cd, versionNeeded(e.method))
		cd = le.AppendUint16(cd, e.flags)
		cd = le.AppendUint16(cd, e.method)
		cd = le.AppendUint32(cd, 0) // time, date
		cd = le.AppendUint32(cd, e.crc)
		cd = le.AppendUint32(cd, min32(e.csize))
		cd = le.AppendUint32(cd, min32(e.size))
		cd = le.AppendUint16(cd, uint16(len(e.name)))
		cd = le.AppendUint16(cd, uint16(len(extra)))
		cd = append(cd, make([]byte, 10)...) // comment length, disk, internal and external attributes
		cd = le.AppendUint32(cd, min32(e.headerOff))
		cd = append(cd, e.name...)
		cd = append(cd, extra...)
	}
	n := uint64(len(zw.central))
	cdSize := int64(len(cd))
	end64Off := cdOff + cdSize
	cd = le.AppendUint32(cd, sigEnd64)
	cd = le.AppendUint64(cd, end64Len-12)
	cd = le.AppendUint16(cd, 0x031e) // made by: Unix, 3.0
	cd = le.AppendUint16(cd, 0x2d)   // needed: 4.5
	cd = le.AppendUint32(cd, 0)
	cd = le.AppendUint32(cd, 0)
	cd = le.AppendUint64(cd, n)
	cd = le.AppendUint64(cd, n)
	cd = le.AppendUint64(cd, uint64(cdSize))
	cd = le.AppendUint64(cd, uint64(cdOff))
	cd = le.AppendUint32(cd, sigLocator)
	cd = le.AppendUint32(cd, 0)
	cd = le.AppendUint64(cd, uint64(end64Off))
	cd = le.AppendUint32(cd, 1)
	cd = le.AppendUint32(cd, sigEnd)
	cd = le.AppendUint32(cd, 0)
	n16 := uint16(min(n, max16))
	cd = le.AppendUint16(cd, n16)
	cd = le.AppendUint16(cd, n16)
	cd = le.AppendUint32(cd, min32(cdSize))
	cd = le.AppendUint32(cd, min32(cdOff))
	cd = le.AppendUint16(cd, 0)
	return zw.write(cd)
}
