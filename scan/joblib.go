package scan

import (
	"bufio"
	"fmt"
	"math/bits"
	"strconv"

	"github.com/pthkit/pth/pickle"
)

// joblib.dump writes each numpy array as a NumpyArrayWrapper object followed,
// right after the wrapper's BUILD opcode and inside the same pickle, by the
// array itself: for numeric dtypes an optional alignment (one byte giving the
// padding length, then the padding) and count×itemsize raw bytes; for object
// dtypes a whole nested pickle, which joblib.load unpickles with pickle.load.
// The scanner skips the raw bytes without reading them into memory and scans
// the nested pickle (joblib/numpy_pickle.py, NumpyArrayWrapper.read_array).

// joblibWrappers are the classes joblib.load's NumpyUnpickler treats this way.
var joblibWrappers = map[string]bool{
	"joblib.numpy_pickle.NumpyArrayWrapper":                   true,
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper": true,
}

// joblibArray handles the bytes after BUILD on a NumpyArrayWrapper.
func (m *machine) joblibArray(state *node) error {
	if m.src == nil {
		return fmt.Errorf("%w: joblib array data outside a stream", pickle.ErrUnsupported)
	}
	fields := map[string]*node{}
	if state.kind == kDict {
		for i := 0; i+1 < len(state.items); i += 2 {
			if k, ok := constString(state.items[i]); ok {
				fields[k] = state.items[i+1]
			}
		}
	}
	dt, ok := fields["dtype"]
	if !ok || dt.kind != kCall || len(dt.items) == 0 {
		return fmt.Errorf("%w: joblib array wrapper without a dtype", pickle.ErrMalformed)
	}
	descr, _ := constString(dt.items[0])
	if len(descr) > 0 && descr[0] == 'O' {
		// An object array: a nested pickle follows.
		lim := pickle.DefaultLimits(m.fs.size)
		sub := newMachine(m.fs, lim)
		sub.src = m.src
		if _, err := sub.run(pickle.NewOpReader(m.src, lim)); err != nil {
			return fmt.Errorf("joblib object array: %w", err)
		}
		m.fs.pickles++
		return nil
	}
	item, err := itemSize(descr)
	if err != nil {
		return err
	}
	count := uint64(1)
	shape, ok := fields["shape"]
	if !ok || shape.kind != kTuple {
		return fmt.Errorf("%w: joblib array wrapper without a shape", pickle.ErrMalformed)
	}
	for _, d := range shape.items {
		n, ok := d.val.(int64)
		if d.kind != kConst || !ok || n < 0 {
			return fmt.Errorf("%w: joblib array shape %s", pickle.ErrMalformed, render(shape, 60))
		}
		hi, lo := bits.Mul64(count, uint64(n))
		if hi != 0 {
			return fmt.Errorf("%w: joblib array shape %s overflows", pickle.ErrMalformed, render(shape, 60))
		}
		count = lo
	}
	hi, nbytes := bits.Mul64(count, item)
	if hi != 0 || nbytes > 1<<62 {
		return fmt.Errorf("%w: joblib array of %d × %d bytes", pickle.ErrMalformed, count, item)
	}
	if _, ok := fields["numpy_array_alignment_bytes"]; ok {
		pad, err := m.src.ReadByte()
		if err != nil {
			return fmt.Errorf("%w: joblib alignment byte", pickle.ErrTruncated)
		}
		nbytes += uint64(pad)
	}
	if err := skip(m.src, nbytes); err != nil {
		return fmt.Errorf("%w: joblib array data: %v", pickle.ErrTruncated, err)
	}
	return nil
}

// skip discards n bytes from br.
func skip(br *bufio.Reader, n uint64) error {
	for n > 0 {
		k := int(min(n, 1<<30))
		d, err := br.Discard(k)
		n -= uint64(d)
		if err != nil {
			return err
		}
	}
	return nil
}

// itemSize parses a numpy dtype string as joblib writes it ("f4", "i8", "U10",
// "S3", "V16", "c16", "b1", "M8") into the size of one element.
func itemSize(descr string) (uint64, error) {
	if len(descr) < 2 {
		return 0, fmt.Errorf("%w: numpy dtype %q", pickle.ErrMalformed, descr)
	}
	n, err := strconv.ParseUint(descr[1:], 10, 32)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: numpy dtype %q", pickle.ErrMalformed, descr)
	}
	switch descr[0] {
	case 'U':
		return 4 * n, nil
	case 'f', 'i', 'u', 'b', 'c', 'S', 'V', 'M', 'm', 'a':
		return n, nil
	}
	return 0, fmt.Errorf("%w: numpy dtype %q", pickle.ErrUnsupported, descr)
}
