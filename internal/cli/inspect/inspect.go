package inspect

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/checkpoint"
	"github.com/pthkit/pth/modtree"
	"github.com/pthkit/pth/modtree/modfile"
	"github.com/pthkit/pth/pickle"
	"github.com/pthkit/pth/tensor"
)

// Options are the inputs of one `pth inspect` run.
type Options struct {
	Path string
	JSON bool
	Hash bool
	Tree bool // print the module tree of an entire-model pickle or TorchScript archive
	Out  io.Writer
}

// NewCmd returns the `pth inspect` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "inspect FILE",
		Short: "List the tensors, values and globals a model file holds",
		Long: `Inspect reads a PyTorch file (torch.save zip, legacy stream, ≤0.3 tar, plain pickle)
without executing anything in it (safetensors, GGUF, .npz and sharded checkpoints too) and prints every tensor (path, dtype, shape, elements,
bytes, location) with totals, the non-tensor values (epoch, loss, …), and every global the
pickle names that PyTorch's weights_only=True would refuse.

For an entire-model pickle (torch.save(model)) or a TorchScript archive, tensors are
listed under their state_dict keys, --tree prints the module tree, and --json adds it
as "modules".

Paths join nested dict keys and list indices with "/" (model_state_dict/fc1.weight).
Opening reads no tensor bytes unless --hash asks for checksums.`,
		Example: `  pth inspect simple_net.pth
  pth inspect --json checkpoint.pt | jq '.tensors[].path'
  pth inspect --json --hash model.pt   # sha256 of each tensor's contiguous little-endian bytes
  pth inspect --tree whole_model.pt    # torch.save(model) or torch.jit.save output, no class code needed`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Path = args[0]
			opts.Out = cmd.OutOrStdout()
			return Run(opts)
		},
	}
	cmd.Flags().BoolVar(&opts.JSON, "json", false, "print a JSON report")
	cmd.Flags().BoolVar(&opts.Tree, "tree", false, "print the module tree (classes, hyper-parameters, parameters, buffers) of an entire-model pickle or TorchScript archive")
	cmd.Flags().BoolVar(&opts.Hash, "hash", false, "add the sha256 of every tensor's contiguous little-endian bytes (reads all tensor data)")
	return cmd
}

// Report is the JSON shape of `pth inspect --json`.
type Report struct {
	File          string       `json:"file"`
	Format        string       `json:"format"`
	Tensors       []TensorInfo `json:"tensors"`
	Values        []ValueInfo  `json:"values"`
	Globals       []string     `json:"globals"`
	UnsafeGlobals []string     `json:"unsafe_globals"`
	Totals        Totals       `json:"totals"`
	// Modules is the module tree of an entire-model pickle or TorchScript archive
	// ({"name", "class", "attrs", "parameters", "buffers", "children"}); absent otherwise.
	Modules *modtree.Node `json:"modules,omitempty"`
}

// TensorInfo describes one tensor.
type TensorInfo struct {
	Path         string  `json:"path"`
	DType        string  `json:"dtype"`
	Shape        []int64 `json:"shape"`
	Elements     int64   `json:"elements"`
	Bytes        int64   `json:"bytes"`
	Location     string  `json:"location"`
	Parameter    bool    `json:"parameter,omitempty"`
	RequiresGrad bool    `json:"requires_grad,omitempty"`
	SHA256       string  `json:"sha256,omitempty"`
}

// ValueInfo describes one non-tensor leaf value.
type ValueInfo struct {
	Path  string `json:"path"`
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Totals sums the tensors.
type Totals struct {
	Tensors  int   `json:"tensors"`
	Elements int64 `json:"elements"`
	Bytes    int64 `json:"bytes"`
}

// Run inspects opts.Path and writes the report to opts.Out.
func Run(opts *Options) error {
	rep, err := Build(opts.Path, opts.Hash)
	if err != nil {
		return err
	}
	if opts.Tree && !opts.JSON {
		if rep.Modules == nil {
			return fmt.Errorf("%s: --tree: the file holds no nn.Module (it is a %s file of plain values)", opts.Path, rep.Format)
		}
		return rep.Modules.Fprint(opts.Out)
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return writeText(opts.Out, rep)
}

// Build opens path and gathers its report.
func Build(path string, hash bool) (*Report, error) {
	if format, err := checkpoint.DetectFormat(path); err == nil && format != checkpoint.Torch {
		return buildOther(path, format, hash)
	}
	f, err := pth.Open(path, nil)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	rep := &Report{File: path, Format: string(f.Format), Tensors: []TensorInfo{}, Values: []ValueInfo{}, Globals: []string{}, UnsafeGlobals: []string{}}
	tensors := pth.Tensors(f.Root)
	tree, closeTree, err := moduleTree(path, f)
	if err != nil {
		return nil, err
	}
	defer closeTree()
	if tree != nil {
		// A module tree: list the tensors under their state_dict keys, as PyTorch's
		// model.state_dict() names them.
		rep.Modules = tree
		sd := tree.StateDict()
		params := map[string]bool{}
		tree.Walk(func(prefix string, m *modtree.Node) bool {
			for _, p := range m.Parameters {
				params[joinKey(prefix, p.Name)] = true
			}
			return true
		})
		tensors = tensors[:0]
		for _, k := range sd.Keys {
			tensors = append(tensors, pth.NamedTensor{Path: k, T: sd.Tensors[k], Parameter: params[k]})
		}
	}
	for _, nt := range tensors {
		t := nt.T
		n := t.Numel()
		info := TensorInfo{
			Path: nt.Path, DType: t.DType.String(), Shape: shapeOrEmpty(t.Shape), Elements: n,
			Bytes: t.DType.NBytes(n), Location: location(t), Parameter: nt.Parameter, RequiresGrad: t.RequiresGrad,
		}
		if hash {
			b, err := t.ContiguousBytes()
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %q: %w", path, nt.Path, err)
			}
			sum := sha256.Sum256(b)
			info.SHA256 = hex.EncodeToString(sum[:])
		}
		rep.Tensors = append(rep.Tensors, info)
		rep.Totals.Tensors++
		rep.Totals.Elements += n
		rep.Totals.Bytes += info.Bytes
	}
	if tree != nil {
		// The values of a module tree are its hyper-parameters, shown in the tree.
		rep.Globals = append(rep.Globals, f.Globals()...)
		rep.UnsafeGlobals = append(rep.UnsafeGlobals, f.UnsafeGlobals()...)
		return rep, nil
	}
	_ = pth.Walk(f.Root, func(p string, v pickle.Value) error {
		if mt, ok := v.(*pth.MetaTensor); ok {
			// A meta tensor has a dtype and shape but no data: listed with location "meta".
			dt, _ := mt.DType.TensorDType()
			n := numel(mt.Shape)
			rep.Tensors = append(rep.Tensors, TensorInfo{Path: p, DType: string(mt.DType), Shape: shapeOrEmpty(mt.Shape),
				Elements: n, Bytes: dt.NBytes(n), Location: "meta", RequiresGrad: mt.RequiresGrad})
			rep.Totals.Tensors++
			rep.Totals.Elements += n
			return nil
		}
		if typ, s, ok := describe(v); ok {
			rep.Values = append(rep.Values, ValueInfo{Path: p, Type: typ, Value: s})
		}
		return nil
	})
	rep.Globals = append(rep.Globals, f.Globals()...)
	rep.UnsafeGlobals = append(rep.UnsafeGlobals, f.UnsafeGlobals()...)
	return rep, nil
}

// holdsPickles reports whether a format stores pickles (PyTorch's formats do;
// safetensors, GGUF, npz of plain arrays and shard sets of those do not).
func holdsPickles(format string) bool {
	switch checkpoint.Format(format) {
	case checkpoint.Safetensors, checkpoint.GGUF, checkpoint.NPZ, checkpoint.Sharded:
		return false
	}
	return true
}

// buildOther reports a safetensors, GGUF, npz or sharded checkpoint: tensors only,
// since those formats hold no pickle (no values, no globals).
func buildOther(path string, format checkpoint.Format, hash bool) (*Report, error) {
	ck, err := checkpoint.Open(path)
	if err != nil {
		return nil, err
	}
	defer ck.Close()
	rep := &Report{File: path, Format: string(format), Tensors: []TensorInfo{}, Values: []ValueInfo{}, Globals: []string{}, UnsafeGlobals: []string{}}
	for _, name := range ck.Names() {
		in, err := ck.Info(name)
		if err != nil {
			return nil, err
		}
		dt := in.DType.String()
		if in.DType == tensor.Invalid {
			dt = in.Note // e.g. a GGUF quantized type
		}
		info := TensorInfo{Path: name, DType: dt, Shape: shapeOrEmpty(in.Shape), Elements: numel(in.Shape), Bytes: in.NBytes, Location: "cpu"}
		if hash && in.DType != tensor.Invalid {
			t, err := ck.Tensor(name)
			if err != nil {
				return nil, err
			}
			b, err := t.ContiguousBytes()
			if err != nil {
				return nil, fmt.Errorf("%s: tensor %q: %w", path, name, err)
			}
			sum := sha256.Sum256(b)
			info.SHA256 = hex.EncodeToString(sum[:])
		}
		rep.Tensors = append(rep.Tensors, info)
		rep.Totals.Tensors++
		rep.Totals.Elements += info.Elements
		rep.Totals.Bytes += info.Bytes
	}
	return rep, nil
}

// moduleTree recovers the nn.Module tree of an entire-model pickle or a TorchScript
// archive; it returns nil for files of plain values.
func moduleTree(path string, f *pth.File) (*modtree.Node, func(), error) {
	if f.Format == pth.FormatTorchScript {
		m, err := modfile.Open(path)
		if err != nil {
			return nil, nil, err
		}
		return m.Tree, func() { m.Close() }, nil
	}
	if tree, ok := modtree.FromValue(f.Root); ok {
		return tree, func() {}, nil
	}
	return nil, func() {}, nil
}

// joinKey joins a module prefix and a tensor name as state_dict keys are joined.
func joinKey(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

func numel(shape []int64) int64 {
	n := int64(1)
	for _, d := range shape {
		n *= d
	}
	return n
}

func shapeOrEmpty(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func location(t *tensor.Tensor) string {
	if t.Storage == nil || t.Storage.Location == "" {
		return "cpu"
	}
	return t.Storage.Location
}

// describe renders a non-tensor leaf for the values list; tensors are listed
// separately and are skipped here.
func describe(v pickle.Value) (typ, s string, ok bool) {
	switch x := v.(type) {
	case *tensor.Tensor, *pth.Parameter, *pth.SparseTensor, *pth.SubclassTensor:
		return "", "", false
	case nil:
		return "None", "None", true
	case bool:
		if x {
			return "bool", "True", true
		}
		return "bool", "False", true
	case int64, *big.Int:
		return "int", fmt.Sprint(x), true
	case float64:
		return "float", strconv.FormatFloat(x, 'g', -1, 64), true
	case string:
		return "str", strconv.Quote(x), true
	case []byte:
		return "bytes", fmt.Sprintf("%d bytes", len(x)), true
	case pickle.ByteArray:
		return "bytearray", fmt.Sprintf("%d bytes", len(x)), true
	case pickle.Global:
		return "global", x.String(), true
	case pth.DType:
		return "torch.dtype", "torch." + string(x), true
	case pth.Size:
		return "torch.Size", shapeString(x), true
	case pth.Device:
		if x.Index >= 0 {
			return "torch.device", fmt.Sprintf("%s:%d", x.Type, x.Index), true
		}
		return "torch.device", x.Type, true
	case *pth.NumpyScalar:
		return "numpy " + x.DType, numpyScalar(x.DType, x.Data), true
	case *pth.NDArray:
		return "numpy.ndarray", x.DType + shapeString(x.Shape), true
	case *pth.NumpyDType:
		return "numpy.dtype", x.DType, true
	case *pickle.Set:
		return "set", fmt.Sprintf("%d items", len(x.Items)), true
	case *pickle.Object:
		if g, ok := x.Callable.(pickle.Global); ok {
			return "object", g.String() + "(…)", true
		}
		return "object", "(…)", true
	}
	return fmt.Sprintf("%T", v), "", true
}

// numpyScalar renders the common numpy scalar types; others show their byte count.
func numpyScalar(descr string, b []byte) string {
	le := binary.LittleEndian
	switch {
	case descr == "<f8" && len(b) == 8:
		return strconv.FormatFloat(math.Float64frombits(le.Uint64(b)), 'g', -1, 64)
	case descr == "<f4" && len(b) == 4:
		return strconv.FormatFloat(float64(math.Float32frombits(le.Uint32(b))), 'g', -1, 32)
	case descr == "<i8" && len(b) == 8:
		return strconv.FormatInt(int64(le.Uint64(b)), 10)
	case descr == "<i4" && len(b) == 4:
		return strconv.FormatInt(int64(int32(le.Uint32(b))), 10)
	case descr == "|b1" && len(b) == 1:
		return strconv.FormatBool(b[0] != 0)
	}
	return fmt.Sprintf("%d bytes", len(b))
}

func writeText(w io.Writer, rep *Report) error {
	fmt.Fprintf(w, "%s (%s)\n\n", rep.File, rep.Format)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tDTYPE\tSHAPE\tELEMENTS\tBYTES\tLOCATION")
	for _, t := range rep.Tensors {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\n", t.Path, t.DType, shapeString(t.Shape), t.Elements, t.Bytes, t.Location)
	}
	fmt.Fprintf(tw, "TOTAL (%d tensors)\t\t\t%d\t%d\t\n", rep.Totals.Tensors, rep.Totals.Elements, rep.Totals.Bytes)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Values) > 0 {
		fmt.Fprintln(w, "\nValues:")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, v := range rep.Values {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Path, v.Type, v.Value)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if !holdsPickles(rep.Format) {
		fmt.Fprintf(w, "\nA %s file holds no pickle: nothing in it can run code.\n", rep.Format)
		return nil
	}
	if len(rep.UnsafeGlobals) > 0 {
		fmt.Fprintln(w, "\nGlobals that torch.load(weights_only=True) would refuse:")
		for _, g := range rep.UnsafeGlobals {
			fmt.Fprintf(w, "  %s\n", g)
		}
	} else {
		fmt.Fprintln(w, "\nEvery global is on PyTorch's weights-only allow-list.")
	}
	return nil
}

func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = fmt.Sprint(d)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}
