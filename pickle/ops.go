package pickle

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"
)

// Opcodes of pickle protocols 0–5, named as in CPython's pickletools.
const (
	// Protocol 0.
	OpMark      byte = '(' // MARK
	OpStop      byte = '.' // STOP
	OpPop       byte = '0' // POP
	OpDup       byte = '2' // DUP
	OpFloat     byte = 'F' // FLOAT: decimal text
	OpInt       byte = 'I' // INT: decimal text; "00"/"01" are False/True
	OpLong      byte = 'L' // LONG: decimal text with optional trailing L
	OpNone      byte = 'N' // NONE
	OpPersID    byte = 'P' // PERSID: text id
	OpReduce    byte = 'R' // REDUCE
	OpString    byte = 'S' // STRING: quoted, escaped
	OpUnicode   byte = 'V' // UNICODE: raw-unicode-escape text
	OpAppend    byte = 'a' // APPEND
	OpBuild     byte = 'b' // BUILD
	OpGlobal    byte = 'c' // GLOBAL: "module\nname\n"
	OpDict      byte = 'd' // DICT
	OpGet       byte = 'g' // GET: decimal memo index
	OpInst      byte = 'i' // INST: "module\nname\n"
	OpList      byte = 'l' // LIST
	OpPut       byte = 'p' // PUT: decimal memo index
	OpSetItem   byte = 's' // SETITEM
	OpTuple     byte = 't' // TUPLE
	OpBinPersID byte = 'Q' // BINPERSID (protocol 1)

	// Protocol 1.
	OpEmptyTuple     byte = ')' // EMPTY_TUPLE
	OpPopMark        byte = '1' // POP_MARK
	OpBinFloat       byte = 'G' // BINFLOAT: 8-byte big-endian double
	OpBinInt         byte = 'J' // BININT: 4-byte signed
	OpBinInt1        byte = 'K' // BININT1: 1-byte unsigned
	OpBinInt2        byte = 'M' // BININT2: 2-byte unsigned
	OpBinString      byte = 'T' // BINSTRING: 4-byte length + bytes
	OpShortBinString byte = 'U' // SHORT_BINSTRING: 1-byte length + bytes
	OpBinUnicode     byte = 'X' // BINUNICODE: 4-byte length + UTF-8
	OpEmptyList      byte = ']' // EMPTY_LIST
	OpAppends        byte = 'e' // APPENDS
	OpBinGet         byte = 'h' // BINGET: 1-byte memo index
	OpLongBinGet     byte = 'j' // LONG_BINGET: 4-byte memo index
	OpObj            byte = 'o' // OBJ
	OpBinPut         byte = 'q' // BINPUT: 1-byte memo index
	OpLongBinPut     byte = 'r' // LONG_BINPUT: 4-byte memo index
	OpSetItems       byte = 'u' // SETITEMS
	OpEmptyDict      byte = '}' // EMPTY_DICT

	// Protocol 2.
	OpProto    byte = 0x80 // PROTO: 1-byte protocol number
	OpNewObj   byte = 0x81 // NEWOBJ
	OpExt1     byte = 0x82 // EXT1: 1-byte extension code
	OpExt2     byte = 0x83 // EXT2: 2-byte extension code
	OpExt4     byte = 0x84 // EXT4: 4-byte extension code
	OpTuple1   byte = 0x85 // TUPLE1
	OpTuple2   byte = 0x86 // TUPLE2
	OpTuple3   byte = 0x87 // TUPLE3
	OpNewTrue  byte = 0x88 // NEWTRUE
	OpNewFalse byte = 0x89 // NEWFALSE
	OpLong1    byte = 0x8a // LONG1: 1-byte length + little-endian two's complement
	OpLong4    byte = 0x8b // LONG4: 4-byte length + little-endian two's complement

	// Protocol 3.
	OpBinBytes      byte = 'B' // BINBYTES: 4-byte length + bytes
	OpShortBinBytes byte = 'C' // SHORT_BINBYTES: 1-byte length + bytes

	// Protocol 4.
	OpShortBinUnicode byte = 0x8c // SHORT_BINUNICODE: 1-byte length + UTF-8
	OpBinUnicode8     byte = 0x8d // BINUNICODE8: 8-byte length + UTF-8
	OpBinBytes8       byte = 0x8e // BINBYTES8: 8-byte length + bytes
	OpEmptySet        byte = 0x8f // EMPTY_SET
	OpAddItems        byte = 0x90 // ADDITEMS
	OpFrozenSet       byte = 0x91 // FROZENSET
	OpNewObjEx        byte = 0x92 // NEWOBJ_EX
	OpStackGlobal     byte = 0x93 // STACK_GLOBAL
	OpMemoize         byte = 0x94 // MEMOIZE
	OpFrame           byte = 0x95 // FRAME: 8-byte frame length

	// Protocol 5.
	OpByteArray8     byte = 0x96 // BYTEARRAY8: 8-byte length + bytes
	OpNextBuffer     byte = 0x97 // NEXT_BUFFER (out-of-band; not supported by the Decoder)
	OpReadonlyBuffer byte = 0x98 // READONLY_BUFFER (out-of-band; not supported by the Decoder)
)

// argKind says how an opcode's inline argument is encoded.
type argKind uint8

const (
	argNone       argKind = iota
	argU1                 // uint8
	argU2                 // uint16 LE
	argI4                 // int32 LE
	argU4                 // uint32 LE
	argU8                 // uint64 LE
	argFloat8             // float64 BE
	argDecimalNL          // INT text line
	argMemoNL             // GET/PUT text line: a decimal memo index
	argLongNL             // LONG text line
	argFloatNL            // FLOAT text line
	argStringNL           // STRING quoted escaped line
	argUnicodeNL          // UNICODE raw-unicode-escape line
	argPersIDNL           // PERSID raw line
	argGlobalNL           // two lines: module, name
	argLong1              // uint8 n + n bytes
	argLong4              // int32 n + n bytes
	argBytes1             // uint8 n + bytes
	argBytes4             // int32 n (negative is malformed) + bytes
	argBytesU4            // uint32 n + bytes
	argBytes8             // uint64 n + bytes
	argUnicode1           // uint8 n + UTF-8
	argUnicode4           // uint32 n + UTF-8
	argUnicode8           // uint64 n + UTF-8
	argByteArray8         // uint64 n + bytes, as ByteArray
)

// OpInfo describes one opcode.
type OpInfo struct {
	Code  byte
	Name  string // pickletools name, e.g. "SHORT_BINUNICODE"
	Proto int    // protocol that introduced the opcode
	kind  argKind
}

var opTable [256]*OpInfo

func init() {
	for _, o := range []OpInfo{
		{OpMark, "MARK", 0, argNone},
		{OpStop, "STOP", 0, argNone},
		{OpPop, "POP", 0, argNone},
		{OpDup, "DUP", 0, argNone},
		{OpFloat, "FLOAT", 0, argFloatNL},
		{OpInt, "INT", 0, argDecimalNL},
		{OpLong, "LONG", 0, argLongNL},
		{OpNone, "NONE", 0, argNone},
		{OpPersID, "PERSID", 0, argPersIDNL},
		{OpReduce, "REDUCE", 0, argNone},
		{OpString, "STRING", 0, argStringNL},
		{OpUnicode, "UNICODE", 0, argUnicodeNL},
		{OpAppend, "APPEND", 0, argNone},
		{OpBuild, "BUILD", 0, argNone},
		{OpGlobal, "GLOBAL", 0, argGlobalNL},
		{OpDict, "DICT", 0, argNone},
		{OpGet, "GET", 0, argMemoNL},
		{OpInst, "INST", 0, argGlobalNL},
		{OpList, "LIST", 0, argNone},
		{OpPut, "PUT", 0, argMemoNL},
		{OpSetItem, "SETITEM", 0, argNone},
		{OpTuple, "TUPLE", 0, argNone},
		{OpBinPersID, "BINPERSID", 1, argNone},
		{OpEmptyTuple, "EMPTY_TUPLE", 1, argNone},
		{OpPopMark, "POP_MARK", 1, argNone},
		{OpBinFloat, "BINFLOAT", 1, argFloat8},
		{OpBinInt, "BININT", 1, argI4},
		{OpBinInt1, "BININT1", 1, argU1},
		{OpBinInt2, "BININT2", 1, argU2},
		{OpBinString, "BINSTRING", 1, argBytes4},
		{OpShortBinString, "SHORT_BINSTRING", 1, argBytes1},
		{OpBinUnicode, "BINUNICODE", 1, argUnicode4},
		{OpEmptyList, "EMPTY_LIST", 1, argNone},
		{OpAppends, "APPENDS", 1, argNone},
		{OpBinGet, "BINGET", 1, argU1},
		{OpLongBinGet, "LONG_BINGET", 1, argU4},
		{OpObj, "OBJ", 1, argNone},
		{OpBinPut, "BINPUT", 1, argU1},
		{OpLongBinPut, "LONG_BINPUT", 1, argU4},
		{OpSetItems, "SETITEMS", 1, argNone},
		{OpEmptyDict, "EMPTY_DICT", 1, argNone},
		{OpProto, "PROTO", 2, argU1},
		{OpNewObj, "NEWOBJ", 2, argNone},
		{OpExt1, "EXT1", 2, argU1},
		{OpExt2, "EXT2", 2, argU2},
		{OpExt4, "EXT4", 2, argI4},
		{OpTuple1, "TUPLE1", 2, argNone},
		{OpTuple2, "TUPLE2", 2, argNone},
		{OpTuple3, "TUPLE3", 2, argNone},
		{OpNewTrue, "NEWTRUE", 2, argNone},
		{OpNewFalse, "NEWFALSE", 2, argNone},
		{OpLong1, "LONG1", 2, argLong1},
		{OpLong4, "LONG4", 2, argLong4},
		{OpBinBytes, "BINBYTES", 3, argBytesU4},
		{OpShortBinBytes, "SHORT_BINBYTES", 3, argBytes1},
		{OpShortBinUnicode, "SHORT_BINUNICODE", 4, argUnicode1},
		{OpBinUnicode8, "BINUNICODE8", 4, argUnicode8},
		{OpBinBytes8, "BINBYTES8", 4, argBytes8},
		{OpEmptySet, "EMPTY_SET", 4, argNone},
		{OpAddItems, "ADDITEMS", 4, argNone},
		{OpFrozenSet, "FROZENSET", 4, argNone},
		{OpNewObjEx, "NEWOBJ_EX", 4, argNone},
		{OpStackGlobal, "STACK_GLOBAL", 4, argNone},
		{OpMemoize, "MEMOIZE", 4, argNone},
		{OpFrame, "FRAME", 4, argU8},
		{OpByteArray8, "BYTEARRAY8", 5, argByteArray8},
		{OpNextBuffer, "NEXT_BUFFER", 5, argNone},
		{OpReadonlyBuffer, "READONLY_BUFFER", 5, argNone},
	} {
		o := o
		opTable[o.Code] = &o
	}
}

// LookupOp returns the description of an opcode, and false for bytes that are not opcodes.
func LookupOp(code byte) (OpInfo, bool) {
	if p := opTable[code]; p != nil {
		return *p, true
	}
	return OpInfo{}, false
}

// OpName returns the pickletools name of an opcode, or "0x%02x" for unknown bytes.
func OpName(code byte) string {
	if p := opTable[code]; p != nil {
		return p.Name
	}
	return fmt.Sprintf("0x%02x", code)
}

// Op is one decoded opcode, like an item of Python's pickletools.genops.
//
// Arg holds the decoded inline argument, by opcode:
//
//	nil        opcodes without argument
//	int64      BININT, BININT1, BININT2, INT, LONG*, GET/PUT/BINGET/BINPUT/LONG_BINGET/LONG_BINPUT
//	           (memo index; GET/PUT text is read base 10 like CPython's unpickler, so
//	           "01" is 1, where pickletools shows True), PROTO, EXT1/2/4 (code), FRAME (length)
//	*big.Int   INT, LONG, LONG1, LONG4 values that do not fit in int64
//	bool       INT written as "00" (False) or "01" (True)
//	float64    FLOAT, BINFLOAT
//	string     UNICODE, BINUNICODE, SHORT_BINUNICODE, BINUNICODE8 (the UTF-8 bytes as written;
//	           UNICODE is converted from raw-unicode-escape, lone surrogates as WTF-8), PERSID (the raw line)
//	[]byte     STRING (quotes removed, Python escapes decoded), BINSTRING, SHORT_BINSTRING,
//	           BINBYTES, SHORT_BINBYTES, BINBYTES8
//	ByteArray  BYTEARRAY8
//	Global     GLOBAL and INST (module and name, as written)
type Op struct {
	Code   byte
	Name   string
	Offset int64 // offset of the opcode byte from the start of the reader
	Arg    any

	// idx holds the memo index of BINGET/LONG_BINGET/BINPUT/LONG_BINPUT when
	// the Decoder reads them (Arg is then nil, saving an allocation per op).
	idx int64
}

// OpReader reads opcodes one at a time from a stream, like pickletools.genops.
// It reads exactly the bytes of each opcode and its argument, never more: when r
// is an io.ByteReader (a *bufio.Reader, *bytes.Reader) single bytes come from
// ReadByte, otherwise from one-byte Read calls, so wrap slow readers in a bufio.Reader.
// It does not stop at STOP: call Next again to read a following pickle.
type OpReader struct {
	r       io.Reader
	br      io.ByteReader
	lim     Limits
	off     int64
	alloc   int64 // bytes allocated for arguments so far, charged against lim.MaxAlloc
	one     [1]byte
	scratch [8]byte
	data    []byte // the whole input when it is in memory (Unmarshal)
	inMem   bool
	rawMemo bool   // binary memo indices go to Op.idx, not Arg (set by the Decoder)
	refuse  *OpSet // opcodes to refuse before reading their argument (Options.Refuse)
	arena   []byte
}

// newOpReaderBytes reads from an in-memory pickle, without the per-byte
// interface calls of the streaming path.
func newOpReaderBytes(data []byte, lim Limits) *OpReader {
	r := NewOpReader(nil, lim)
	r.data, r.inMem = data, true
	return r
}

// NewOpReader returns an OpReader over r. Argument sizes are checked against
// lim.MaxAlloc before anything is allocated; zero fields of lim take their
// DefaultLimits(0) value.
func NewOpReader(r io.Reader, lim Limits) *OpReader {
	lim = lim.orDefaults(0)
	or := &OpReader{r: r, lim: lim}
	if br, ok := r.(io.ByteReader); ok {
		or.br = br
	}
	return or
}

// Offset returns the number of bytes consumed from the underlying reader.
func (r *OpReader) Offset() int64 { return r.off }

func (r *OpReader) readByte() (byte, error) {
	if r.inMem {
		if r.off >= int64(len(r.data)) {
			return 0, io.EOF
		}
		b := r.data[r.off]
		r.off++
		return b, nil
	}
	if r.br != nil {
		b, err := r.br.ReadByte()
		if err != nil {
			return 0, err
		}
		r.off++
		return b, nil
	}
	for {
		n, err := r.r.Read(r.one[:])
		if n == 1 {
			r.off++
			return r.one[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// readFull reads exactly len(p) bytes; a short read is ErrTruncated.
func (r *OpReader) readFull(p []byte) error {
	if r.inMem {
		n := copy(p, r.data[r.off:])
		r.off += int64(n)
		if n < len(p) {
			return ErrTruncated
		}
		return nil
	}
	n, err := io.ReadFull(r.r, p)
	r.off += int64(n)
	if err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return ErrTruncated
		}
		return err
	}
	return nil
}

// charge accounts n bytes of allocation against MaxAlloc.
func (r *OpReader) charge(n int64) error {
	if n < 0 || n > r.lim.MaxAlloc-r.alloc {
		return fmt.Errorf("%w: %d bytes requested, %d of MaxAlloc %d left", ErrLimit, n, r.lim.MaxAlloc-r.alloc, r.lim.MaxAlloc)
	}
	r.alloc += n
	return nil
}

// readN reads n bytes after charging them. It grows its buffer in chunks, so a
// huge declared length on short input fails with ErrTruncated without allocating it.
func (r *OpReader) readN(n uint64) ([]byte, error) {
	if n > math.MaxInt64 {
		return nil, fmt.Errorf("%w: length %d", ErrLimit, n)
	}
	if err := r.charge(int64(n)); err != nil {
		return nil, err
	}
	const chunk = 1 << 20
	if r.inMem && n > uint64(int64(len(r.data))-r.off) {
		r.off = int64(len(r.data))
		return nil, ErrTruncated
	}
	if n <= chunk || r.inMem {
		buf := make([]byte, n)
		return buf, r.readFull(buf)
	}
	buf := make([]byte, 0, chunk)
	for uint64(len(buf)) < n {
		m := min(n-uint64(len(buf)), chunk)
		start := len(buf)
		buf = append(buf, make([]byte, m)...)
		if err := r.readFull(buf[start:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// readLine reads up to and including '\n' and returns the line without it.
// Its length is charged against MaxAlloc as it grows.
func (r *OpReader) readLine() ([]byte, error) {
	var line []byte
	for {
		b, err := r.readByte()
		if err != nil {
			if err == io.EOF {
				return nil, ErrTruncated
			}
			return nil, err
		}
		if b == '\n' {
			return line, nil
		}
		if err := r.charge(1); err != nil {
			return nil, err
		}
		line = append(line, b)
	}
}

func (r *OpReader) fixed(n int) ([]byte, error) {
	if r.inMem && int64(len(r.data))-r.off >= int64(n) {
		p := r.data[r.off : r.off+int64(n)]
		r.off += int64(n)
		return p, nil
	}
	p := r.scratch[:n]
	return p, r.readFull(p)
}

// Next returns the next opcode. It returns io.EOF only when the input ends
// exactly before an opcode; any other failure is an *OpcodeError wrapping
// ErrTruncated, ErrMalformed, ErrLimit or the reader's error.
func (r *OpReader) Next() (Op, error) {
	start := r.off
	code, err := r.readByte()
	if err != nil {
		if err == io.EOF {
			return Op{}, io.EOF
		}
		return Op{}, &OpcodeError{Offset: start, Op: 0, Err: err}
	}
	if r.refuse != nil && r.refuse[code] {
		return Op{}, &OpcodeError{Offset: start, Op: code, Err: ErrRefused}
	}
	info := opTable[code]
	if info == nil {
		return Op{}, &OpcodeError{Offset: start, Op: code, Err: fmt.Errorf("%w: unknown opcode", ErrMalformed)}
	}
	op := Op{Code: code, Name: info.Name, Offset: start}
	if r.rawMemo && (info.kind == argU1 || info.kind == argU4) {
		switch code {
		case OpBinGet, OpBinPut, OpLongBinGet, OpLongBinPut:
			n := 4
			if info.kind == argU1 {
				n = 1
			}
			p, err := r.fixed(n)
			if err != nil {
				return Op{}, &OpcodeError{Offset: start, Op: code, Err: err}
			}
			if len(p) == 1 {
				op.idx = int64(p[0])
			} else {
				op.idx = int64(binary.LittleEndian.Uint32(p))
			}
			return op, nil
		}
	}
	arg, err := r.readArg(info.kind)
	if err != nil {
		return Op{}, &OpcodeError{Offset: start, Op: code, Err: err}
	}
	op.Arg = arg
	return op, nil
}

func (r *OpReader) readArg(kind argKind) (any, error) {
	switch kind {
	case argNone:
		return nil, nil
	case argU1:
		p, err := r.fixed(1)
		if err != nil {
			return nil, err
		}
		return int64(p[0]), nil
	case argU2:
		p, err := r.fixed(2)
		if err != nil {
			return nil, err
		}
		return int64(binary.LittleEndian.Uint16(p)), nil
	case argI4:
		p, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		return int64(int32(binary.LittleEndian.Uint32(p))), nil
	case argU4:
		p, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		return int64(binary.LittleEndian.Uint32(p)), nil
	case argU8:
		p, err := r.fixed(8)
		if err != nil {
			return nil, err
		}
		v := binary.LittleEndian.Uint64(p)
		if v > math.MaxInt64 {
			return nil, fmt.Errorf("%w: length %d", ErrLimit, v)
		}
		return int64(v), nil
	case argFloat8:
		p, err := r.fixed(8)
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(p)), nil
	case argDecimalNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		switch string(line) {
		case "00":
			return false, nil
		case "01":
			return true, nil
		}
		return parsePyInt(line)
	case argMemoNL:
		// CPython's load_get/load_put use int(line): base 10, and "00"/"01"
		// are plain 0 and 1 here (pickletools would show them as False/True).
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		s := strings.TrimPrefix(strings.TrimSpace(string(line)), "+")
		v, perr := strconv.ParseInt(s, 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("%w: bad memo index %q", ErrMalformed, clip(line))
		}
		return v, nil
	case argLongNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if n := len(line); n > 0 && line[n-1] == 'L' {
			line = line[:n-1]
		}
		return parsePyInt(line)
	case argFloatNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		s := strings.TrimSpace(string(line))
		f, perr := strconv.ParseFloat(strings.ReplaceAll(s, "_", ""), 64)
		if perr != nil {
			var ne *strconv.NumError
			if ok := asNumErr(perr, &ne); !ok || ne.Err != strconv.ErrRange {
				return nil, fmt.Errorf("%w: bad float %q", ErrMalformed, clip(line))
			}
		}
		if math.IsNaN(f) {
			// Python's float("nan") is the quiet NaN 0x7ff8000000000000 (sign set for "-nan").
			f = math.Float64frombits(0x7ff8000000000000)
			if strings.HasPrefix(s, "-") {
				f = math.Copysign(f, -1)
			}
		}
		return f, nil
	case argStringNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		if len(line) < 2 || line[0] != line[len(line)-1] || (line[0] != '\'' && line[0] != '"') {
			return nil, fmt.Errorf("%w: the STRING opcode argument must be quoted", ErrMalformed)
		}
		return escapeDecode(line[1 : len(line)-1])
	case argUnicodeNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		return rawUnicodeEscapeDecode(line)
	case argPersIDNL:
		line, err := r.readLine()
		if err != nil {
			return nil, err
		}
		return string(line), nil
	case argGlobalNL:
		mod, err := r.readLine()
		if err != nil {
			return nil, err
		}
		name, err := r.readLine()
		if err != nil {
			return nil, err
		}
		return Global{Module: string(mod), Name: string(name)}, nil
	case argLong1, argLong4:
		var n int64
		if kind == argLong1 {
			p, err := r.fixed(1)
			if err != nil {
				return nil, err
			}
			n = int64(p[0])
		} else {
			p, err := r.fixed(4)
			if err != nil {
				return nil, err
			}
			n = int64(int32(binary.LittleEndian.Uint32(p)))
			if n < 0 {
				return nil, fmt.Errorf("%w: LONG4 byte count < 0", ErrMalformed)
			}
		}
		b, err := r.readN(uint64(n))
		if err != nil {
			return nil, err
		}
		return decodeLong(b), nil
	case argBytes1, argUnicode1:
		p, err := r.fixed(1)
		if err != nil {
			return nil, err
		}
		return r.bytesArg(kind, uint64(p[0]))
	case argBytes4:
		p, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		n := int32(binary.LittleEndian.Uint32(p))
		if n < 0 {
			return nil, fmt.Errorf("%w: BINSTRING pickle has negative byte count", ErrMalformed)
		}
		return r.bytesArg(kind, uint64(n))
	case argBytesU4, argUnicode4:
		p, err := r.fixed(4)
		if err != nil {
			return nil, err
		}
		return r.bytesArg(kind, uint64(binary.LittleEndian.Uint32(p)))
	case argBytes8, argUnicode8, argByteArray8:
		p, err := r.fixed(8)
		if err != nil {
			return nil, err
		}
		return r.bytesArg(kind, binary.LittleEndian.Uint64(p))
	}
	return nil, fmt.Errorf("%w: internal: argument kind %d", ErrMalformed, kind)
}

func (r *OpReader) bytesArg(kind argKind, n uint64) (any, error) {
	if n > 0 && n <= maxArenaString && (kind == argUnicode1 || kind == argUnicode4 || kind == argUnicode8) {
		return r.arenaString(int(n))
	}
	b, err := r.readN(n)
	if err != nil {
		return nil, err
	}
	switch kind {
	case argUnicode1, argUnicode4, argUnicode8:
		return ownString(b), nil
	case argByteArray8:
		return ByteArray(b), nil
	}
	return b, nil
}

// Short strings are carved out of shared chunks, saving an allocation each;
// strings are immutable, so sharing a chunk is safe (it stays alive while any
// string in it does).
const (
	maxArenaString = 256
	arenaChunk     = 16 << 10
)

func (r *OpReader) arenaString(n int) (any, error) {
	if err := r.charge(int64(n)); err != nil {
		return nil, err
	}
	if cap(r.arena)-len(r.arena) < n {
		r.arena = make([]byte, 0, arenaChunk)
	}
	start := len(r.arena)
	b := r.arena[start : start+n]
	if err := r.readFull(b); err != nil {
		return nil, err
	}
	r.arena = r.arena[:start+n]
	return ownString(b), nil
}

// arenaCopy returns a copy of b as a string: carved out of the arena when
// it is short, as arenaString's are, its own allocation otherwise.
func (r *OpReader) arenaCopy(b []byte) string {
	if len(b) > maxArenaString {
		return string(b)
	}
	if cap(r.arena)-len(r.arena) < len(b) {
		r.arena = make([]byte, 0, arenaChunk)
	}
	start := len(r.arena)
	r.arena = append(r.arena, b...)
	return ownString(r.arena[start:])
}

func asNumErr(err error, target **strconv.NumError) bool {
	ne, ok := err.(*strconv.NumError)
	if ok {
		*target = ne
	}
	return ok
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "…"
	}
	return string(b)
}

// maxIntDigits bounds decimal INT/LONG text like CPython's default
// sys.int_info.str_digits_check_threshold (int('9'*5000) is refused there too),
// since parsing longer decimal text costs quadratic time.
const maxIntDigits = 4300

// parsePyInt parses the text of INT/LONG like Python's int(text, 0).
func parsePyInt(line []byte) (any, error) {
	s := strings.TrimSpace(string(line))
	if len(s) > maxIntDigits+8 {
		return nil, fmt.Errorf("%w: integer text of %d characters exceeds %d digits", ErrLimit, len(s), maxIntDigits)
	}
	body := strings.TrimLeft(s, "+-")
	if len(s)-len(body) > 1 || body == "" {
		return nil, fmt.Errorf("%w: bad integer %q", ErrMalformed, clip(line))
	}
	// Python's base 0 rejects "010" (ambiguous octal) but accepts "000".
	if len(body) > 1 && body[0] == '0' && body[1] >= '0' && body[1] <= '9' || len(body) > 1 && body[0] == '0' && body[1] == '_' {
		if strings.Trim(body, "0_") != "" {
			return nil, fmt.Errorf("%w: bad integer %q", ErrMalformed, clip(line))
		}
		return int64(0), nil
	}
	v, ok := new(big.Int).SetString(s, 0)
	if !ok {
		return nil, fmt.Errorf("%w: bad integer %q", ErrMalformed, clip(line))
	}
	if v.IsInt64() {
		return v.Int64(), nil
	}
	return v, nil
}

// decodeLong decodes a little-endian two's complement integer (LONG1/LONG4).
func decodeLong(b []byte) any {
	n := len(b)
	if n == 0 {
		return int64(0)
	}
	if n <= 8 {
		var u uint64
		for i := n - 1; i >= 0; i-- {
			u = u<<8 | uint64(b[i])
		}
		shift := uint(64 - 8*n)
		return int64(u<<shift) >> shift
	}
	be := make([]byte, n)
	for i := range b {
		be[n-1-i] = b[i]
	}
	v := new(big.Int).SetBytes(be)
	if b[n-1]&0x80 != 0 {
		v.Sub(v, new(big.Int).Lsh(big.NewInt(1), uint(8*n)))
	}
	if v.IsInt64() {
		return v.Int64()
	}
	return v
}

// escapeDecode implements Python's codecs.escape_decode (bytes escapes).
func escapeDecode(s []byte) ([]byte, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			out = append(out, c)
			continue
		}
		i++
		if i >= len(s) {
			return nil, fmt.Errorf("%w: trailing \\ in string", ErrMalformed)
		}
		c = s[i]
		switch c {
		case '\n':
		case '\\', '\'', '"':
			out = append(out, c)
		case 'a':
			out = append(out, 7)
		case 'b':
			out = append(out, 8)
		case 'f':
			out = append(out, 12)
		case 'n':
			out = append(out, '\n')
		case 'r':
			out = append(out, '\r')
		case 't':
			out = append(out, '\t')
		case 'v':
			out = append(out, 11)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := int(c - '0')
			for k := 0; k < 2 && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '7'; k++ {
				i++
				v = v*8 + int(s[i]-'0')
			}
			out = append(out, byte(v))
		case 'x':
			if i+2 >= len(s) {
				return nil, fmt.Errorf("%w: invalid \\x escape", ErrMalformed)
			}
			h1, ok1 := unhex(s[i+1])
			h2, ok2 := unhex(s[i+2])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%w: invalid \\x escape", ErrMalformed)
			}
			out = append(out, h1<<4|h2)
			i += 2
		default:
			out = append(out, '\\', c)
		}
	}
	return out, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// rawUnicodeEscapeDecode implements Python's raw-unicode-escape codec: bytes are
// Latin-1 code points except \uXXXX and \UXXXXXXXX. Lone surrogates are kept as
// WTF-8 (as CPython's utf-8 "surrogatepass" would write them).
func rawUnicodeEscapeDecode(s []byte) (string, error) {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' || i+1 >= len(s) {
			out = utf8.AppendRune(out, rune(c))
			continue
		}
		i++
		c = s[i]
		var count int
		switch c {
		case 'u':
			count = 4
		case 'U':
			count = 8
		default:
			out = append(out, '\\')
			out = utf8.AppendRune(out, rune(c))
			continue
		}
		if i+count >= len(s) {
			return "", fmt.Errorf("%w: truncated \\%cXXXX escape", ErrMalformed, c)
		}
		var v uint32
		for k := 1; k <= count; k++ {
			h, ok := unhex(s[i+k])
			if !ok {
				return "", fmt.Errorf("%w: truncated \\%cXXXX escape", ErrMalformed, c)
			}
			v = v<<4 | uint32(h)
		}
		i += count
		if v > 0x10ffff {
			return "", fmt.Errorf("%w: \\Uxxxxxxxx out of range", ErrMalformed)
		}
		out = appendWTF8(out, rune(v))
	}
	return ownString(out), nil
}

// ownString returns b as a string without copying; b must never change afterwards.
// Each decoded str thus has its own backing array, which is its identity for
// the encoder's memo (Go's string(b) shares one static array for all 1-byte
// strings, which would merge strings CPython keeps apart).
func ownString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// appendWTF8 appends r as UTF-8, writing surrogates (which utf8 refuses) as
// their 3-byte generalized form, as Python's "surrogatepass" does.
func appendWTF8(b []byte, r rune) []byte {
	if r >= 0xd800 && r <= 0xdfff {
		return append(b, 0xe0|byte(r>>12), 0x80|byte(r>>6)&0x3f, 0x80|byte(r)&0x3f)
	}
	return utf8.AppendRune(b, r)
}
