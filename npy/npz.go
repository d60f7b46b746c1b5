package npy

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pthkit/pth/internal/atomicfile"
	"github.com/pthkit/pth/tensor"
)

// Array is one named member of an .npz file.
type Array struct {
	Name   string // without the ".npy" suffix
	Tensor *tensor.Tensor
}

// ReadNPZ reads every .npy member of the .npz archive in r, in archive order.
// Members not ending in ".npy" are skipped.
func ReadNPZ(r io.ReaderAt, size int64) ([]Array, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: npz: %v", ErrFormat, err)
	}
	var out []Array
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, ".npy") {
			continue
		}
		t, err := readMember(f)
		if err != nil {
			return nil, fmt.Errorf("npz member %s: %w", f.Name, err)
		}
		out = append(out, Array{Name: strings.TrimSuffix(f.Name, ".npy"), Tensor: t})
	}
	return out, nil
}

func readMember(f *zip.File) (*tensor.Tensor, error) {
	if f.UncompressedSize64 > 1<<62 {
		return nil, fmt.Errorf("%w: member size %d", ErrSize, f.UncompressedSize64)
	}
	rc, err := f.Open()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	defer rc.Close()
	// The zip reader checks the declared size and CRC at EOF; the length check
	// below makes the header agree with the declared size before data is allocated.
	t, err := readSized(io.LimitReader(rc, int64(f.UncompressedSize64)), int64(f.UncompressedSize64))
	if err != nil {
		return nil, err
	}
	var one [1]byte
	if _, err := rc.Read(one[:]); err != io.EOF {
		return nil, fmt.Errorf("%w: member check: %v", ErrFormat, err)
	}
	return t, nil
}

// ReadNPZFile reads the .npz file at path.
func ReadNPZFile(path string) ([]Array, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	a, err := ReadNPZ(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return a, nil
}

// WriteNPZ writes arrays as an .npz archive: stored like numpy.savez, or
// deflated like numpy.savez_compressed when compress is set.
func WriteNPZ(w io.Writer, arrays []Array, compress bool) error {
	zw := zip.NewWriter(w)
	method := zip.Store
	if compress {
		method = zip.Deflate
	}
	for _, a := range arrays {
		fw, err := zw.CreateHeader(&zip.FileHeader{Name: a.Name + ".npy", Method: method})
		if err != nil {
			return err
		}
		if err := Write(fw, a.Tensor); err != nil {
			return fmt.Errorf("npz member %s: %w", a.Name, err)
		}
	}
	return zw.Close()
}

// WriteNPZFile writes arrays to path atomically.
func WriteNPZFile(path string, arrays []Array, compress bool) error {
	return atomicfile.Write(path, func(w io.Writer) error { return WriteNPZ(w, arrays, compress) })
}
