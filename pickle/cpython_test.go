package pickle

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// pythonOrSkip returns a CPython interpreter; without one the test is skipped,
// except under CI where a missing peer is a failure.
func pythonOrSkip(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"python3", "/usr/bin/python3"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("python3 not found (required under CI)")
	}
	t.Skip("python3 not found")
	return ""
}

// randomTree builds plain data (no globals): values CPython can load with
// nothing but builtins and _codecs.encode, and dump again.
type treeGen struct {
	r      *rand.Rand
	shared []Value
}

func (g *treeGen) str() string {
	n := g.r.IntN(12)
	if n == 1 {
		n = 2 // CPython keeps one object per 1-character str; identities would differ
	}
	alphabet := []rune("abcxyz_09 é€日\U0001f600\n'\"\\")
	var b strings.Builder
	for range n {
		b.WriteRune(alphabet[g.r.IntN(len(alphabet))])
	}
	return b.String()
}

func (g *treeGen) scalar() Value {
	switch g.r.IntN(9) {
	case 0:
		return nil
	case 1:
		return g.r.IntN(2) == 0
	case 2:
		return int64(g.r.IntN(70000)) - 500
	case 3:
		return int64(g.r.Uint64())
	case 4:
		v := new(big.Int).Lsh(big.NewInt(int64(g.r.Uint32())+1), uint(g.r.IntN(300)))
		if g.r.IntN(2) == 0 {
			v.Neg(v)
		}
		if v.IsInt64() {
			return v.Int64()
		}
		return v
	case 5:
		return math.Float64frombits(g.r.Uint64())
	case 6:
		b := make([]byte, g.r.IntN(8))
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		if g.r.IntN(4) == 0 {
			return ByteArray(append(b, 1))
		}
		return b
	}
	return g.str()
}

func (g *treeGen) value(depth int) Value {
	if len(g.shared) > 0 && g.r.IntN(8) == 0 {
		return g.shared[g.r.IntN(len(g.shared))]
	}
	if depth <= 0 || depth < 4 && g.r.IntN(3) == 0 {
		return g.scalar()
	}
	var v Value
	switch g.r.IntN(3) {
	case 0:
		n := g.r.IntN(6)
		if depth == 4 && g.r.IntN(10) == 0 {
			n = 1000 + g.r.IntN(1100)
		}
		l := &List{}
		for range n {
			l.Items = append(l.Items, g.value(depth-1))
		}
		v = l
	case 1:
		d := NewDict()
		n := g.r.IntN(6)
		if depth == 4 && g.r.IntN(10) == 0 {
			n = 1000 * (1 + g.r.IntN(2))
		}
		for i := range n {
			var k Value = g.str() + "k" + fmt.Sprint(i) // never one character: see str
			if g.r.IntN(3) == 0 {
				k = int64(i)
			}
			d.Set(k, g.value(depth-1))
		}
		v = d
	default:
		t := make(Tuple, g.r.IntN(6))
		for i := range t {
			t[i] = g.value(depth - 1)
		}
		v = t
	}
	if g.r.IntN(3) == 0 {
		g.shared = append(g.shared, v)
	}
	return v
}

// TestCPythonRoundTrip encodes random value trees, has CPython load each and
// dump it again with protocol 2, and requires CPython's bytes to equal ours.
func TestCPythonRoundTrip(t *testing.T) {
	py := pythonOrSkip(t)
	const n = 300
	var in bytes.Buffer
	var ours [][]byte
	for i := range n {
		g := &treeGen{r: rand.New(rand.NewPCG(uint64(i), 42))}
		b, err := Marshal(g.value(4))
		if err != nil {
			t.Fatal(err)
		}
		ours = append(ours, b)
		in.Write(b)
	}
	script := `
import pickle, struct, sys
src, out = sys.stdin.buffer, sys.stdout.buffer
for _ in range(int(sys.argv[1])):
    b = pickle.dumps(pickle.load(src), protocol=2)
    out.write(struct.pack("<I", len(b)) + b)
`
	cmd := exec.Command(py, "-c", script, fmt.Sprint(n))
	cmd.Stdin = &in
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("python: %v\n%s", err, stderr.String())
	}
	for i := range n {
		if len(out) < 4 {
			t.Fatalf("python output ends at pickle %d", i)
		}
		m := int(binary.LittleEndian.Uint32(out))
		theirs := out[4 : 4+m]
		out = out[4+m:]
		if !bytes.Equal(ours[i], theirs) {
			j := 0
			for j < len(theirs) && j < len(ours[i]) && theirs[j] == ours[i][j] {
				j++
			}
			t.Errorf("tree %d: differs at %d:\n ours    %q\n cpython %q", i, j,
				ours[i][max(0, j-20):min(len(ours[i]), j+30)], theirs[max(0, j-20):min(len(theirs), j+30)])
		}
	}
}

// TestGoldenUpToDate reruns testdata/gen/pickle_golden.py and requires the
// committed files to be exactly what it writes. Python versions other than the
// 3.11 that wrote them may pickle some objects differently: then it skips.
func TestGoldenUpToDate(t *testing.T) {
	py := pythonOrSkip(t)
	ver, err := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2])").Output()
	if err != nil {
		t.Fatal(err)
	}
	if v := strings.TrimSpace(string(ver)); v != "3.11" {
		t.Skipf("golden files were written by CPython 3.11, this is %s", v)
	}
	dir := t.TempDir()
	cmd := exec.Command(py, "../testdata/gen/pickle_golden.py", dir)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("generator: %v\n%s", err, out)
	}
	fresh, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	committed, _ := os.ReadDir(goldenDir)
	if len(fresh) != len(committed) {
		t.Errorf("generator wrote %d files, %d are committed", len(fresh), len(committed))
	}
	for _, f := range fresh {
		a, _ := os.ReadFile(dir + "/" + f.Name())
		b, err := os.ReadFile(goldenDir + "/" + f.Name())
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: committed file differs from the generator's output (rerun it)", f.Name())
		}
	}
}
