package scan

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
)

// sevenZip scans a 7z archive, as picklescan does (7z is not a PyTorch format,
// but model hubs carry them). The packed streams are decoded as LZMA2, the
// coder 7-Zip and py7zr use by default, one stream after another up to where
// the header (or the encoded header's own packed stream) begins; each decoded
// stream (a solid folder: its files concatenated) is scanned by content. A
// stream in any other coder does not decode as LZMA2 and makes the verdict
// Error — fail closed, never safe.
func (fs *fileScan) sevenZip(where string, ra io.ReaderAt, size int64, depth int) {
	if depth > fs.opts.MaxNesting {
		fs.fail(where, fmt.Errorf("%w: more than %d levels", ErrNesting, fs.opts.MaxNesting))
		return
	}
	var sh [32]byte
	if _, err := ra.ReadAt(sh[:], 0); err != nil {
		fs.fail(where, fmt.Errorf("7z: %w: signature header", ErrNotModel))
		return
	}
	nextOff := binary.LittleEndian.Uint64(sh[12:20])
	nextSize := binary.LittleEndian.Uint64(sh[20:28])
	if nextOff > uint64(size) || nextSize > 1<<20 || 32+nextOff+nextSize > uint64(size) {
		fs.fail(where, fmt.Errorf("7z: %w: next header at %d (+%d) outside a %d-byte file", ErrNotModel, nextOff, nextSize, size))
		return
	}
	hdr := make([]byte, nextSize)
	if _, err := ra.ReadAt(hdr, int64(32+nextOff)); err != nil {
		fs.fail(where, fmt.Errorf("7z header: %w", err))
		return
	}
	end := nextOff // data streams end where the header starts …
	if len(hdr) > 0 && hdr[0] == 0x17 {
		// … or, with an encoded header, where the header's packed stream starts.
		p := &sevenReader{b: hdr[1:]}
		if p.byte() != 0x06 {
			fs.fail(where, fmt.Errorf("%w: 7z encoded header without pack info", ErrUnsupported))
			return
		}
		packPos := p.number()
		if p.err != nil || packPos > nextOff {
			fs.fail(where, fmt.Errorf("%w: 7z pack position", ErrUnsupported))
			return
		}
		end = packPos
	} else if len(hdr) == 0 || hdr[0] != 0x01 {
		fs.fail(where, fmt.Errorf("%w: 7z header kind", ErrUnsupported))
		return
	}
	region := io.NewSectionReader(ra, 32, int64(end))
	for stream := 0; ; stream++ {
		if pos, _ := region.Seek(0, io.SeekCurrent); pos >= int64(end) {
			return
		}
		data, err := fs.lzma2(region)
		if err != nil {
			fs.fail(fmt.Sprintf("%s: 7z stream %d", where, stream), err)
			return
		}
		fs.source(fmt.Sprintf("%s: 7z stream %d", where, stream), bytes.NewReader(data), int64(len(data)), depth+1, modeTop)
	}
}

// sevenReader reads 7z header numbers.
type sevenReader struct {
	b   []byte
	err error
}

func (p *sevenReader) byte() byte {
	if len(p.b) == 0 {
		p.err = io.ErrUnexpectedEOF
		return 0
	}
	c := p.b[0]
	p.b = p.b[1:]
	return c
}

// number reads 7z's UINT64: the count of leading one bits of the first byte is
// the count of extra little-endian bytes; the rest of the first byte is the top.
func (p *sevenReader) number() uint64 {
	first := p.byte()
	mask := byte(0x80)
	var v uint64
	for i := 0; i < 8; i++ {
		if first&mask == 0 {
			high := uint64(first) & (uint64(mask) - 1)
			return v | high<<(8*i)
		}
		v |= uint64(p.byte()) << (8 * i)
		mask >>= 1
	}
	return v
}
