package filecopy

import (
	"io"
	"os"
)

// Section copies all of sec's bytes to dst and returns how many were written. sec must
// not have been read from (its whole range is copied). When dst is an *os.File and sec
// reads an *os.File, the copy runs in the kernel, continuing at dst's current offset;
// otherwise, or when the kernel cannot copy between these two files, it is io.Copy.
func Section(dst io.Writer, sec *io.SectionReader) (int64, error) {
	if df, ok := dst.(*os.File); ok {
		if r, off, n := sec.Outer(); n > 0 {
			if sf, ok := r.(*os.File); ok {
				written, handled, err := copyRange(df, sf, off, n)
				if handled {
					return written, err
				}
			}
		}
	}
	return io.Copy(dst, sec)
}
