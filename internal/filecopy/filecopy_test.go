package filecopy

import (
	"bufio"
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSection copies ranges between files (the kernel path on Linux) and into a
// buffer (io.Copy) and compares with the source bytes.
func TestSection(t *testing.T) {
	dir := t.TempDir()
	src := make([]byte, 3<<20+17)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range src {
		src[i] = byte(rng.Uint32())
	}
	sp := filepath.Join(dir, "src")
	if err := os.WriteFile(sp, src, 0o644); err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(sp)
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	df, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	defer df.Close()
	// A prefix written normally, then two ranges copied, then a suffix: offsets must line up.
	df.Write([]byte("head"))
	ranges := [][2]int64{{5, 1 << 20}, {2<<20 + 3, 1<<20 + 14}, {0, 0}}
	want := []byte("head")
	for _, r := range ranges {
		n, err := Section(df, io.NewSectionReader(sf, r[0], r[1]))
		if err != nil || n != r[1] {
			t.Fatalf("Section(%v) = %d, %v", r, n, err)
		}
		want = append(want, src[r[0]:r[0]+r[1]]...)
	}
	df.Write([]byte("tail"))
	want = append(want, "tail"...)
	got, err := os.ReadFile(df.Name())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("file copy differs (%d bytes, want %d)", len(got), len(want))
	}
	var buf bytes.Buffer
	if n, err := Section(&buf, io.NewSectionReader(sf, 7, 1000)); err != nil || n != 1000 || !bytes.Equal(buf.Bytes(), src[7:1007]) {
		t.Fatalf("buffer copy: %d, %v", n, err)
	}
}

// TestShortSource: a section reaching past the end of the source file is an error,
// not a silent short copy.
func TestShortSource(t *testing.T) {
	dir := t.TempDir()
	sp := filepath.Join(dir, "src")
	os.WriteFile(sp, []byte("0123456789"), 0o644)
	sf, _ := os.Open(sp)
	defer sf.Close()
	df, _ := os.Create(filepath.Join(dir, "dst"))
	defer df.Close()
	n, err := Section(df, io.NewSectionReader(sf, 4, 100))
	if err == nil && n == 100 {
		t.Fatal("copied 100 bytes from a 10-byte file")
	}
	if n != 6 && err == nil {
		t.Fatalf("n = %d with no error", n)
	}
}

// TestCopyNKeepsOrder: buffered bytes written before a kernel-copied section land
// before it, bytes written after land after it, and a non-section reader goes
// through the buffer.
func TestCopyNKeepsOrder(t *testing.T) {
	dir := t.TempDir()
	sp := filepath.Join(dir, "src")
	os.WriteFile(sp, []byte("0123456789abcdef"), 0o644)
	sf, _ := os.Open(sp)
	defer sf.Close()
	df, err := os.Create(filepath.Join(dir, "dst"))
	if err != nil {
		t.Fatal(err)
	}
	bw := bufio.NewWriter(df)
	bw.WriteString("<")
	if n, err := CopyN(df, bw, io.NewSectionReader(sf, 2, 5), 5); n != 5 || err != nil {
		t.Fatalf("section: %d, %v", n, err)
	}
	bw.WriteString("|")
	if n, err := CopyN(df, bw, strings.NewReader("xyz!"), 3); n != 3 || err != nil {
		t.Fatalf("reader: %d, %v", n, err)
	}
	if _, err := CopyN(df, bw, io.NewSectionReader(sf, 14, 2), 3); err != io.EOF {
		t.Fatalf("short section: %v, want io.EOF", err)
	}
	bw.WriteString(">")
	bw.Flush()
	df.Close()
	got, _ := os.ReadFile(df.Name())
	if string(got) != "<23456|xyzef>" {
		t.Fatalf("file holds %q", got)
	}
}
