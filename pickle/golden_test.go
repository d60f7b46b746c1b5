package pickle

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"unicode/utf8"
)

// The golden files are written by testdata/gen/pickle_golden.py with CPython;
// golden.json holds each file's rendering computed by an inert unpickler built
// on CPython's pickle._Unpickler. The rendering rules are documented there.

const goldenDir = "../testdata/pickle"

type goldenEntry struct {
	Protocol int `json:"protocol"`
	Value    any `json:"value"`
}

func loadGolden(t testing.TB) map[string]goldenEntry {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, "golden.json"))
	if err != nil {
		t.Fatalf("golden.json: %v (run testdata/gen/pickle_golden.py)", err)
	}
	var g map[string]goldenEntry
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g) < 300 {
		t.Fatalf("golden.json has only %d entries", len(g))
	}
	return g
}

// render gives the canonical JSON rendering of a decoded value (see the generator).
type renderer struct{ ids map[any]int }

func (r *renderer) render(v Value) any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return x
	case int64:
		return map[string]any{"int": fmt.Sprint(x)}
	case *big.Int:
		return map[string]any{"int": x.String()}
	case float64:
		return map[string]any{"float": fmt.Sprintf("%016x", math.Float64bits(x))}
	case string:
		if utf8.ValidString(x) {
			return map[string]any{"str": x}
		}
		return map[string]any{"str_wtf8": hex.EncodeToString([]byte(x))}
	case []byte:
		return map[string]any{"bytes": hex.EncodeToString(x)}
	case ByteArray:
		return map[string]any{"bytearray": hex.EncodeToString(x)}
	case Tuple:
		return map[string]any{"tuple": r.list(x)}
	case Global:
		return map[string]any{"global": x.String()}
	case Ext:
		return map[string]any{"ext": int(x.Code)}
	case PersistentID:
		return map[string]any{"persid": r.render(x.ID)}
	}
	key, _ := identity(v)
	if n, ok := r.ids[key]; ok {
		return map[string]any{"ref": n}
	}
	n := len(r.ids)
	r.ids[key] = n
	switch x := v.(type) {
	case *List:
		return map[string]any{"list": r.list(x.Items), "id": n}
	case *Dict:
		return map[string]any{"dict": r.entries(x.Entries), "id": n}
	case *Set:
		k := "set"
		if x.Frozen {
			k = "frozenset"
		}
		return map[string]any{k: r.list(x.Items), "id": n}
	case *Object:
		m := map[string]any{"object": [...]string{"reduce", "newobj", "newobj_ex", "obj", "inst"}[x.Kind]}
		m["callable"] = r.render(x.Callable)
		m["args"] = r.list(x.Args)
		if x.Kind == NewObjEx {
			m["kwargs"] = r.render(x.Kwargs)
		}
		if x.Built {
			m["state"] = r.render(x.State)
		}
		m["items"] = r.entries(x.Items)
		m["appended"] = r.list(x.Appended)
		m["id"] = n
		return m
	}
	return fmt.Sprintf("unexpected Go type %T", v)
}

func (r *renderer) list(xs []Value) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = r.render(x)
	}
	return out
}

func (r *renderer) entries(es []Entry) []any {
	out := make([]any, len(es))
	for i, e := range es {
		out[i] = []any{r.render(e.Key), r.render(e.Value)}
	}
	return out
}

// renderJSON renders v and normalizes it through encoding/json so it compares
// with reflect.DeepEqual against the decoded golden.json.
func renderJSON(t testing.TB, v Value) any {
	r := &renderer{ids: map[any]int{}}
	b, err := json.Marshal(r.render(v))
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func goldenNames(g map[string]goldenEntry) []string {
	names := make([]string, 0, len(g))
	for n := range g {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func readGoldenFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecodeGolden(t *testing.T) {
	g := loadGolden(t)
	for _, name := range goldenNames(g) {
		data := readGoldenFile(t, name)
		v, err := Unmarshal(data, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		got := renderJSON(t, v)
		if !reflect.DeepEqual(got, g[name].Value) {
			gb, _ := json.Marshal(got)
			wb, _ := json.Marshal(g[name].Value)
			t.Errorf("%s:\n got  %.600s\n want %.600s", name, gb, wb)
		}
	}
}

// TestDecodeGoldenStreaming decodes through a plain io.Reader (no ReadByte)
// and checks the decoder stops exactly at STOP, with trailing bytes left unread.
func TestDecodeGoldenStreaming(t *testing.T) {
	g := loadGolden(t)
	for _, name := range goldenNames(g) {
		data := readGoldenFile(t, name)
		stop := len(data)
		if strings.HasPrefix(name, "m_") {
			continue // hand-written ones are checked by TestDecodeGolden
		}
		stream := append(append([]byte{}, data...), data...)
		stream = append(stream, "RAW"...)
		r := &plainReader{b: stream}
		d := NewDecoder(r, nil)
		for i := range 2 {
			v, err := d.Decode()
			if err != nil {
				t.Fatalf("%s pickle %d: %v", name, i, err)
			}
			if got := renderJSON(t, v); !reflect.DeepEqual(got, g[name].Value) {
				t.Fatalf("%s pickle %d differs", name, i)
			}
			if d.Offset() != int64(stop*(i+1)) {
				t.Fatalf("%s: Offset %d after pickle %d, want %d", name, d.Offset(), i, stop*(i+1))
			}
		}
		if rest := string(r.b[r.off:]); rest != "RAW" {
			t.Fatalf("%s: left %q unread, want RAW", name, rest)
		}
	}
}

type plainReader struct {
	b   []byte
	off int
}

func (p *plainReader) Read(b []byte) (int, error) {
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	n := copy(b, p.b[p.off:])
	p.off += n
	return n, nil
}

// TestReencodeProtocol2 re-encodes every protocol-2 file CPython wrote and
// requires the exact same bytes.
func TestReencodeProtocol2(t *testing.T) {
	g := loadGolden(t)
	n := 0
	for _, name := range goldenNames(g) {
		if g[name].Protocol != 2 {
			continue
		}
		n++
		data := readGoldenFile(t, name)
		v, err := Unmarshal(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Errorf("%s: Marshal: %v", name, err)
			continue
		}
		if !bytes.Equal(out, data) {
			i := 0
			for i < len(out) && i < len(data) && out[i] == data[i] {
				i++
			}
			t.Errorf("%s: re-encoded bytes differ at offset %d (len %d vs %d):\n got  %q\n want %q",
				name, i, len(out), len(data), out[max(0, i-16):min(len(out), i+24)], data[max(0, i-16):min(len(data), i+24)])
		}
	}
	if n < 50 {
		t.Fatalf("only %d protocol-2 files", n)
	}
}

// TestReencodeOtherProtocols: a value decoded from a protocol 3–5 file must
// encode to exactly what CPython writes for the same object in protocol 2
// (bytes, sets and frozensets become the same REDUCE records, STACK_GLOBAL the
// same GLOBAL with __builtin__ names). Values from protocols 0–1 and the
// hand-written pickles must survive encode → decode unchanged.
func TestReencodeOtherProtocols(t *testing.T) {
	g := loadGolden(t)
	// CPython writes NEWOBJ_EX in protocol 4+ but a functools.partial reduction in
	// protocols 2–3; we keep the inert NEWOBJ_EX opcode instead.
	differsFromP2 := map[string]bool{"withkw_p4.pkl": true, "withkw_p5.pkl": true}
	// Protocol 4/5-only types whose protocol-2 form is a REDUCE record.
	noProto2Form := map[string]bool{"m_set_ops.pkl": true, "m_binbytes8.pkl": true, "m_bytearray8.pkl": true}
	crossChecked := 0
	for _, name := range goldenNames(g) {
		p := g[name].Protocol
		if p == 2 {
			continue
		}
		v, err := Unmarshal(readGoldenFile(t, name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		out, err := Marshal(v)
		if err != nil {
			t.Errorf("%s: Marshal: %v", name, err)
			continue
		}
		base := strings.TrimSuffix(name, fmt.Sprintf("_p%d.pkl", p))
		if p >= 3 && !differsFromP2[name] {
			want := readGoldenFile(t, base+"_p2.pkl")
			if !bytes.Equal(out, want) {
				t.Errorf("%s: protocol-2 encoding differs from CPython's %s_p2.pkl", name, base)
			}
			crossChecked++
			continue
		}
		if noProto2Form[name] {
			continue
		}
		v2, err := Unmarshal(out, nil)
		if err != nil {
			t.Errorf("%s: decode of re-encoded: %v", name, err)
			continue
		}
		if !reflect.DeepEqual(renderJSON(t, v2), g[name].Value) {
			t.Errorf("%s: value changed through protocol 2", name)
		}
	}
	if crossChecked < 100 {
		t.Fatalf("only %d files cross-checked", crossChecked)
	}
}
