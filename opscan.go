package pth

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/pthkit/pth/pickle"
)

// This file walks a pickle's opcodes without building values, the way Python's
// pickletools.genops does. It serves three purposes the value decoder cannot:
// finding where a pickle ends inside a stream (the legacy format concatenates
// pickles and raw data), listing every GLOBAL in stream order (File.Globals), and
// the opcode-level rules of weights-only mode (torch/_weights_only_unpickler.py).

// scannedGlobal is one global reference found in a pickle.
type scannedGlobal struct {
	off int64
	g   pickle.Global
}

// pickleScan is what scanPickle learns about one pickle.
type pickleScan struct {
	data    []byte // the pickle's bytes, PROTO … STOP
	globals []scannedGlobal
	// firstBadOp is the first opcode weights-only mode refuses (-1 when none).
	firstBadOp    int64
	firstBadOpVal byte
}

// weightsOnlyOps are the only opcodes torch's weights-only unpickler accepts.
var weightsOnlyOps = func() [256]bool {
	var ok [256]bool
	for _, c := range []byte{0x80, '.', '(', 't', 0x85, 0x86, 0x87, ')', ']', '}', 0x8f,
		'a', 'e', 's', 'u', 'N', 0x88, 0x89, 'J', 'K', 'M', 0x8a, 'G', 'X', 'U',
		'Q', 'h', 'j', 'q', 'r', 'c', 'R', 0x81, 'b'} {
		ok[c] = true
	}
	return ok
}()

// byteReader is what scanPickle reads from (bytes.Reader, bufio.Reader).
type byteReader interface {
	io.Reader
	io.ByteReader
}

// byteSource is where scanPickle reads; it records every byte it hands out.
type byteSource struct {
	r   byteReader
	buf []byte
	max int64
	// mem, when set, is the whole input: buf is then a prefix of it and no
	// bytes are copied.
	mem []byte
}

func (s *byteSource) readByte() (byte, error) {
	if s.mem != nil {
		n := len(s.buf)
		if n >= len(s.mem) {
			return 0, io.ErrUnexpectedEOF
		}
		s.buf = s.mem[:n+1]
		return s.mem[n], nil
	}
	if int64(len(s.buf)) >= s.max {
		return 0, errorf(pickle.ErrLimit, "pickle longer than %d bytes", s.max)
	}
	c, err := s.r.ReadByte()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return 0, err
	}
	s.buf = append(s.buf, c)
	return c, nil
}

func (s *byteSource) read(n int64) ([]byte, error) {
	if n < 0 || n > s.max-int64(len(s.buf)) {
		return nil, errorf(pickle.ErrLimit, "pickle argument of %d bytes exceeds the limit", n)
	}
	start := len(s.buf)
	if s.mem != nil {
		if n > int64(len(s.mem)-start) {
			s.buf = s.mem
			return nil, io.ErrUnexpectedEOF
		}
		s.buf = s.mem[:start+int(n)]
		return s.buf[start:], nil
	}
	s.buf = append(s.buf, make([]byte, n)...)
	if _, err := io.ReadFull(s.r, s.buf[start:]); err != nil {
		s.buf = s.buf[:start]
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return s.buf[start:], nil
}

func (s *byteSource) line() (string, error) {
	start := len(s.buf)
	for {
		c, err := s.readByte()
		if err != nil {
			return "", err
		}
		if c == '\n' {
			return string(s.buf[start : len(s.buf)-1]), nil
		}
	}
}

func (s *byteSource) uint(n int) (uint64, error) {
	b, err := s.read(int64(n))
	if err != nil {
		return 0, err
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, nil
}

// scanPickle reads one pickle from r (up to and including STOP, never further),
// reading at most max bytes, and reports its globals and weights-only violations.
// base is added to offsets in errors and results.
func scanPickle(r byteReader, max int64, base int64) (*pickleScan, error) {
	return scanSource(&byteSource{r: r, max: max}, base)
}

func scanSource(s *byteSource, base int64) (*pickleScan, error) {
	max := s.max
	res := &pickleScan{firstBadOp: -1}
	// A shadow of the last two stack pushes, tracking only strings: enough to
	// resolve STACK_GLOBAL's two string operands (pushed directly or by memo GET).
	// A slot names a string by its position in the scanned bytes (no pointers,
	// so the memo shadow costs the garbage collector nothing).
	type slot struct {
		off, n int64
		isStr  bool
	}
	var prev, last slot
	memoSmall := make([]slot, 0, 64+min(max/64, 1<<18)) // dense memo indices
	memoBig := map[uint64]slot{}                        // sparse (hostile) ones
	setMemo := func(i uint64, v slot) {
		if i < uint64(len(memoSmall))+1<<16 && i < 1<<26 {
			if n := uint64(len(memoSmall)); i >= n {
				memoSmall = append(memoSmall, make([]slot, i+1-n)...)
			}
			memoSmall[i] = v
			return
		}
		memoBig[i] = v
	}
	getMemo := func(i uint64) slot {
		if i < uint64(len(memoSmall)) {
			return memoSmall[i]
		}
		return memoBig[i]
	}
	memoCount := uint64(0)
	push := func(v slot) { prev, last = last, v }
	top := func() slot { return last }
	for {
		off := base + int64(len(s.buf))
		op, err := s.readByte()
		if err != nil {
			return nil, fmt.Errorf("%w: pickle offset %d: %w", ErrFormat, off, err)
		}
		if res.firstBadOp < 0 && !weightsOnlyOps[op] {
			res.firstBadOp, res.firstBadOpVal = off, op
		}
		var argErr error
		pushed := slot{}
		switch op {
		case '.': // STOP
			res.data = s.buf
			return res, nil
		case '(', ')', ']', '}', 'N', 0x88, 0x89, 'a', 'e', 's', 'u', 't', 0x85, 0x86, 0x87,
			'R', 'b', 'Q', 0x81, 0x92, 'd', 'l', 'o', '0', '1', '2', 0x8f, 0x90, 0x91, 0x97, 0x98:
			// no argument
		case 0x80, 'K', 'U', 'h', 'q', 0x82, 0x8a, 'C', 0x8c: // one-byte argument or length
			var n uint64
			n, argErr = s.uint(1)
			if argErr == nil {
				switch op {
				case 'U', 0x8a, 'C', 0x8c:
					var b []byte
					b, argErr = s.read(int64(n))
					if op == 0x8c || op == 'U' {
						pushed = slot{off: int64(len(s.buf) - len(b)), n: int64(len(b)), isStr: true}
					}
				case 'h':
					pushed = getMemo(n)
				case 'q':
					setMemo(n, top())
				}
			}
		case 'M', 0x83: // two bytes
			_, argErr = s.uint(2)
		case 'J', 0x84, 'j', 'r', 'T', 'X', 'B', 0x8b: // four bytes or four-byte length
			var n uint64
			n, argErr = s.uint(4)
			if argErr == nil {
				switch op {
				case 'T', 'X', 'B', 0x8b:
					var b []byte
					b, argErr = s.read(int64(n))
					if op == 'X' || op == 'T' {
						pushed = slot{off: int64(len(s.buf) - len(b)), n: int64(len(b)), isStr: true}
					}
				case 'j':
					pushed = getMemo(n)
				case 'r':
					setMemo(n, top())
				}
			}
		case 'G': // BINFLOAT
			_, argErr = s.read(8)
		case 0x8d, 0x8e, 0x96, 0x95: // eight-byte length, or FRAME
			var n uint64
			n, argErr = s.uint(8)
			if argErr == nil && op != 0x95 {
				if n > uint64(max) {
					argErr = errorf(pickle.ErrLimit, "argument of %d bytes", n)
				} else {
					var b []byte
					b, argErr = s.read(int64(n))
					if op == 0x8d {
						pushed = slot{off: int64(len(s.buf) - len(b)), n: int64(len(b)), isStr: true}
					}
				}
			}
		case 0x94: // MEMOIZE
			setMemo(memoCount, top())
			memoCount++
		case 'F', 'I', 'L', 'P', 'S', 'V': // one line
			var l string
			l, argErr = s.line()
			if op == 'S' || op == 'V' {
				t := strings.Trim(l, `'"`)
				pushed = slot{off: int64(len(s.buf)-1-len(l)) + int64(strings.Index(l, t)), n: int64(len(t)), isStr: true}
			}
		case 'g', 'p': // GET / PUT with a decimal line
			var l string
			l, argErr = s.line()
			if argErr == nil {
				n, perr := strconv.ParseUint(strings.TrimSpace(l), 10, 64)
				if perr != nil {
					argErr = fmt.Errorf("bad memo index %q", l)
				} else if op == 'g' {
					pushed = getMemo(n)
				} else {
					setMemo(n, top())
				}
			}
		case 'c', 'i': // GLOBAL, INST: two lines
			var mod, name string
			mod, argErr = s.line()
			if argErr == nil {
				name, argErr = s.line()
			}
			if argErr == nil {
				res.globals = append(res.globals, scannedGlobal{off, pickle.Global{Module: mod, Name: name}})
			}
		case 0x93: // STACK_GLOBAL
			mod, name := prev, last
			prev, last = slot{}, slot{}
			g := pickle.Global{Module: "<unresolved>", Name: "<unresolved>"}
			if mod.isStr && name.isStr {
				g = pickle.Global{Module: string(s.buf[mod.off : mod.off+mod.n]), Name: string(s.buf[name.off : name.off+name.n])}
			}
			res.globals = append(res.globals, scannedGlobal{off, g})
		default:
			return nil, fmt.Errorf("%w: pickle offset %d: unknown opcode 0x%02x", ErrFormat, off, op)
		}
		if argErr != nil {
			if errors.Is(argErr, pickle.ErrLimit) {
				return nil, fmt.Errorf("pickle offset %d: %w", off, argErr)
			}
			return nil, fmt.Errorf("%w: pickle offset %d: opcode 0x%02x: %w", ErrFormat, off, op, argErr)
		}
		switch op {
		case 'q', 'r', 'p', 0x94, '(', 0x95:
			// memo stores and MARK/FRAME leave the shadow stack as it is
		default:
			push(pushed)
		}
	}
}

// scanBytes scans one pickle held in data.
func scanBytes(data []byte) (*pickleScan, error) {
	return scanSource(&byteSource{mem: data, max: int64(len(data)), buf: data[:0]}, 0)
}

// readInt64LE decodes a little-endian int64.
func readInt64LE(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }
