package tensor

import (
	"compress/gzip"
	"encoding/json"
	"math"
	"os"
	"testing"
)

// golden is tensor/testdata/dtype_golden.json.gz, written by testdata/gen/dtype_golden.py:
// float16/bfloat16 results from PyTorch 1.13, float8 tables computed from the formats'
// specifications with exact rational arithmetic (PyTorch 1.13 has no float8).
type golden struct {
	TorchVersion         string `json:"torch_version"`
	Inputs               []uint32
	Float16DecodeAll     []uint32 `json:"float16_decode_all"`
	BFloat16DecodeInputs []uint16 `json:"bfloat16_decode_inputs"`
	BFloat16Decode       []uint32 `json:"bfloat16_decode"`
	Float16Encode        []uint16 `json:"float16_encode"`
	BFloat16Encode       []uint16 `json:"bfloat16_encode"`
	raw                  map[string]json.RawMessage
}

func loadGolden(t testing.TB) *golden {
	t.Helper()
	f, err := os.Open("testdata/dtype_golden.json.gz")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	dec := json.NewDecoder(zr)
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	g.raw = raw
	for k, dst := range map[string]any{
		"inputs": &g.Inputs, "float16_decode_all": &g.Float16DecodeAll,
		"bfloat16_decode_inputs": &g.BFloat16DecodeInputs, "bfloat16_decode": &g.BFloat16Decode,
		"float16_encode": &g.Float16Encode, "bfloat16_encode": &g.BFloat16Encode,
	} {
		if err := json.Unmarshal(raw[k], dst); err != nil {
			t.Fatalf("%s: %v", k, err)
		}
	}
	if len(g.Inputs) < 1000 || len(g.Float16DecodeAll) != 1<<16 {
		t.Fatalf("golden file too small: %d inputs", len(g.Inputs))
	}
	return &g
}

// float8Golden returns a float8 table: decode entries are float32 bits or "nan";
// encode entries are bytes.
func (g *golden) float8(t *testing.T, name string) (dec []any, enc []uint8) {
	t.Helper()
	if err := json.Unmarshal(g.raw[name+"_decode"], &dec); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(g.raw[name+"_encode"], &enc); err != nil {
		t.Fatal(err)
	}
	if len(dec) != 256 || len(enc) != len(g.Inputs) {
		t.Fatalf("%s: %d decode, %d encode entries", name, len(dec), len(enc))
	}
	return dec, enc
}

func isNaN32(f float32) bool { return f != f }

func TestFloat16DecodeAllPatterns(t *testing.T) {
	g := loadGolden(t)
	for h, want := range g.Float16DecodeAll {
		got := math.Float32bits(Float16ToFloat32(uint16(h)))
		if got != want {
			t.Errorf("float16 %#04x: got %#08x, torch %#08x", h, got, want)
		}
	}
}

func TestBFloat16Decode(t *testing.T) {
	g := loadGolden(t)
	for i, h := range g.BFloat16DecodeInputs {
		got := math.Float32bits(BFloat16ToFloat32(h))
		if got != g.BFloat16Decode[i] {
			t.Errorf("bfloat16 %#04x: got %#08x, torch %#08x", h, got, g.BFloat16Decode[i])
		}
	}
}

func TestFloat16Encode(t *testing.T) {
	g := loadGolden(t)
	bad := 0
	for i, x := range g.Inputs {
		got := Float32ToFloat16(math.Float32frombits(x))
		if got != g.Float16Encode[i] && bad < 20 {
			bad++
			t.Errorf("float32 %#08x (%g) → float16: got %#04x, torch %#04x", x, math.Float32frombits(x), got, g.Float16Encode[i])
		}
	}
}

func TestBFloat16Encode(t *testing.T) {
	g := loadGolden(t)
	bad := 0
	for i, x := range g.Inputs {
		got := Float32ToBFloat16(math.Float32frombits(x))
		if got != g.BFloat16Encode[i] && bad < 20 {
			bad++
			t.Errorf("float32 %#08x (%g) → bfloat16: got %#04x, torch %#04x", x, math.Float32frombits(x), got, g.BFloat16Encode[i])
		}
	}
}

func TestFloat8(t *testing.T) {
	g := loadGolden(t)
	for _, c := range []struct {
		name   string
		decode func(uint8) float32
		encode func(float32) uint8
	}{
		{"float8_e5m2", Float8E5M2ToFloat32, Float32ToFloat8E5M2},
		{"float8_e4m3fn", Float8E4M3FNToFloat32, Float32ToFloat8E4M3FN},
		{"float8_e5m2fnuz", Float8E5M2FNUZToFloat32, Float32ToFloat8E5M2FNUZ},
		{"float8_e4m3fnuz", Float8E4M3FNUZToFloat32, Float32ToFloat8E4M3FNUZ},
		{"float8_e8m0fnu", Float8E8M0ToFloat32, Float32ToFloat8E8M0},
	} {
		t.Run(c.name, func(t *testing.T) {
			dec, enc := g.float8(t, c.name)
			for b, want := range dec {
				got := c.decode(uint8(b))
				if s, ok := want.(string); ok {
					if s != "nan" || !isNaN32(got) {
						t.Errorf("decode %#02x: got %g, want %v", b, got, want)
					}
					continue
				}
				if w := uint32(want.(float64)); math.Float32bits(got) != w {
					t.Errorf("decode %#02x: got %#08x (%g), want %#08x (%g)", b, math.Float32bits(got), got, w, math.Float32frombits(w))
				}
			}
			bad := 0
			for i, x := range g.Inputs {
				if got := c.encode(math.Float32frombits(x)); got != enc[i] && bad < 20 {
					bad++
					t.Errorf("encode %#08x (%g): got %#02x, want %#02x", x, math.Float32frombits(x), got, enc[i])
				}
			}
		})
	}
}
