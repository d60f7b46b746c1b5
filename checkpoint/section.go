package checkpoint

import (
	"io"
	"os"
	"strings"

	"github.com/pthkit/pth"
)

// sectioner is implemented by checkpoints that can hand out a tensor's
// little-endian, C-ordered bytes as a section of the file, so Convert copies
// them through a small buffer (pread) instead of touching a mapping: the
// pages of a mapped file count in the resident set, a copy buffer does not
// grow with the tensor.
type sectioner interface {
	section(name string) (*io.SectionReader, bool)
}

func (c *stCheckpoint) section(name string) (*io.SectionReader, bool) {
	if c.fh == nil {
		return nil, false
	}
	ti, ok := c.f.Lookup(name)
	if !ok {
		return nil, false
	}
	return io.NewSectionReader(c.fh, c.f.DataOffset+ti.Begin, ti.NBytes()), true
}

func (c *ggufCheckpoint) section(name string) (*io.SectionReader, bool) {
	ti, ok := c.f.Lookup(name)
	if !ok || ti.Type.Quantized() {
		return nil, false
	}
	s, err := c.f.Section(name)
	return s, err == nil
}

// torchRecords maps storage keys to the stored, little-endian data records of
// a zip-format PyTorch file, or returns nil when sections cannot be used.
func torchRecords(f *pth.File, fh *os.File) map[string]pth.Record {
	if f.Format != pth.FormatZip || fh == nil {
		return nil
	}
	recs := map[string]pth.Record{}
	for _, r := range f.Records() {
		i := strings.Index(r.Name, "/")
		if i < 0 {
			continue
		}
		rest := r.Name[i+1:]
		if rest == "byteorder" {
			b := make([]byte, min(r.Size, 8))
			if _, err := fh.ReadAt(b, r.Offset); err != nil || string(b) != "little" {
				return nil // big-endian data is swapped by pth; do not copy it raw
			}
			continue
		}
		if key, ok := strings.CutPrefix(rest, "data/"); ok && !r.Compressed {
			recs[key] = r
		}
	}
	return recs
}

func (c *torchCheckpoint) section(name string) (*io.SectionReader, bool) {
	t, ok := c.byName[name]
	// Conjugate and negative views' values are not their stored bytes.
	if !ok || c.recs == nil || t.Storage == nil || t.Quant != nil || t.HasConjNeg() || !t.IsContiguous() {
		return nil, false
	}
	r, ok := c.recs[t.Storage.Key]
	if !ok || r.Size != t.Storage.NBytes || t.Storage.DType != t.DType {
		return nil, false
	}
	es := int64(t.DType.Size())
	n := t.Numel() * es
	off := t.Offset * es
	if n < 0 || off < 0 || off > r.Size || n > r.Size-off {
		return nil, false
	}
	return io.NewSectionReader(c.fh, r.Offset+off, n), true
}

// rawSectioner is implemented by checkpoints that can hand out the stored
// bytes of tensors pth does not decode (GGUF quantized blocks, safetensors
// F4/F6), so Diff can still tell identical data from different data.
type rawSectioner interface {
	rawSection(name string) (*io.SectionReader, bool)
}

func (c *ggufCheckpoint) rawSection(name string) (*io.SectionReader, bool) {
	s, err := c.f.Section(name)
	return s, err == nil
}

func (c *stCheckpoint) rawSection(name string) (*io.SectionReader, bool) {
	return c.section(name)
}

func (c *shardedCheckpoint) rawSection(name string) (*io.SectionReader, bool) {
	s, err := c.get(name)
	if err != nil {
		return nil, false
	}
	if rs, ok := s.(rawSectioner); ok {
		return rs.rawSection(name)
	}
	return nil, false
}
