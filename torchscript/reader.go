package torchscript

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/pthkit/pth/internal/zipfile"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// ErrFormat is wrapped by errors about archives that are not well-formed TorchScript
// zips: a missing record, records outside the archive folder, a record too large.
var ErrFormat = errors.New("torchscript: not a valid TorchScript archive")

// ErrUnsupported is wrapped by errors about constructs pth cannot interpret; the
// message names the record and the construct.
var ErrUnsupported = errors.New("torchscript: unsupported construct")

// Resource bounds for untrusted archives.
const (
	maxCodeRecord  = 16 << 20  // one code/ or .pkl record
	maxCodeTotal   = 256 << 20 // all code/ and .pkl records together
	maxModuleDepth = 1000
)

// Archive is a TorchScript archive read without running any of its code.
type Archive struct {
	// Name is the archive folder every record lives in ("model" for model.pt).
	Name string
	// Records are the record names (without the folder), in the zip's order.
	Records []string
	// Version is the content of the version record (or .data/version), trimmed.
	Version string
	// Code maps each code record ("code/__torch__.py", …) to its text.
	Code map[string]string
	// Classes maps qualified class names to what their code declares.
	Classes map[string]*Class
	// Constants is constants.pkl, the tuple the code refers to as CONSTANTS.cN;
	// tensors in it are *tensor.Tensor.
	Constants pickle.Tuple
	// Data is the decoded data.pkl: the root module object, with tensors still as
	// _rebuild_tensor_v2 calls over *tensor.Storage values.
	Data pickle.Value
	// Module is the module tree recovered from Data.
	Module *modtree.Node

	file      *os.File
	ra        io.ReaderAt
	files     map[string]*zipfile.Record
	bigEndian bool
	storages  map[string]*tensor.Storage
	codeBytes int64
}

// Open reads the TorchScript archive at path. The archive's tensors read their bytes
// from the file when first used; Close the archive when done with them.
func Open(name string) (*Archive, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	a, err := Read(f, fi.Size())
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a.file = f
	return a, nil
}

// Close closes the file Open opened; tensor bytes not yet read are then unavailable.
// It does nothing for archives from Read.
func (a *Archive) Close() error {
	if a.file == nil {
		return nil
	}
	err := a.file.Close()
	a.file = nil
	return err
}

// IsTorchScript reports whether the zip in r holds a constants.pkl record, which is
// how torch.load tells TorchScript archives from torch.save zips.
func IsTorchScript(r io.ReaderAt, size int64) bool {
	zr, err := zipfile.NewReader(r, size)
	if err != nil {
		return false
	}
	for _, f := range zr.Records() {
		if _, rec, ok := strings.Cut(f.Name, "/"); ok && rec == "constants.pkl" {
			return true
		}
	}
	return false
}

// Read reads a TorchScript archive of size bytes from r: its records, code, constants
// and data.pkl, and recovers the module tree.
func Read(r io.ReaderAt, size int64) (*Archive, error) {
	zr, err := zipfile.NewReader(r, size)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	a := &Archive{ra: r, files: map[string]*zipfile.Record{}, Code: map[string]string{},
		Classes: map[string]*Class{}, storages: map[string]*tensor.Storage{}}
	if len(zr.Records()) == 0 {
		return nil, fmt.Errorf("%w: empty zip", ErrFormat)
	}
	prefix, err := zr.Prefix()
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	if err := zr.CheckPrefix(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrFormat, err)
	}
	a.Name = prefix
	for _, f := range zr.Records() {
		rec := strings.TrimPrefix(f.Name, prefix+"/")
		if _, dup := a.files[rec]; dup {
			// PyTorch would read one of the copies, unpredictably.
			return nil, fmt.Errorf("%w: record %q appears twice", ErrFormat, rec)
		}
		a.files[rec] = f
		a.Records = append(a.Records, rec)
	}
	if _, ok := a.files["extra/model.json"]; ok {
		return nil, fmt.Errorf("record extra/model.json: pre-1.4 TorchScript (JSON model format): %w", ErrUnsupported)
	}
	if _, ok := a.files["constants.pkl"]; !ok {
		return nil, fmt.Errorf("%w: no constants.pkl record (not TorchScript)", ErrFormat)
	}
	for _, v := range []string{".data/version", "version"} {
		if _, ok := a.files[v]; ok {
			b, err := a.record(v)
			if err != nil {
				return nil, err
			}
			a.Version = strings.TrimSpace(string(b))
			break
		}
	}
	if _, ok := a.files["byteorder"]; ok {
		b, err := a.record("byteorder")
		if err != nil {
			return nil, err
		}
		switch string(b) {
		case "little":
		case "big":
			a.bigEndian = true
		default:
			return nil, fmt.Errorf("%w: record byteorder holds %q", ErrFormat, clip(string(b)))
		}
	}
	if err := a.readCode(); err != nil {
		return nil, err
	}
	consts, err := a.unpickle("constants.pkl", "constants/")
	if err != nil {
		return nil, err
	}
	t, ok := consts.(pickle.Tuple)
	if !ok {
		return nil, fmt.Errorf("record constants.pkl: holds %T, not a tuple: %w", consts, ErrUnsupported)
	}
	for i, v := range t {
		if obj, ok := v.(*pickle.Object); ok && isRebuild(obj) {
			tt, err := modtree.RebuildTensor(obj.Args)
			if err != nil {
				return nil, fmt.Errorf("record constants.pkl: constant %d: %w", i, err)
			}
			t[i] = tt
		}
	}
	a.Constants = t
	if a.Data, err = a.unpickle("data.pkl", "data/"); err != nil {
		return nil, err
	}
	b := &treeBuilder{a: a, onPath: map[*pickle.Object]bool{}, tensors: map[*pickle.Object]*tensor.Tensor{}}
	if a.Module, err = b.module(a.Data, "", "", 0); err != nil {
		return nil, fmt.Errorf("record data.pkl: %w", err)
	}
	return a, nil
}

// record returns the bytes of a small record (code, pickles, version), bounded.
func (a *Archive) record(name string) ([]byte, error) {
	f, ok := a.files[name]
	if !ok {
		return nil, fmt.Errorf("%w: missing record %s", ErrFormat, name)
	}
	if f.Size > maxCodeRecord {
		return nil, fmt.Errorf("%w: record %s is %d bytes, more than %d", ErrFormat, name, f.Size, maxCodeRecord)
	}
	a.codeBytes += f.Size
	if a.codeBytes > maxCodeTotal {
		return nil, fmt.Errorf("%w: code and pickle records exceed %d bytes", ErrFormat, maxCodeTotal)
	}
	// ReadAll inflates deflated records within the zip reader's bounds (declared
	// size, deflate ratio) and reads stored ones from where their local header says.
	b, err := f.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%w: record %s: %w", ErrFormat, name, err)
	}
	return b, nil
}

// readCode reads every code/*.py record and the classes they define.
func (a *Archive) readCode() error {
	names := make([]string, 0)
	for _, rec := range a.Records {
		if strings.HasPrefix(rec, "code/") && strings.HasSuffix(rec, ".py") {
			names = append(names, rec)
		}
	}
	sort.Strings(names)
	for _, rec := range names {
		b, err := a.record(rec)
		if err != nil {
			return err
		}
		a.Code[rec] = string(b)
		classes, err := parseCode(rec, string(b))
		if err != nil {
			return err
		}
		for _, c := range classes {
			a.Classes[c.Name] = c
		}
	}
	return nil
}

// unpickle decodes a .pkl record whose storages live under dir ("data/", "constants/").
func (a *Archive) unpickle(rec, dir string) (pickle.Value, error) {
	b, err := a.record(rec)
	if err != nil {
		return nil, err
	}
	v, err := pickle.Unmarshal(b, &pickle.Options{PersistentLoad: func(id pickle.Value) (pickle.Value, error) {
		return a.storage(dir, id)
	}})
	if err != nil {
		return nil, fmt.Errorf("record %s: %w", rec, err)
	}
	return v, nil
}

// storage resolves a ('storage', torch.<T>Storage, key, location, numel[, None]) id.
func (a *Archive) storage(dir string, id pickle.Value) (pickle.Value, error) {
	t, ok := id.(pickle.Tuple)
	if !ok || len(t) < 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id is not ('storage', …): %w", ErrUnsupported)
	}
	g, ok := t[1].(pickle.Global)
	key, ok2 := t[2].(string)
	loc, ok3 := t[3].(string)
	numel, ok4 := t[4].(int64)
	if !ok || !ok2 || !ok3 || !ok4 || numel < 0 {
		return nil, fmt.Errorf("%w: malformed storage persistent id", ErrFormat)
	}
	dt, ok := tensor.ParseStorageClass(g.Name)
	if g.Module != "torch" || !ok {
		return nil, fmt.Errorf("storage class %s: %w", g, ErrUnsupported)
	}
	rec := dir + key
	if s, ok := a.storages[rec]; ok {
		if s.DType != dt {
			return nil, fmt.Errorf("%w: record %s used as %s and %s", ErrFormat, rec, s.DType, dt)
		}
		return s, nil
	}
	if path.Clean(rec) != rec || strings.Contains(key, "/") {
		return nil, fmt.Errorf("%w: storage key %q", ErrFormat, clip(key))
	}
	f, ok := a.files[rec]
	if !ok {
		return nil, fmt.Errorf("%w: missing record %s", ErrFormat, rec)
	}
	es := int64(dt.Size())
	if numel > (1<<62)/es || numel*es > f.Size {
		return nil, fmt.Errorf("%w: record %s holds %d bytes, storage needs %d elements of %d bytes", ErrFormat, rec, f.Size, numel, es)
	}
	nbytes := numel * es
	var s *tensor.Storage
	if f.Method == zipfile.Store {
		// zipfile.NewReader checked that the record's bytes lie inside the archive.
		if f.CompressedSize != f.Size {
			return nil, fmt.Errorf("%w: record %s: stored with %d compressed and %d uncompressed bytes", ErrFormat, rec, f.CompressedSize, f.Size)
		}
		s = tensor.NewLazyStorage(dt, a.ra, f.DataOffset, nbytes, a.bigEndian)
	} else {
		b, err := a.record(rec)
		if err != nil {
			return nil, err
		}
		s = tensor.NewStorageOrder(dt, b[:nbytes], a.bigEndian)
	}
	s.Key, s.Location = key, loc
	a.storages[rec] = s
	return s, nil
}

func isRebuild(obj *pickle.Object) bool {
	return obj.Callable == pickle.Global{Module: "torch._utils", Name: "_rebuild_tensor_v2"}
}
