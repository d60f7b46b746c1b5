package checkpoint

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/gguf"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/safetensors"
	"github.com/pthkit/pth/tensor"
)

// Format names a checkpoint file format.
type Format string

// The formats Open reads and Convert writes.
const (
	Torch       Format = "torch"       // torch.save files: .pt, .pth, .bin, .ckpt
	Safetensors Format = "safetensors" // .safetensors
	GGUF        Format = "gguf"        // .gguf
	NPZ         Format = "npz"         // numpy .npz (read whole into memory by package npy)
	Sharded     Format = "sharded"     // a *.index.json and its shards (read only; write with ShardSize)
)

// Errors.
var (
	ErrUnknownFormat = errors.New("checkpoint: unknown format")
	ErrNotFound      = errors.New("checkpoint: no such tensor")
	ErrUnsupported   = errors.New("checkpoint: not supported")
	ErrIndex         = errors.New("checkpoint: invalid index")
)

// Info describes a tensor without reading its data.
type Info struct {
	Name  string
	DType tensor.DType // tensor.Invalid for GGUF quantized tensors
	Shape []int64
	// NBytes is the size of the tensor's elements (or of its quantized blocks).
	NBytes int64
	// Note says why a tensor cannot be read as a tensor.Tensor ("Q8_0 is quantized"), if so.
	Note string
}

// Checkpoint is an open checkpoint of any format.
type Checkpoint interface {
	// Format says what was opened.
	Format() Format
	// Names lists the tensors in file order (shards in index order).
	Names() []string
	// Info describes a tensor without reading it.
	Info(name string) (Info, error)
	// Tensor returns the named tensor. Its data is read when first used and
	// is valid until Close.
	Tensor(name string) (*tensor.Tensor, error)
	// Metadata returns the string metadata the file carries (safetensors
	// __metadata__, GGUF string values), or nil.
	Metadata() map[string]string
	// Close releases the files.
	Close() error
}

// DetectFormat returns the format of the file or directory at path, from its
// first bytes where they are conclusive and from its name otherwise.
func DetectFormat(path string) (Format, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if st.IsDir() || strings.HasSuffix(path, ".index.json") {
		return Sharded, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var head [512]byte
	n, _ := io.ReadFull(f, head[:])
	b := head[:n]
	switch {
	case bytes.HasPrefix(b, []byte("GGUF")):
		return GGUF, nil
	case n >= 9 && b[8] == '{' && binary.LittleEndian.Uint64(b) < 1<<40:
		return Safetensors, nil
	case bytes.HasPrefix(b, []byte("PK\x03\x04")):
		if strings.EqualFold(filepath.Ext(path), ".npz") {
			return NPZ, nil
		}
		return Torch, nil
	case n > 0 && b[0] == 0x80, n >= 262 && string(b[257:262]) == "ustar":
		return Torch, nil
	}
	return FormatFromPath(path)
}

// FormatFromPath returns the format the file name's extension implies.
func FormatFromPath(path string) (Format, error) {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".safetensors":
		return Safetensors, nil
	case ".gguf":
		return GGUF, nil
	case ".npz":
		return NPZ, nil
	case ".pt", ".pth", ".bin", ".ckpt", ".tar", ".pkl":
		return Torch, nil
	case ".json":
		return Sharded, nil
	}
	return "", fmt.Errorf("%w: %s (use .safetensors, .gguf, .pt/.pth/.bin or name the format)", ErrUnknownFormat, path)
}

// ParseFormat parses a format name as the --to flag spells it.
func ParseFormat(s string) (Format, error) {
	switch strings.ToLower(s) {
	case "torch", "pytorch", "pt", "pth", "bin":
		return Torch, nil
	case "safetensors", "st":
		return Safetensors, nil
	case "gguf":
		return GGUF, nil
	case "npz":
		return NPZ, nil
	}
	return "", fmt.Errorf("%w: %q", ErrUnknownFormat, s)
}

// Open opens the checkpoint at path, whatever its format.
func Open(path string) (Checkpoint, error) {
	format, err := DetectFormat(path)
	if err != nil {
		return nil, err
	}
	switch format {
	case Safetensors:
		f, err := safetensors.Open(path)
		if err != nil {
			return nil, err
		}
		fh, _ := os.Open(path) // for section copies; nil only disables them
		return &stCheckpoint{f: f, fh: fh}, nil
	case GGUF:
		f, err := gguf.Open(path)
		if err != nil {
			return nil, err
		}
		return &ggufCheckpoint{f: f}, nil
	case Torch:
		return openTorch(path)
	case Sharded:
		return openSharded(path)
	case NPZ:
		return openNPZ(path)
	}
	return nil, fmt.Errorf("%s: %w", path, ErrUnknownFormat)
}

// ---- safetensors ----

type stCheckpoint struct {
	f  *safetensors.File
	fh *os.File // the same file, for section copies
}

func (c *stCheckpoint) Format() Format  { return Safetensors }
func (c *stCheckpoint) Names() []string { return c.f.Names() }
func (c *stCheckpoint) Info(name string) (Info, error) {
	ti, ok := c.f.Lookup(name)
	if !ok {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	in := Info{Name: name, DType: ti.DType, Shape: ti.Shape, NBytes: ti.NBytes()}
	if ti.DType == tensor.Invalid {
		in.Note = ti.Code + " has no PyTorch dtype"
	}
	return in, nil
}
func (c *stCheckpoint) Tensor(name string) (*tensor.Tensor, error) { return c.f.Tensor(name) }
func (c *stCheckpoint) Metadata() map[string]string                { return c.f.Metadata }
func (c *stCheckpoint) Close() error                               { return c.f.Close() }

// ---- gguf ----

type ggufCheckpoint struct{ f *gguf.File }

func (c *ggufCheckpoint) Format() Format  { return GGUF }
func (c *ggufCheckpoint) Names() []string { return c.f.Names() }
func (c *ggufCheckpoint) Info(name string) (Info, error) {
	ti, ok := c.f.Lookup(name)
	if !ok {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	in := Info{Name: name, DType: ti.Type.DType(), Shape: ti.Shape(), NBytes: ti.NBytes}
	if ti.Type.Quantized() {
		in.Note = ti.Type.String() + " is quantized"
	}
	return in, nil
}
func (c *ggufCheckpoint) Tensor(name string) (*tensor.Tensor, error) { return c.f.Tensor(name) }

// Metadata returns the GGUF values of type string.
func (c *ggufCheckpoint) Metadata() map[string]string {
	m := map[string]string{}
	for _, kv := range c.f.KV {
		if s, ok := kv.Value.(string); ok {
			m[kv.Key] = s
		}
	}
	return m
}
func (c *ggufCheckpoint) Close() error { return c.f.Close() }

// GGUFFile returns the underlying GGUF file of a checkpoint opened from one.
func GGUFFile(c Checkpoint) (*gguf.File, bool) {
	g, ok := c.(*ggufCheckpoint)
	if !ok {
		return nil, false
	}
	return g.f, true
}

// ---- PyTorch ----

// stateDictKeys are the keys under which training checkpoints commonly keep
// the model's state_dict; when every tensor of a file lies under one of them,
// that prefix is dropped from the names (as pth.LoadStateDict does).
var stateDictKeys = []string{"state_dict", "model_state_dict", "model", "module"}

type torchCheckpoint struct {
	f      *pth.File
	names  []string
	byName map[string]*tensor.Tensor
	// others lists the non-tensor leaves that are not plain scalars
	// ("optimizer/state (…)"), which no other format can hold.
	others []string
	// scalars are the leaves holding a string, int64, float64 or bool, by path.
	scalars     map[string]any
	scalarOrder []string
	prefix      string
	// meta is the state_dict's _metadata (per-module versions), or nil.
	meta *pickle.Dict
	// unsafe lists the globals torch.load(weights_only=True) would refuse.
	unsafe []string
	// fh and recs allow section copies of stored zip records (see section).
	fh   *os.File
	recs map[string]pth.Record
}

// openTorch opens a PyTorch file without running anything in it and lists
// its tensors by path.
func openTorch(path string) (*torchCheckpoint, error) {
	f, err := pth.Open(path, nil)
	if err != nil {
		return nil, err
	}
	c := &torchCheckpoint{f: f, byName: map[string]*tensor.Tensor{}, unsafe: f.UnsafeGlobals()}
	c.openRecords(path)
	var paths []string
	var ts []*tensor.Tensor
	_ = pth.Walk(f.Root, func(p string, v pth.Value) error {
		found := pth.Tensors(v)
		if len(found) == 0 {
			switch v.(type) {
			case string, int64, float64, bool:
				if c.scalars == nil {
					c.scalars = map[string]any{}
				}
				c.scalars[p] = v
				c.scalarOrder = append(c.scalarOrder, p)
			default:
				c.others = append(c.others, fmt.Sprintf("%s (%T)", p, v))
			}
			return nil
		}
		for _, nt := range found {
			paths = append(paths, joinWalk(p, nt.Path))
			ts = append(ts, nt.T)
		}
		return nil
	})
	if len(paths) == 0 {
		// An entire-model pickle (torch.save(model)): the modules are inert
		// objects, and their state_dict is what Module.state_dict() would give.
		if sd, err := pth.FindStateDict(f.Root); err == nil {
			c.others = []string{"(root) (nn.Module objects: their state_dict is converted, not the modules)"}
			c.meta = sd.Metadata
			for _, k := range sd.Keys {
				c.names = append(c.names, k)
				c.byName[k] = sd.Tensors[k]
			}
			c.openRecords(path)
			return c, nil
		}
	}
	for _, k := range stateDictKeys {
		all := len(paths) > 0
		for _, p := range paths {
			if !strings.HasPrefix(p, k+"/") {
				all = false
				break
			}
		}
		if all {
			c.prefix = k + "/"
			break
		}
	}
	sdv := f.Root
	if c.prefix != "" {
		if d, ok := f.Root.(*pickle.Dict); ok {
			sdv, _ = d.Get(strings.TrimSuffix(c.prefix, "/"))
		}
	}
	if od, ok := sdv.(*pth.OrderedDict); ok {
		c.meta = od.Metadata
	}
	for i, p := range paths {
		name := strings.TrimPrefix(p, c.prefix)
		if _, dup := c.byName[name]; dup {
			f.Close()
			return nil, fmt.Errorf("%s: tensor path %q occurs twice", path, name)
		}
		c.names = append(c.names, name)
		c.byName[name] = ts[i]
	}
	return c, nil
}

// openRecords opens path a second time for section copies of its stored
// zip records (see section); without them copies go through the mapping.
func (c *torchCheckpoint) openRecords(path string) {
	if c.fh != nil {
		return
	}
	if fh, err := os.Open(path); err == nil {
		c.fh = fh
		if c.recs = torchRecords(c.f, fh); c.recs == nil {
			fh.Close()
			c.fh = nil
		}
	}
}

// joinWalk joins a Walk path and the path pth.Tensors gives inside that leaf
// ("" or "#values" for sparse components).
func joinWalk(p, sub string) string {
	if sub == "" || strings.HasPrefix(sub, "#") {
		return p + sub
	}
	if p == "" {
		return sub
	}
	return p + "/" + sub
}

func (c *torchCheckpoint) Format() Format  { return Torch }
func (c *torchCheckpoint) Names() []string { return append([]string(nil), c.names...) }
func (c *torchCheckpoint) Info(name string) (Info, error) {
	t, ok := c.byName[name]
	if !ok {
		return Info{}, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	in := Info{Name: name, DType: t.DType, Shape: t.Shape, NBytes: t.Numel() * int64(t.DType.Size())}
	if t.Quant != nil {
		in.Note = "quantized (" + t.Quant.Scheme + ")"
	}
	return in, nil
}
func (c *torchCheckpoint) Tensor(name string) (*tensor.Tensor, error) {
	t, ok := c.byName[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	return t, nil
}
func (c *torchCheckpoint) Metadata() map[string]string { return nil }
func (c *torchCheckpoint) Close() error {
	if c.fh != nil {
		c.fh.Close()
	}
	return c.f.Close()
}

// StateDictMetadata returns the _metadata of a PyTorch checkpoint's state_dict
// (module prefix → {"version": n}), or nil.
func StateDictMetadata(c Checkpoint) *pickle.Dict {
	if t, ok := c.(*torchCheckpoint); ok {
		return t.meta
	}
	return nil
}

// UnsafeGlobals returns the globals of a PyTorch checkpoint that
// torch.load(weights_only=True) would refuse (pth read them inertly; nothing
// ran); nil for other formats.
func UnsafeGlobals(c Checkpoint) []string {
	if t, ok := c.(*torchCheckpoint); ok {
		return t.unsafe
	}
	return nil
}

// Scalars returns the string, int64, float64 and bool values of a PyTorch
// checkpoint (a training checkpoint's epoch, learning rates, …) by Walk path,
// with the paths in file order; nil for other formats.
func Scalars(c Checkpoint) (map[string]any, []string) {
	t, ok := c.(*torchCheckpoint)
	if !ok {
		return nil, nil
	}
	return t.scalars, t.scalarOrder
}

// NonTensors lists the values of a PyTorch checkpoint that are neither
// tensors nor plain scalars (see Scalars) as "path (Go type)"; nil for other
// formats.
func NonTensors(c Checkpoint) []string {
	t, ok := c.(*torchCheckpoint)
	if !ok {
		return nil
	}
	return t.others
}

// ---- sharded ----

// maxIndexSize bounds an index file (real ones are tens of kilobytes).
const maxIndexSize = 64 << 20

// indexFile is the JSON of model.safetensors.index.json / pytorch_model.bin.index.json.
type indexFile struct {
	Metadata  map[string]any    `json:"metadata"`
	WeightMap map[string]string `json:"weight_map"`
}

type shardedCheckpoint struct {
	dir    string
	names  []string
	shard  map[string]string // tensor → shard file
	open   map[string]Checkpoint
	format Format
}

// openSharded opens an index file, or a directory holding an index or a single checkpoint.
func openSharded(path string) (Checkpoint, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		idx, single, err := findInDir(path)
		if err != nil {
			return nil, err
		}
		if single != "" {
			return Open(single)
		}
		path = idx
	}
	if st, err := os.Stat(path); err != nil {
		return nil, err
	} else if st.Size() > maxIndexSize {
		return nil, fmt.Errorf("%s: %w: %d bytes (limit %d)", path, ErrIndex, st.Size(), maxIndexSize)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var idx indexFile
	if err := decodeStrictJSON(raw, &idx); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrIndex, err)
	}
	if len(idx.WeightMap) == 0 {
		return nil, fmt.Errorf("%s: %w: empty weight_map", path, ErrIndex)
	}
	c := &shardedCheckpoint{dir: filepath.Dir(path), shard: idx.WeightMap, open: map[string]Checkpoint{}, format: Sharded}
	files := map[string]int{}
	for name, file := range idx.WeightMap {
		if !filepath.IsLocal(file) {
			return nil, fmt.Errorf("%s: %w: shard %q of %q is outside the index's directory", path, ErrIndex, file, name)
		}
		files[file]++
		c.names = append(c.names, name)
	}
	// Shard order, then name: the order a reader meets them on disk.
	sort.Slice(c.names, func(i, j int) bool {
		fi, fj := idx.WeightMap[c.names[i]], idx.WeightMap[c.names[j]]
		if fi != fj {
			return fi < fj
		}
		return c.names[i] < c.names[j]
	})
	return c, nil
}

// findInDir picks the index (or the single checkpoint) of a model directory.
func findInDir(dir string) (index, single string, err error) {
	for _, n := range []string{"model.safetensors.index.json", "pytorch_model.bin.index.json"} {
		if p := filepath.Join(dir, n); fileExists(p) {
			return p, "", nil
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.index.json")); len(m) == 1 {
		return m[0], "", nil
	} else if len(m) > 1 {
		return "", "", fmt.Errorf("%s: %w: several index files %v", dir, ErrIndex, m)
	}
	for _, n := range []string{"model.safetensors", "pytorch_model.bin", "model.gguf"} {
		if p := filepath.Join(dir, n); fileExists(p) {
			return "", p, nil
		}
	}
	var cands []string
	for _, pat := range []string{"*.safetensors", "*.gguf", "*.pt", "*.pth", "*.bin"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		cands = append(cands, m...)
	}
	if len(cands) == 1 {
		return "", cands[0], nil
	}
	return "", "", fmt.Errorf("%s: %w: no index file and %d candidate checkpoints", dir, ErrIndex, len(cands))
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func (c *shardedCheckpoint) Format() Format  { return c.format }
func (c *shardedCheckpoint) Names() []string { return append([]string(nil), c.names...) }

func (c *shardedCheckpoint) get(name string) (Checkpoint, error) {
	file, ok := c.shard[name]
	if !ok {
		return nil, fmt.Errorf("%w: %q", ErrNotFound, name)
	}
	if s, ok := c.open[file]; ok {
		return s, nil
	}
	p := filepath.Join(c.dir, file)
	f, err := DetectFormat(p)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %w", file, err)
	}
	if f == Sharded {
		return nil, fmt.Errorf("shard %s: %w: nested index", file, ErrIndex)
	}
	s, err := Open(p)
	if err != nil {
		return nil, err
	}
	c.open[file] = s
	return s, nil
}

func (c *shardedCheckpoint) Info(name string) (Info, error) {
	s, err := c.get(name)
	if err != nil {
		return Info{}, err
	}
	in, err := s.Info(name)
	if err != nil {
		return Info{}, fmt.Errorf("shard %s: %w", c.shard[name], err)
	}
	return in, nil
}

func (c *shardedCheckpoint) Tensor(name string) (*tensor.Tensor, error) {
	s, err := c.get(name)
	if err != nil {
		return nil, err
	}
	t, err := s.Tensor(name)
	if err != nil {
		return nil, fmt.Errorf("shard %s: %w", c.shard[name], err)
	}
	return t, nil
}

func (c *shardedCheckpoint) section(name string) (*io.SectionReader, bool) {
	s, err := c.get(name)
	if err != nil {
		return nil, false
	}
	if sc, ok := s.(sectioner); ok {
		return sc.section(name)
	}
	return nil, false
}

// Metadata returns the first opened shard's metadata.
func (c *shardedCheckpoint) Metadata() map[string]string {
	if len(c.names) == 0 {
		return nil
	}
	s, err := c.get(c.names[0])
	if err != nil {
		return nil
	}
	return s.Metadata()
}

func (c *shardedCheckpoint) Close() error {
	var first error
	for _, s := range c.open {
		if err := s.Close(); err != nil && first == nil {
			first = err
		}
	}
	c.open = map[string]Checkpoint{}
	return first
}
