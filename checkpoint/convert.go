package checkpoint

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/gguf"
	"github.com/pthkit/pth/internal/atomicfile"
	"github.com/pthkit/pth/safetensors"
	"github.com/pthkit/pth/tensor"
)

// Options configure Convert.
type Options struct {
	// To is the output format; empty means from the output path's extension
	// (with ShardSize set, the output is a directory and To defaults to safetensors).
	To Format
	// DType, when set (Float16, BFloat16 or Float32), casts every tensor of a
	// floating-point dtype (float16, bfloat16, float32, float64) to it; other
	// tensors keep their dtype.
	DType tensor.DType
	// ShardSize, when > 0, writes shards of at most this many bytes (a tensor
	// larger than that gets a shard of its own) into the output directory,
	// with the index (model.safetensors.index.json or pytorch_model.bin.index.json).
	ShardSize int64
	// SkipUnsupported drops tensors the target cannot hold (GGUF quantized
	// tensors into safetensors, bool tensors into GGUF, …) instead of failing;
	// they are listed in Report.Dropped.
	SkipUnsupported bool
	// Progress, when set, is called after each tensor with the bytes written
	// so far and the total.
	Progress func(done, total int64)
	// Warn, when set, receives each warning as it happens (also in Report.Warnings).
	Warn func(msg string)
}

// Report says what Convert did.
type Report struct {
	From, To Format
	Files    []string // files written (relative to the output directory for shards)
	Tensors  int
	Bytes    int64 // tensor bytes written
	// Shared lists groups of names that view the same storage in the input.
	Shared [][]string
	// Dropped lists what the target could not hold: tensor names and
	// metadata ("metadata: _metadata (per-module versions)").
	Dropped []string
	// KeptAsMetadata lists non-tensor values stored as string metadata.
	KeptAsMetadata []string
	Warnings       []string
}

func (r *Report) warn(o *Options, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	r.Warnings = append(r.Warnings, msg)
	if o.Warn != nil {
		o.Warn(msg)
	}
}

// Convert reads the checkpoint at in and writes it to out.
func Convert(in, out string, opts Options) (*Report, error) {
	src, err := Open(in)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return ConvertFrom(src, out, opts)
}

// ConvertFrom writes the open checkpoint src to out (see Convert).
func ConvertFrom(src Checkpoint, out string, opts Options) (*Report, error) {
	to := opts.To
	if to == "" {
		if opts.ShardSize > 0 && filepath.Ext(out) == "" {
			to = Safetensors
		} else {
			f, err := FormatFromPath(out)
			if err != nil {
				return nil, err
			}
			to = f
		}
	}
	switch opts.DType {
	case tensor.Invalid, tensor.Float16, tensor.BFloat16, tensor.Float32:
	default:
		return nil, fmt.Errorf("%w: --dtype %s (float16, bfloat16 or float32)", ErrUnsupported, opts.DType)
	}
	r := &Report{From: src.Format(), To: to}
	if g := UnsafeGlobals(src); len(g) > 0 {
		r.warn(&opts, "the input references globals torch.load(weights_only=True) refuses: %s (read as inert data; nothing was run; run pth scan for a verdict)", strings.Join(g, ", "))
	}
	plan, err := planTensors(src, to, &opts, r)
	if err != nil {
		return nil, err
	}
	meta := metadataFor(src, to, r)
	if to == GGUF {
		ggufKVs(src, meta, r) // records what is kept; writeOne builds the same list
	}
	if opts.ShardSize > 0 {
		return r, writeShards(src, out, to, plan, meta, &opts, r)
	}
	if to == Torch { // atomic itself
		err = writeTorch(src, out, plan, r, r.stepper(&opts, plan))
	} else {
		err = atomicfile.WriteFile(out, func(w *os.File) error {
			return writeOne(src, w, to, plan, meta, r.stepper(&opts, plan))
		})
	}
	if err != nil {
		return nil, err
	}
	r.Files = []string{out}
	return r, nil
}

// item is one tensor to write.
type item struct {
	name  string
	dtype tensor.DType // after the cast
	shape []int64
	bytes int64
}

// planTensors decides what is written, in source order.
func planTensors(src Checkpoint, to Format, o *Options, r *Report) ([]item, error) {
	var plan []item
	var refused, scalars, long []string
	groups := map[string][]string{}
	var order []string
	for _, name := range src.Names() {
		in, err := src.Info(name)
		if err != nil {
			return nil, err
		}
		dt := castTo(in.DType, o.DType)
		why := ""
		switch {
		case in.DType == tensor.Invalid:
			why = in.Note
		case to == Safetensors && safetensors.ElemSize(dt) == 0:
			why = dt.String() + " has no safetensors dtype"
		case to == GGUF:
			if _, err := gguf.TypeOf(dt); err != nil {
				why = dt.String() + " has no GGUF type"
			} else if len(in.Shape) > gguf.MaxWriteDims {
				why = fmt.Sprintf("%d dimensions; GGUF holds 1 to %d", len(in.Shape), gguf.MaxWriteDims)
			}
		case to == NPZ && dt.NumpyDescr() == "":
			why = dt.String() + " has no numpy dtype"
		case to == Torch && dt.IsQuantized():
			why = "quantized tensors cannot be written yet"
		}
		if why != "" {
			if !o.SkipUnsupported {
				refused = append(refused, fmt.Sprintf("%s (%s)", name, why))
				continue
			}
			r.Dropped = append(r.Dropped, fmt.Sprintf("%s (%s)", name, why))
			continue
		}
		n := in.NBytes
		if dt != in.DType {
			n = n / int64(in.DType.Size()) * int64(dt.Size())
		}
		if to == GGUF && len(name) >= 64 {
			long = append(long, name)
		}
		shape := in.Shape
		if to == GGUF && len(shape) == 0 {
			shape = []int64{1} // GGUF readers refuse 0-dimensional tensors
			scalars = append(scalars, name)
		}
		plan = append(plan, item{name: name, dtype: dt, shape: shape, bytes: n})
		if key, ok := storageKey(src, name); ok {
			if len(groups[key]) == 0 {
				order = append(order, key)
			}
			groups[key] = append(groups[key], name)
		}
	}
	if len(refused) > 0 {
		return nil, fmt.Errorf("%w: %s cannot hold %s (use SkipUnsupported to drop them)", ErrUnsupported, to, strings.Join(refused, ", "))
	}
	if len(long) > 0 {
		r.warn(o, "tensor names of 64 bytes or more (ggml's GGML_MAX_NAME; llama.cpp will not load them): %s", strings.Join(long, ", "))
	}
	if len(scalars) > 0 {
		r.warn(o, "0-dimensional tensors %s are written with shape [1] (GGUF readers refuse 0 dimensions)", strings.Join(scalars, ", "))
	}
	for _, k := range order {
		if g := groups[k]; len(g) > 1 {
			r.Shared = append(r.Shared, g)
			if to != Torch {
				r.warn(o, "tensors %s share storage; %s cannot express sharing, so each is written in full", strings.Join(g, ", "), to)
			} else if o.DType != tensor.Invalid && distinctViews(src, g) {
				r.warn(o, "tensors %s share storage as different views; cast to %s, each view gets a storage of its own", strings.Join(g, ", "), o.DType)
			}
		}
	}
	return plan, nil
}

// distinctViews reports whether the named tensors are not all the same view.
func distinctViews(src Checkpoint, names []string) bool {
	first := ""
	for i, n := range names {
		t, err := src.Tensor(n)
		if err != nil {
			return true
		}
		v := fmt.Sprintf("%d/%v/%v/%v", t.Offset, t.Shape, t.Strides, t.DType)
		if i == 0 {
			first = v
		} else if v != first {
			return true
		}
	}
	return false
}

// storageKey identifies the storage behind a PyTorch checkpoint's tensor
// (other formats never share).
func storageKey(src Checkpoint, name string) (string, bool) {
	if _, ok := src.(*torchCheckpoint); !ok {
		return "", false
	}
	t, err := src.Tensor(name)
	if err != nil || t.Storage == nil {
		return "", false
	}
	return fmt.Sprintf("%p", t.Storage), true
}

// castTo returns the dtype a tensor of dtype dt gets under --dtype want.
func castTo(dt, want tensor.DType) tensor.DType {
	if want == tensor.Invalid {
		return dt
	}
	switch dt {
	case tensor.Float16, tensor.BFloat16, tensor.Float32, tensor.Float64:
		return want
	}
	return dt
}

// metadataFor decides what string metadata the output carries.
func metadataFor(src Checkpoint, to Format, r *Report) map[string]string {
	var meta map[string]string
	if m := src.Metadata(); m != nil {
		meta = map[string]string{}
		for k, v := range m {
			meta[k] = v
		}
	}
	if g, ok := GGUFFile(src); ok && to != GGUF {
		for _, kv := range g.KV {
			if kv.Type != gguf.TypeString {
				r.Dropped = append(r.Dropped, fmt.Sprintf("metadata %s (%s)", kv.Key, kv.Type))
			}
		}
		if len(meta) > 0 && to == Safetensors {
			r.KeptAsMetadata = append(r.KeptAsMetadata, "GGUF string values as __metadata__")
		}
	}
	if StateDictMetadata(src) != nil && to != Torch {
		r.Dropped = append(r.Dropped, "metadata _metadata (per-module versions of the state_dict)")
	}
	for _, v := range NonTensors(src) {
		r.Dropped = append(r.Dropped, "value "+v)
	}
	// Plain scalars (epoch, lr, …): GGUF keeps them typed, losslessly;
	// safetensors keeps their text (strconv, shortest round-trip form for
	// floats) in __metadata__, which loses only the type; others drop them.
	scalars, order := Scalars(src)
	for _, p := range order {
		v := scalars[p]
		switch to {
		case Safetensors:
			if meta == nil {
				meta = map[string]string{}
			}
			if _, taken := meta[p]; taken {
				r.Dropped = append(r.Dropped, fmt.Sprintf("value %s (%T; the metadata key is taken)", p, v))
				continue
			}
			meta[p] = scalarText(v)
			r.KeptAsMetadata = append(r.KeptAsMetadata, fmt.Sprintf("%s (%T, as text)", p, v))
		case GGUF:
			r.KeptAsMetadata = append(r.KeptAsMetadata, fmt.Sprintf("%s (%T, typed)", p, v))
		default:
			r.Dropped = append(r.Dropped, fmt.Sprintf("value %s (%T)", p, v))
		}
	}
	if to == Safetensors {
		if meta == nil {
			meta = map[string]string{}
		}
		if _, ok := meta["format"]; !ok {
			meta["format"] = "pt" // what safetensors.torch.save_file writes
		}
	}
	if (to == Torch || to == NPZ) && len(meta) > 0 {
		keys := make([]string, 0, len(meta))
		for k := range meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		r.Dropped = append(r.Dropped, "metadata "+strings.Join(keys, ", ")+" (the target holds no string metadata)")
	}
	return meta
}

// sectionFor returns a file section holding the named tensor's bytes when
// they can be copied as they are (no cast to dt needed).
func sectionFor(src Checkpoint, name string, dt tensor.DType) (*io.SectionReader, bool) {
	s, ok := src.(sectioner)
	if !ok {
		return nil, false
	}
	in, err := src.Info(name)
	if err != nil || in.DType != dt {
		return nil, false
	}
	return s.section(name)
}

// scalarText renders a scalar for string metadata.
func scalarText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		if x {
			return "True"
		}
		return "False"
	}
	return fmt.Sprint(v)
}

// tensorBytes returns the bytes of the named tensor cast to dt, contiguous.
func tensorBytes(src Checkpoint, name string, dt tensor.DType) ([]byte, error) {
	t, err := src.Tensor(name)
	if err != nil {
		return nil, err
	}
	if t.DType != dt {
		if t, err = t.Convert(dt); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", name, err)
		}
	}
	b, err := t.ContiguousBytes()
	if err != nil {
		return nil, fmt.Errorf("tensor %q: %w", name, err)
	}
	return b, nil
}

// stepper returns the function called after each tensor is written: it
// counts, and reports progress against the bytes of the whole plan.
func (r *Report) stepper(o *Options, plan []item) func(int64) {
	var total int64
	for _, it := range plan {
		total += it.bytes
	}
	return func(n int64) {
		r.Tensors++
		r.Bytes += n
		if o.Progress != nil {
			o.Progress(r.Bytes, total)
		}
	}
}

// writeOne writes plan to w in format to (safetensors or GGUF).
func writeOne(src Checkpoint, w io.Writer, to Format, plan []item, meta map[string]string, step func(int64)) error {
	switch to {
	case Safetensors:
		specs := make([]safetensors.Spec, len(plan))
		for i, it := range plan {
			specs[i] = safetensors.Spec{Name: it.name, DType: it.dtype, Shape: it.shape}
		}
		sw, err := safetensors.NewWriter(w, specs, meta)
		if err != nil {
			return err
		}
		byName := map[string]item{}
		for _, it := range plan {
			byName[it.name] = it
		}
		for _, s := range sw.Order() {
			if sec, ok := sectionFor(src, s.Name, s.DType); ok {
				if err := sw.WriteFrom(s.Name, sec); err != nil {
					return err
				}
				step(sec.Size())
				continue
			}
			b, err := tensorBytes(src, s.Name, byName[s.Name].dtype)
			if err != nil {
				return err
			}
			if err := sw.Write(s.Name, b); err != nil {
				return err
			}
			step(int64(len(b)))
		}
		return sw.Close()
	case GGUF:
		kvs := ggufKVs(src, meta, nil)
		specs := make([]gguf.TensorSpec, len(plan))
		for i, it := range plan {
			typ, _ := gguf.TypeOf(it.dtype)
			specs[i] = gguf.TensorSpec{Name: it.name, Type: typ, Shape: it.shape}
		}
		gw, err := gguf.NewWriter(w, kvs, specs)
		if err != nil {
			return err
		}
		for _, it := range plan {
			if sec, ok := sectionFor(src, it.name, it.dtype); ok {
				if err := gw.WriteFrom(it.name, sec); err != nil {
					return err
				}
				step(sec.Size())
				continue
			}
			b, err := tensorBytes(src, it.name, it.dtype)
			if err != nil {
				return err
			}
			if err := gw.Write(it.name, b); err != nil {
				return err
			}
			step(int64(len(b)))
		}
		return gw.Close()
	case NPZ:
		return writeNPZ(src, w, plan, step)
	}
	return fmt.Errorf("%w: writing %s", ErrUnsupported, to)
}

// ggufKVs returns the metadata of a GGUF output, noting in r (if not nil) what was kept: a GGUF source's values are
// copied as they are (lossless); otherwise string metadata become string
// values, and general.architecture is set to "pth" when absent (it is required).
func ggufKVs(src Checkpoint, meta map[string]string, r *Report) []gguf.KV {
	if g, ok := GGUFFile(src); ok {
		return g.KV
	}
	var kvs []gguf.KV
	if _, ok := meta["general.architecture"]; !ok {
		kvs = append(kvs, gguf.KV{Key: "general.architecture", Type: gguf.TypeString, Value: "pth"})
	}
	keys := make([]string, 0, len(meta))
	for k := range meta {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		kvs = append(kvs, gguf.KV{Key: k, Type: gguf.TypeString, Value: meta[k]})
	}
	if len(keys) > 0 && r != nil {
		r.KeptAsMetadata = append(r.KeptAsMetadata, "string metadata as GGUF string values: "+strings.Join(keys, ", "))
	}
	scalars, order := Scalars(src)
	for _, p := range order {
		if _, dup := meta[p]; dup {
			continue
		}
		switch v := scalars[p].(type) {
		case string:
			kvs = append(kvs, gguf.KV{Key: p, Type: gguf.TypeString, Value: v})
		case int64:
			kvs = append(kvs, gguf.KV{Key: p, Type: gguf.TypeInt64, Value: v})
		case float64:
			kvs = append(kvs, gguf.KV{Key: p, Type: gguf.TypeFloat64, Value: v})
		case bool:
			kvs = append(kvs, gguf.KV{Key: p, Type: gguf.TypeBool, Value: v})
		}
	}
	return kvs
}

// writeTorch writes the plan to path in torch.save's zip format, atomically:
// streamed one storage at a time (writeTorchStream) when every tensor allows
// it, else assembled into a StateDict for pth.SaveStateDict, which holds
// every storage in memory. Tensors that shared a storage in a PyTorch source
// keep sharing it; under a cast, identical views share one cast storage.
func writeTorch(src Checkpoint, path string, plan []item, r *Report, step func(int64)) error {
	if canStreamTorch(src, plan) {
		return atomicfile.WriteFile(path, func(f *os.File) error {
			return writeTorchStream(src, f, archiveName(path), plan, StateDictMetadata(src), step)
		})
	}
	r.Warnings = append(r.Warnings, "some tensors need pth.SaveStateDict (no storage class or quantized): the whole state_dict is held in memory")
	sd := &pth.StateDict{Tensors: map[string]*tensor.Tensor{}, Metadata: StateDictMetadata(src)}
	cast := map[string]*tensor.Tensor{}
	for _, it := range plan {
		t, err := src.Tensor(it.name)
		if err != nil {
			return err
		}
		if t.DType != it.dtype {
			key := fmt.Sprintf("%p/%d/%v/%v/%v/%v", t.Storage, t.Offset, t.Shape, t.Strides, t.Conj, t.Neg)
			if c, ok := cast[key]; ok {
				t = c
			} else {
				c, err := t.Convert(it.dtype)
				if err != nil {
					return fmt.Errorf("tensor %q: %w", it.name, err)
				}
				cast[key] = c
				t = c
			}
		}
		sd.Keys = append(sd.Keys, it.name)
		sd.Tensors[it.name] = t
	}
	if err := pth.SaveStateDict(path, sd); err != nil {
		return err
	}
	for _, it := range plan {
		step(it.bytes)
	}
	return nil
}

// ---- shards ----

// writeShards splits plan into shards of at most o.ShardSize bytes, greedily
// in source order as transformers' shard_checkpoint does, and writes them
// with their index into a temporary directory renamed to out.
func writeShards(src Checkpoint, out string, to Format, plan []item, meta map[string]string, o *Options, r *Report) error {
	var base, ext, index string
	switch to {
	case Safetensors:
		base, ext, index = "model", ".safetensors", "model.safetensors.index.json"
	case Torch:
		base, ext, index = "pytorch_model", ".bin", "pytorch_model.bin.index.json"
	default:
		return fmt.Errorf("%w: sharded %s output", ErrUnsupported, to)
	}
	var shards [][]item
	var cur []item
	var size, total int64
	for _, it := range plan {
		if len(cur) > 0 && size+it.bytes > o.ShardSize {
			shards = append(shards, cur)
			cur, size = nil, 0
		}
		cur = append(cur, it)
		size += it.bytes
		total += it.bytes
	}
	if len(cur) > 0 || len(shards) == 0 {
		shards = append(shards, cur)
	}
	if _, err := os.Stat(out); err == nil {
		return fmt.Errorf("%s: %w", out, os.ErrExist)
	}
	parent := filepath.Dir(out)
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(out)+".tmp")
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	weightMap := map[string]string{}
	step := r.stepper(o, plan)
	for i, sh := range shards {
		name := fmt.Sprintf("%s-%05d-of-%05d%s", base, i+1, len(shards), ext)
		if len(shards) == 1 {
			name = base + ext
		}
		p := filepath.Join(tmp, name)
		if to == Torch {
			err = writeTorch(src, p, sh, r, step)
		} else {
			err = writeFile(p, func(w io.Writer) error { return writeOne(src, w, to, sh, meta, step) })
		}
		if err != nil {
			return fmt.Errorf("shard %s: %w", name, err)
		}
		for _, it := range sh {
			weightMap[it.name] = name
		}
		r.Files = append(r.Files, name)
	}
	if len(shards) > 1 {
		idx := struct {
			Metadata  map[string]int64  `json:"metadata"`
			WeightMap map[string]string `json:"weight_map"`
		}{map[string]int64{"total_size": total}, weightMap}
		b, err := json.MarshalIndent(idx, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(tmp, index), append(b, '\n'), 0o644); err != nil {
			return err
		}
		r.Files = append(r.Files, index)
	}
	if err := os.Rename(tmp, out); err != nil {
		return err
	}
	ok = true
	return nil
}

// writeFile creates p and writes it with write, syncing before close.
func writeFile(p string, write func(io.Writer) error) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
