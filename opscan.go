package pth

import (
	"bytes"
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
}

func (s *byteSource) readByte() (byte, error) {
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
	s := &byteSource{r: r, max: max}
	res := &pickleScan{firstBadOp: -1}
	// A shadow of the stack that only tracks strings, enough to resolve
	// STACK_GLOBAL's two string operands (directly pushed or memo GETs).
	type slot struct {
		str   string
		isStr bool
	}
	var stack []slot
	memo := map[uint64]slot{}
	push := func(v slot) {
		if len(stack) < 64 {
			stack = append(stack, v)
		} else {
			copy(stack, stack[1:])
			stack[len(stack)-1] = v
		}
	}
	top := func() slot {
		if len(stack) == 0 {
			return slot{}
		}
		return stack[len(stack)-1]
	}
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
						pushed = slot{str: string(b), isStr: true}
					}
				case 'h':
					pushed = memo[n]
				case 'q':
					memo[n] = top()
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
						pushed = slot{str: string(b), isStr: true}
					}
				case 'j':
					pushed = memo[n]
				case 'r':
					memo[n] = top()
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
						pushed = slot{str: string(b), isStr: true}
					}
				}
			}
		case 0x94: // MEMOIZE
			memo[uint64(len(memo))] = top()
		case 'F', 'I', 'L', 'P', 'S', 'V': // one line
			var l string
			l, argErr = s.line()
			if op == 'S' || op == 'V' {
				pushed = slot{str: strings.Trim(l, `'"`), isStr: true}
			}
		case 'g', 'p': // GET / PUT with a decimal line
			var l string
			l, argErr = s.line()
			if argErr == nil {
				n, perr := strconv.ParseUint(strings.TrimSpace(l), 10, 64)
				if perr != nil {
					argErr = fmt.Errorf("bad memo index %q", l)
				} else if op == 'g' {
					pushed = memo[n]
				} else {
					memo[n] = top()
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
			var mod, name slot
			if n := len(stack); n >= 2 {
				mod, name = stack[n-2], stack[n-1]
				stack = stack[:n-2]
			}
			g := pickle.Global{Module: "<unresolved>", Name: "<unresolved>"}
			if mod.isStr && name.isStr {
				g = pickle.Global{Module: mod.str, Name: name.str}
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
	return scanPickle(bytes.NewReader(data), int64(len(data)), 0)
}

// readInt64LE decodes a little-endian int64.
func readInt64LE(b []byte) int64 { return int64(binary.LittleEndian.Uint64(b)) }
