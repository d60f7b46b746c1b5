package pickle

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// seedFiles returns the fuzz seeds: the CPython golden pickles (small ones) and
// copies of picklescan's corpus (benign and malicious pickles, never executed).
func seedFiles(t testing.TB) [][]byte {
	var seeds [][]byte
	for _, pat := range []string{"../testdata/pickle/*.pkl", "testdata/picklescan/*"} {
		files, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) <= 4096 {
				seeds = append(seeds, b)
			}
		}
	}
	if len(seeds) < 100 {
		t.Fatalf("only %d seed files", len(seeds))
	}
	return seeds
}

func isTyped(err error) bool {
	return errors.Is(err, ErrTruncated) || errors.Is(err, ErrMalformed) ||
		errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsupported)
}

// fuzzLimits keeps each fuzz input's resources small.
func fuzzLimits(n int) Limits {
	return Limits{MaxMemo: 1 << 12, MaxElements: 1<<16 + 16*int64(n), MaxDepth: 200, MaxAlloc: 1<<20 + 16*int64(n)}
}

func FuzzDecode(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := fuzzLimits(len(data))
		v, err := Unmarshal(data, &Options{Limits: lim})
		// The streaming decoder (no fast paths over memory) agrees.
		vs, errS := NewDecoder(bytes.NewReader(data), &Options{Limits: lim}).Decode()
		if (err == nil) != (errS == nil) || err == nil && Sprint(v) != Sprint(vs) {
			t.Fatalf("in memory: %v, %s\nstreaming: %v, %s", err, Sprint(v), errS, Sprint(vs))
		}
		if err != nil {
			var oe *OpcodeError
			if !isTyped(err) || !errors.As(err, &oe) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		// Shared() false means a tree: no container reached twice.
		if d := NewBytesDecoder(data, &Options{Limits: lim}); !mustDecodeShared(t, d) {
			if dup := repeatedContainer(v, map[identityKey]bool{}); dup != "" {
				t.Fatalf("Shared() is false but %s appears twice", dup)
			}
		}
		// The heights kept while decoding agree with a walk of the result.
		if err := (&walker{budget: -1, maxDepth: lim.MaxDepth}).walkErr(v); err != nil {
			t.Fatalf("decoded a value the depth walk refuses: %v", err)
		}
		// decode → encode → decode → encode is stable.
		enc1, err := Marshal(v)
		if err != nil {
			if !errors.Is(err, ErrEncode) && !errors.Is(err, ErrLimit) {
				t.Fatalf("Marshal: untyped error %v", err)
			}
			return
		}
		// The encoder memoizes every container as CPython's pickler does, so
		// its output may need more memo entries than the input used (4,000
		// empty lists in 4 KB, none memoized, come back with a BINPUT each):
		// allow one per two bytes, the most BINPUT/LONG_BINPUT can write.
		reLim := fuzzLimits(len(enc1) * 4)
		reLim.MaxMemo = max(reLim.MaxMemo, len(enc1)/2+1)
		v2, err := Unmarshal(enc1, &Options{Limits: reLim})
		if err != nil {
			t.Fatalf("re-encoded pickle does not decode: %v\n%q", err, enc1)
		}
		enc2, err := Marshal(v2)
		if err != nil {
			t.Fatalf("second Marshal: %v", err)
		}
		if !bytes.Equal(enc1, enc2) {
			t.Fatalf("encoding not stable:\n%q\n%q", enc1, enc2)
		}
	})
}

func FuzzOpReader(f *testing.F) {
	for _, s := range seedFiles(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewOpReader(bytes.NewReader(data), fuzzLimits(len(data)))
		last := int64(-1)
		for {
			op, err := r.Next()
			if err == io.EOF {
				if r.Offset() != int64(len(data)) {
					t.Fatalf("EOF at offset %d of %d", r.Offset(), len(data))
				}
				return
			}
			if err != nil {
				var oe *OpcodeError
				if !isTyped(err) || !errors.As(err, &oe) {
					t.Fatalf("untyped error %T: %v", err, err)
				}
				return
			}
			if op.Offset <= last || op.Offset >= r.Offset() {
				t.Fatalf("offset %d after %d (reader at %d)", op.Offset, last, r.Offset())
			}
			if info, ok := LookupOp(op.Code); !ok || info.Name != op.Name {
				t.Fatalf("op %x named %q", op.Code, op.Name)
			}
			last = op.Offset
		}
	})
}

// TestPicklescanCorpus decodes picklescan's malicious samples inertly: the
// dangerous call is a record naming the global, nothing is run.
func TestPicklescanCorpus(t *testing.T) {
	files, _ := filepath.Glob("testdata/picklescan/*")
	if len(files) < 20 {
		t.Fatalf("only %d corpus files", len(files))
	}
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if _, err := Unmarshal(b, nil); err != nil && !isTyped(err) {
			t.Errorf("%s: untyped error %v", f, err)
		}
	}
	b, err := os.ReadFile("testdata/picklescan/malicious2_v0.pkl")
	if err != nil {
		t.Fatal(err)
	}
	v, err := Unmarshal(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	o, ok := v.(*Object)
	if !ok || o.Kind != Reduce || o.Callable != (Global{"posix", "system"}) || len(o.Args) != 1 || o.Args[0] != "ls -la" {
		t.Fatalf("got %#v, want REDUCE posix.system('ls -la')", v)
	}
	// A hugely declared string is refused by the default limits.
	b, _ = os.ReadFile("testdata/picklescan/broken_model.pkl")
	if _, err := Unmarshal(b, nil); !errors.Is(err, ErrLimit) {
		t.Fatalf("broken_model.pkl: %v, want ErrLimit", err)
	}
}

func mustDecodeShared(t *testing.T, d *Decoder) bool {
	if _, err := d.Decode(); err != nil {
		t.Fatalf("second decode: %v", err)
	}
	return d.Shared()
}

// repeatedContainer names a container found twice in v ("" when none).
func repeatedContainer(v Value, seen map[identityKey]bool) string {
	var kids []Value
	switch x := v.(type) {
	case Tuple:
		kids = x
	case *List:
		kids = x.Items
	case *Set:
		kids = x.Items
	case *Dict:
		for _, e := range x.Entries {
			kids = append(kids, e.Key, e.Value)
		}
	case *Object:
		kids = append(kids, x.Callable, x.Args, x.State)
		if x.Kwargs != nil {
			kids = append(kids, x.Kwargs)
		}
		kids = append(kids, x.Appended...)
		for _, e := range x.Items {
			kids = append(kids, e.Key, e.Value)
		}
	case PersistentID:
		return repeatedContainer(x.ID, seen)
	default:
		return ""
	}
	if k, ok := identity(v); ok {
		if seen[k] {
			return typeName(v)
		}
		seen[k] = true
	}
	for _, c := range kids {
		if d := repeatedContainer(c, seen); d != "" {
			return d
		}
	}
	return ""
}
