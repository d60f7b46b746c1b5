package pth

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/pthkit/pth/internal/safeglobals"
	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Format names a PyTorch file format.
type Format string

// The formats Open recognises.
const (
	// FormatZip is torch.save's zip format (PyTorch ≥ 1.6).
	FormatZip Format = "torch-zip"
	// FormatLegacy is the legacy pickle stream (_use_new_zipfile_serialization=False, PyTorch < 1.6).
	FormatLegacy Format = "torch-legacy"
	// FormatTar is the tar format of PyTorch ≤ 0.3.
	FormatTar Format = "torch-tar"
	// FormatPickle is a plain pickle (pickle.dump).
	FormatPickle Format = "pickle"
	// FormatTorchScript is a TorchScript archive (torch.jit.save).
	FormatTorchScript Format = "torchscript"
)

// legacyMagic is the pickled MAGIC_NUMBER 0x1950a86a20f9469cfc6c that starts the legacy stream.
var legacyMagic = []byte{0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e}

// DetectFormat names the format of a file from its first bytes (at least 512 for
// tar detection; fewer are fine for the others). It cannot tell TorchScript from
// the zip format, which needs the record list; Open does that.
func DetectFormat(head []byte) (Format, error) {
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return FormatZip, nil
	case bytes.HasPrefix(head, []byte("PYTORCH1")):
		return "", ErrPreviewFormat
	case bytes.HasPrefix(head, legacyMagic):
		return FormatLegacy, nil
	case len(head) >= 263 && string(head[257:262]) == "ustar":
		return FormatTar, nil
	case len(head) == 0:
		return "", errorf(ErrFormat, "empty file")
	case isLegacyMagic(head):
		// The legacy stream written with pickle_protocol ≥ 4 frames the magic number.
		return FormatLegacy, nil
	}
	return FormatPickle, nil
}

// isLegacyMagic reports whether head starts with a pickle of the legacy magic number.
func isLegacyMagic(head []byte) bool {
	// The magic pickle is short: one that does not end within 64 bytes is not it.
	v, err := unmarshal(head[:min(len(head), 64)], nil)
	m, ok := v.(*big.Int)
	return err == nil && ok && m.Cmp(legacyMagicNumber) == 0
}

// unmarshal is pickle.Unmarshal that turns a panic inside the decoder into an
// error: whatever the bytes, opening a file must not crash the program.
func unmarshal(data []byte, opts *pickle.Options) (v pickle.Value, err error) {
	v, _, err = unmarshalShared(data, opts)
	return v, err
}

// unmarshalShared is unmarshal that also reports pickle.Decoder.Shared.
func unmarshalShared(data []byte, opts *pickle.Options) (v pickle.Value, shared bool, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("%w: pickle decoder failed on this input (a bug in package pickle): %v", pickle.ErrMalformed, r)
		}
	}()
	d := pickle.NewBytesDecoder(data, opts)
	v, err = d.Decode()
	if err == io.EOF {
		err = &pickle.OpcodeError{Offset: 0, Err: fmt.Errorf("%w: empty input", pickle.ErrTruncated)}
	}
	return v, d.Shared(), err
}

// Options configure reading. The zero value (or nil) reads anything readable.
type Options struct {
	// WeightsOnly refuses what torch.load(weights_only=True) refuses (current
	// PyTorch): globals off the allow-list (ErrUnsafeGlobal), other opcodes,
	// NEWOBJ/BUILD/SETITEM targets and persistent ids (ErrWeightsOnly), and
	// TorchScript and tar files.
	WeightsOnly bool
	// SafeGlobals extends the weights-only allow-list with "module.name" entries,
	// like torch.serialization.add_safe_globals.
	SafeGlobals []string
	// VerifyCRC checks every zip record's CRC-32 while opening (this reads every
	// record once).
	VerifyCRC bool
	// MapLocation rewrites storage location tags, like torch.load's map_location:
	// a string (every storage gets it), a map[string]string (tags found in it are
	// replaced) or a func(tag string) string. Tensors always load into host
	// memory; the (mapped) tag is kept in Storage.Location.
	MapLocation any
	// Limits bound the pickle decoder; the zero value means pickle.DefaultLimits
	// of the pickle's size.
	Limits pickle.Limits

	// noSplice turns off the fast reading of torch.save's tensors (splice.go);
	// tests compare both ways.
	noSplice bool
}

// File is an opened PyTorch file. Its tensors are views of the file's memory
// mapping (or read lazily from the reader): keep the File open while using them,
// or copy what you need before Close.
type File struct {
	// Format is the container format.
	Format Format
	// Root is the interpreted value tree (for TorchScript, the data.pkl module tree).
	Root Value

	name    string
	globals []pickle.Global
	records []Record
	// zr is the zip directory of a zip or TorchScript file (nil for other
	// formats, and after Close: it may view the mapping), turned into
	// records on the first call of Records (most opens never ask).
	zr         *zipfile.Reader
	recordsOne sync.Once
	// zipStorages locates the deferred storages of a mapped zip file until Close.
	zipStorages *zipStorages
	// spliced counts the tensors read by the splicer (splice.go).
	spliced int
	// mapped is the file's read-only mapping (nil when read through ReadAt
	// or after Close).
	mapped []byte
	unmap  func() error
}

// Record describes one record of a zip-based file.
type Record struct {
	Name       string // full name, "<archive>/<record>"
	Offset     int64  // offset of the record's data in the file (-1: its local header is unreadable)
	Size       int64  // uncompressed size
	Compressed bool   // stored deflated (tensor data must be stored to be mapped)
}

// Globals returns every global the file's pickles reference, as "module.name"
// in the spelling written, in order of first appearance, without duplicates.
func (f *File) Globals() []string {
	seen := map[string]bool{}
	var out []string
	for _, g := range f.globals {
		s := g.String()
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// UnsafeGlobals returns the globals of Globals that torch.load(weights_only=True)
// would refuse by default (not on PyTorch's allow-list, or in a blocked module).
func (f *File) UnsafeGlobals() []string {
	var out []string
	seen := map[string]bool{}
	for _, g := range f.globals {
		s := g.String()
		if seen[s] {
			continue
		}
		seen[s] = true
		if !globalAllowed(g, nil) {
			out = append(out, s)
		}
	}
	return out
}

// Records lists the records of a zip or TorchScript file (nil for other
// formats). After Close it returns what it returned before, or nil if it was
// never called.
func (f *File) Records() []Record {
	f.recordsOne.Do(func() {
		if f.zr == nil || f.zr.Len() == 0 {
			return
		}
		recs := make([]Record, f.zr.Len())
		for i, r := range f.zr.Records() {
			recs[i] = Record{Name: r.Name, Offset: r.DataOffset, Size: r.Size, Compressed: r.Method != zipfile.Store}
		}
		f.records = recs
	})
	return f.records
}

// Close releases the file's mapping. Tensors whose bytes were not copied must
// not be used afterwards.
func (f *File) Close() error {
	f.zr = nil // it may view the mapping
	if f.zipStorages != nil {
		f.zipStorages.close() // storages not used yet can no longer be
	}
	if f.unmap != nil {
		u := f.unmap
		f.unmap, f.mapped = nil, nil
		return u()
	}
	return nil
}

// Open opens and interprets the PyTorch file at path. The file is memory-mapped
// read-only (or read through ReadAt where mapping fails); no tensor bytes are
// read until a storage's Bytes is called.
func Open(path string, opts *Options) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, err
	}
	size := st.Size()
	var mapped []byte
	if size > 0 && size == int64(int(size)) {
		if m, err := unix.Mmap(int(fh.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED); err == nil {
			mapped = m
		}
	}
	release := fh.Close
	var ra io.ReaderAt = fh
	if mapped != nil {
		fh.Close() // the mapping outlives the descriptor
		ra = &mappedReader{bytes.NewReader(mapped), mapped}
		release = func() error { return unix.Munmap(mapped) }
	}
	f, err := open(ra, size, mapped, filepath.Base(path), opts)
	if err != nil {
		_ = release()
		return nil, err
	}
	f.unmap = release
	f.mapped = mapped
	return f, nil
}

// NewReader opens and interprets a PyTorch file of size bytes read through r.
// Storages read their bytes from r lazily, on first use.
func NewReader(r io.ReaderAt, size int64, opts *Options) (*File, error) {
	return open(r, size, nil, "", opts)
}

// Load reads the PyTorch file at path into memory and returns its interpreted
// root value. Unlike Open, nothing refers to the file afterwards.
func Load(path string, opts *Options) (Value, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := open(bytes.NewReader(data), int64(len(data)), data, filepath.Base(path), opts)
	if err != nil {
		return nil, err
	}
	return f.Root, nil
}

// loader carries the state of one open.
type loader struct {
	name     string
	opts     Options
	mapLoc   func(string) string
	file     *File
	ra       io.ReaderAt
	size     int64
	mapped   []byte
	userSafe map[string]bool
	// pickleBytes is the size of the pickles decoded so far (sizes tables).
	pickleBytes int
	// storages allocates the storages over the mapping.
	storages tensor.StorageArena
	// shared is set when a decoded pickle may reference a container twice
	// (pickle.Decoder.Shared); otherwise the interpreter need not track
	// what it has already interpreted.
	shared bool
}

func open(ra io.ReaderAt, size int64, mapped []byte, name string, opts *Options) (*File, error) {
	l := &loader{name: name, ra: ra, size: size, mapped: mapped, file: &File{name: name}}
	if opts != nil {
		l.opts = *opts
	}
	var err error
	if l.mapLoc, err = mapLocationFunc(l.opts.MapLocation); err != nil {
		return nil, err
	}
	l.userSafe = map[string]bool{}
	for _, s := range l.opts.SafeGlobals {
		l.userSafe[s] = true
	}
	head := make([]byte, 512)
	n, err := ra.ReadAt(head, 0)
	if err != nil && err != io.EOF {
		return nil, &Error{File: name, Offset: 0, Err: err}
	}
	head = head[:n]
	if int64(n) > size {
		head = head[:size]
	}
	format, err := DetectFormat(head)
	if err != nil {
		return nil, &Error{File: name, Offset: 0, Err: err}
	}
	switch format {
	case FormatZip:
		err = l.readZip()
	case FormatLegacy:
		err = l.readLegacy()
	case FormatTar:
		err = l.readTar()
	default:
		err = l.readPlainPickle()
	}
	if err != nil {
		return nil, err
	}
	return l.file, nil
}

// mapLocationFunc turns Options.MapLocation into a function.
func mapLocationFunc(m any) (func(string) string, error) {
	switch x := m.(type) {
	case nil:
		return nil, nil
	case string:
		return func(string) string { return x }, nil
	case map[string]string:
		return func(tag string) string {
			if v, ok := x[tag]; ok {
				return v
			}
			return tag
		}, nil
	case func(string) string:
		return x, nil
	}
	return nil, fmt.Errorf("pth: MapLocation must be a string, map[string]string or func(string) string, not %T", m)
}

// pickleOptions returns the decoder options for one pickle of about size bytes
// starting at file (or record) offset base: the weights-only rules, applied as
// the opcodes stream by, the recording of globals, and the persistent loader.
func (l *loader) pickleOptions(size, base int64, pload func(pickle.Value) (pickle.Value, error)) *pickle.Options {
	lim := l.opts.Limits
	if lim == (pickle.Limits{}) {
		lim = pickle.DefaultLimits(size)
	}
	po := &pickle.Options{Limits: lim}
	po.OnGlobal = func(off int64, g pickle.Global) error {
		l.file.globals = append(l.file.globals, g)
		if l.opts.WeightsOnly {
			return l.checkGlobal(base+off, g)
		}
		return nil
	}
	if l.opts.WeightsOnly {
		po.Refuse = &weightsOnlyRefused
	}
	if pload != nil {
		po.PersistentLoad = func(id pickle.Value) (pickle.Value, error) {
			if l.opts.WeightsOnly {
				if err := weightsOnlyPID(id); err != nil {
					return nil, err
				}
			}
			return pload(id)
		}
	}
	return po
}

// decodePickle decodes one pickle held in data (bytes after its STOP are
// ignored), applying the weights-only checks, and records its globals.
func (l *loader) decodePickle(data []byte, record string, pload func(pickle.Value) (pickle.Value, error)) (pickle.Value, error) {
	return l.decodePickleIn(data, record, pload, nil)
}

// decodePickleIn is decodePickle that, when in is not nil, lets in read
// torch.save's tensors straight from the bytes (in.splice) and, unless in
// weights-only mode, rebuild other tensors while the pickle is decoded
// (in.reduceEarly).
//
// Weights-only mode checks its rules on the tree the generic machine builds
// (checkTree) and refuses opcodes as it meets them; a spliced tensor is what
// that machine's _rebuild_tensor_v2 call would become, and the splicer
// declines the opcodes refused. A pickle that fails with the splicer is
// decoded again without it, so that the error is the one the generic machine
// reports first, as PyTorch's weights-only unpickler would.
func (l *loader) decodePickleIn(data []byte, record string, pload func(pickle.Value) (pickle.Value, error), in *interpreter) (pickle.Value, error) {
	po := l.pickleOptions(int64(len(data)), 0, pload)
	if in != nil && !l.opts.noSplice {
		po.Splicer = in.splice
	}
	if in != nil && !l.opts.WeightsOnly {
		po.Reduce = in.reduceEarly
	}
	nglobals := len(l.file.globals)
	v, shared, err := unmarshalShared(data, po)
	checked := false // v passed weights-only's checks
	if err == nil && l.opts.WeightsOnly && po.Splicer != nil {
		_, cerr := l.checkDecoded(v, record)
		checked = cerr == nil
	}
	if po.Splicer != nil && (errors.Is(err, pickle.ErrSpliced) || l.opts.WeightsOnly && !checked) {
		// The pickle fetched a value the splicer did not build (no torch
		// version writes such pickles), or failed in weights-only mode:
		// decode it again the generic way.
		l.file.globals = l.file.globals[:nglobals]
		po.Splicer = nil
		in.spliced = 0
		v, shared, err = unmarshalShared(data, po)
		checked = false
	}
	if in != nil {
		l.file.spliced += in.spliced
	}
	if err != nil {
		return nil, l.pickleError(record, 0, err)
	}
	l.shared = l.shared || shared
	l.pickleBytes += len(data)
	if checked {
		return v, nil
	}
	return l.checkDecoded(v, record)
}

// checkDecoded applies weights-only's rules on the decoded tree.
func (l *loader) checkDecoded(v pickle.Value, record string) (pickle.Value, error) {
	if l.opts.WeightsOnly {
		if err := l.checkTree(v); err != nil {
			return nil, locate(l.name, record, -1, err)
		}
	}
	return v, nil
}

// pickleError turns a decoder error into this package's: a refused opcode
// becomes weights-only's "Unsupported operand", a truncated or malformed
// pickle also wraps ErrFormat. base is the pickle's offset in the file (legacy
// streams) or record (0).
func (l *loader) pickleError(record string, base int64, err error) error {
	var oe *pickle.OpcodeError
	switch {
	case errors.Is(err, pickle.ErrRefused) && errors.As(err, &oe):
		return &Error{File: l.name, Record: record, Offset: base + oe.Offset, Err: errorf(ErrWeightsOnly,
			"Unsupported operand %d", oe.Op)}
	case errors.Is(err, pickle.ErrTruncated), errors.Is(err, pickle.ErrMalformed):
		err = fmt.Errorf("%w: %w", ErrFormat, err)
	}
	off := int64(-1)
	if base > 0 {
		off = base
	}
	return locate(l.name, record, off, err)
}

// storagePID parses a ('storage', class, key, location, numel[, view]) persistent id.
func (l *loader) storagePID(id pickle.Value) (pickle.Value, error) {
	t, ok := id.(pickle.Tuple)
	if !ok || len(t) == 0 {
		return nil, errorf(ErrInvalid, "persistent id %s is not a tuple", shortRepr(id))
	}
	switch t[0] {
	case "storage":
	case "module": // legacy: ('module', class, source_file, source) → the class, inert
		if len(t) < 2 {
			return nil, errorf(ErrInvalid, "module persistent id of length %d", len(t))
		}
		return t[1], nil
	default:
		return nil, errorf(ErrInvalid, "persistent id of type %s", shortRepr(t[0]))
	}
	if len(t) != 5 && len(t) != 6 {
		return nil, errorf(ErrInvalid, "storage persistent id of length %d", len(t))
	}
	cls, ok := t[1].(pickle.Global)
	if !ok {
		return nil, errorf(ErrInvalid, "storage class is %T", t[1])
	}
	var key string
	switch k := t[2].(type) {
	case string:
		key = k
	case int64:
		key = fmt.Sprint(k)
	default:
		return nil, errorf(ErrInvalid, "storage key is %T", t[2])
	}
	loc, ok := t[3].(string)
	if !ok {
		return nil, &keyError{key, errorf(ErrInvalid, "storage location is %T", t[3])}
	}
	n, err := asInt(t[4], "storage numel")
	if err != nil || n < 0 {
		return nil, &keyError{key, errorf(ErrInvalid, "storage numel %s", shortRepr(t[4]))}
	}
	ref := &storageRef{}
	if err := ref.set(cls, key, loc, n); err != nil {
		return nil, err
	}
	if len(t) == 6 && t[5] != nil {
		vm, ok := t[5].(pickle.Tuple)
		if !ok || len(vm) != 3 {
			return nil, &keyError{ref.key, errorf(ErrInvalid, "view metadata %s", shortRepr(t[5]))}
		}
		switch k := vm[0].(type) {
		case string:
			ref.viewKey = k
		case int64:
			ref.viewKey = fmt.Sprint(k)
		default:
			return nil, &keyError{ref.key, errorf(ErrInvalid, "view key is %T", vm[0])}
		}
		var e1, e2 error
		ref.viewOff, e1 = asInt(vm[1], "view offset")
		ref.viewLen, e2 = asInt(vm[2], "view size")
		if err := errors.Join(e1, e2); err != nil {
			return nil, &keyError{ref.key, err}
		}
		ref.isView = true
	}
	return ref, nil
}

// set fills in a storage reference from the fields of its persistent id
// (numel ≥ 0).
func (ref *storageRef) set(cls pickle.Global, key, location string, numel int64) error {
	dt, ok := parseStorageClass(cls.Name)
	if !ok {
		return &keyError{key, errorf(ErrUnsupported, "storage class %s", cls)}
	}
	*ref = makeStorageRef(dt, cls, key, location, numel)
	return nil
}

// makeStorageRef is a storage reference of class cls, whose dtype is dt.
func makeStorageRef(dt tensor.DType, cls pickle.Global, key, location string, numel int64) storageRef {
	return storageRef{key: key, dtype: dt, untyped: cls.Name == "UntypedStorage", numel: numel, location: location}
}

// shortRepr is v's Python repr for an error message, clipped to 80 bytes.
func shortRepr(v pickle.Value) string {
	r := pickle.Sprint(v)
	if len(r) > 80 {
		cut := 77
		for cut > 0 && !utf8.RuneStart(r[cut]) {
			cut--
		}
		r = r[:cut] + "..."
	}
	return r
}

// parseStorageClass maps a storage class name to the storage's dtype.
func parseStorageClass(name string) (dt tensor.DType, ok bool) {
	return tensor.ParseStorageClass(name)
}

// interpret runs interpretation over the decoded root with open as the storage source.
func (l *loader) interpret(root pickle.Value, record string, open storageSource) error {
	return l.interpretIn(newInterpreter(open, l.mapLoc, l.pickleBytes), root, record)
}

// interpretIn is interpret with a given interpreter.
func (l *loader) interpretIn(in *interpreter, root pickle.Value, record string) error {
	in.tree = !l.shared
	if !in.tree {
		in.seen = make(map[any]Value, min(in.sizeHint/96, 1<<20))
	}
	v, err := in.value(root)
	if err != nil {
		return locate(l.name, record, -1, err)
	}
	l.file.Root = v
	return nil
}

func (l *loader) readPlainPickle() error {
	data, err := l.readAll(0, l.size, "pickle")
	if err != nil {
		return err
	}
	l.file.Format = FormatPickle
	v, err := l.decodePickle(data, "", nil)
	if err != nil {
		return err
	}
	return l.interpret(v, "", func(key string, _ tensor.DType, _, _ int64) (*tensor.Storage, error) {
		return nil, errorf(ErrMissingRecord, "a plain pickle has no storage records")
	})
}

// readAll returns n bytes at off: a slice of the mapping, or a fresh read.
func (l *loader) readAll(off, n int64, what string) ([]byte, error) {
	if off < 0 || n < 0 || off > l.size || n > l.size-off {
		// what may view the mapping (zipfile.Reader.At): errors copy it.
		return nil, &Error{File: l.name, Record: strings.Clone(what), Offset: off, Err: errorf(ErrFormat, "%d bytes at %d exceed the file's %d", n, off, l.size)}
	}
	if l.mapped != nil {
		return l.mapped[off : off+n], nil
	}
	b := make([]byte, n)
	if _, err := l.ra.ReadAt(b, off); err != nil && !(err == io.EOF && int64(len(b)) == n) {
		return nil, &Error{File: l.name, Record: strings.Clone(what), Offset: off, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	}
	return b, nil
}

// globalAllowed reports whether weights-only mode accepts g (user is the
// SafeGlobals set, may be nil).
func globalAllowed(g pickle.Global, user map[string]bool) bool {
	m, n := safeglobals.Canonical(g.Module, g.Name)
	if safeglobals.Blocked(m) {
		return false
	}
	if safeglobals.WeightsOnlyAllowed(m, n) || user[m+"."+n] || user[g.String()] {
		return true
	}
	// torch.<X>Storage and torch.cuda.<X>Storage map to StorageType.
	if (m == "torch" || m == "torch.cuda") && safeglobals.IsStorageClassName(n) {
		return true
	}
	return false
}

// weightsOnlyPID applies weights-only's rule on persistent ids: a tuple whose
// first item is 'storage', or an int.
func weightsOnlyPID(id pickle.Value) error {
	switch x := id.(type) {
	case int64:
		return nil
	case pickle.Tuple:
		if len(x) > 0 && x[0] == "storage" {
			return nil
		}
	}
	return errorf(ErrWeightsOnly, "Only persistent_load of storage is allowed, but got %s", shortRepr(id))
}

// weightsOnlyRefused lists the opcodes torch's weights-only unpickler
// (torch/_weights_only_unpickler.py) does not accept.
var weightsOnlyRefused = func() pickle.OpSet {
	var refused pickle.OpSet
	for i := range refused {
		refused[i] = true
	}
	for _, c := range []byte{0x80, '.', '(', 't', 0x85, 0x86, 0x87, ')', ']', '}', 0x8f,
		'a', 'e', 's', 'u', 'N', 0x88, 0x89, 'J', 'K', 'M', 0x8a, 'G', 'X', 'U',
		'Q', 'h', 'j', 'q', 'r', 'c', 'R', 0x81, 'b'} {
		refused[c] = false
	}
	return refused
}()

// checkGlobal applies weights-only's rule on a global met at offset off.
func (l *loader) checkGlobal(off int64, g pickle.Global) error {
	m, n := safeglobals.Canonical(g.Module, g.Name)
	if safeglobals.Blocked(m) {
		return &Error{File: l.name, Offset: off, Err: errorf(ErrUnsafeGlobal,
			"Trying to load unsupported GLOBAL %s.%s whose module %s is blocked.", m, n, m)}
	}
	if !globalAllowed(g, l.userSafe) {
		dn := safeglobals.DisplayName(m, n)
		return &Error{File: l.name, Offset: off, Err: errorf(ErrUnsafeGlobal,
			"Unsupported global: GLOBAL %s was not an allowed global by default. "+
				"Please use `torch.serialization.add_safe_globals([%s])` or the "+
				"`torch.serialization.safe_globals([%s])` context manager to allowlist this global "+
				"if you trust this class/function.", dn, dn, dn)}
	}
	return nil
}

// checkTree applies weights-only's rules on NEWOBJ, BUILD, SETITEM(S) and
// APPEND(S) targets to a decoded (not yet interpreted) tree.
func (l *loader) checkTree(root pickle.Value) error {
	seen := map[any]bool{}
	var walk func(v pickle.Value, depth int) error
	walk = func(v pickle.Value, depth int) error {
		if depth > maxInterpDepth {
			return errorf(pickle.ErrLimit, "values nested deeper than %d", maxInterpDepth)
		}
		switch x := v.(type) {
		case pickle.Tuple:
			if k, ok := tupleKey(x); ok {
				if seen[k] {
					return nil
				}
				seen[k] = true
			}
			for _, e := range x {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case *pickle.List:
			if seen[x] {
				return nil
			}
			seen[x] = true
			for _, e := range x.Items {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		case *pickle.Dict:
			if seen[x] {
				return nil
			}
			seen[x] = true
			for _, e := range x.Entries {
				if err := walk(e.Value, depth+1); err != nil {
					return err
				}
			}
		case *pickle.Object:
			if seen[x] {
				return nil
			}
			seen[x] = true
			if err := l.checkObject(x); err != nil {
				return err
			}
			for _, e := range []pickle.Value{x.Callable, x.Args, x.State} {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
			for _, e := range x.Items {
				if err := walk(e.Value, depth+1); err != nil {
					return err
				}
			}
			for _, e := range x.Appended {
				if err := walk(e, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return walk(root, 0)
}

func (l *loader) checkObject(o *pickle.Object) error {
	g, isGlobal := o.Callable.(pickle.Global)
	name := fmt.Sprint(o.Callable)
	canon := ""
	if isGlobal {
		canon = canonicalName(g)
		name = canon
	}
	user := isGlobal && (l.userSafe[canon] || l.userSafe[g.String()])
	if o.Kind == pickle.NewObj && !(canon == "torch.nn.parameter.Parameter" || user) {
		return errorf(ErrWeightsOnly, "Can only create new object for nn.Parameter or classes allowlisted via `add_safe_globals` but got %s", name)
	}
	if o.Built {
		ok := user || canon == "collections.OrderedDict" || canon == "torch.nn.parameter.Parameter" ||
			canon == "torch._tensor._rebuild_from_type_v2" || canon == "torch.Tensor" ||
			strings.HasPrefix(canon, "torch._utils._rebuild_")
		if !ok {
			return errorf(ErrWeightsOnly, "Can only build Tensor, Parameter, OrderedDict or types allowlisted via `add_safe_globals`, but got %s", name)
		}
	}
	if len(o.Items) > 0 && !(user || canon == "collections.OrderedDict" || canon == "collections.Counter") {
		return errorf(ErrWeightsOnly, "Can only SETITEM/SETITEMS on dict, OrderedDict or Counter, but got %s", name)
	}
	if len(o.Appended) > 0 && !user {
		return errorf(ErrWeightsOnly, "Can only APPEND/APPENDS on a list, but got %s", name)
	}
	return nil
}
