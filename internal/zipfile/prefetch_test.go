package zipfile

import (
	"bytes"
	"os"
	"testing"
)

type recordingPrefetcher struct {
	*bytes.Reader
	ranges [][2]int64
}

func (p *recordingPrefetcher) Prefetch(off, n int64) { p.ranges = append(p.ranges, [2]int64{off, n}) }

// Prefetched runs of local headers never cover a page that holds no header
// (NewReader must not ask for tensor bytes it will not read), and in a file
// of many small records they cover every header.
func TestPrefetchHeaders(t *testing.T) {
	const page = 4096
	// Headers of 30+10 bytes: a dense run, a record with 1 MiB of data, then
	// a run whose gaps are just under and exactly one page.
	var recs []*Record
	off := int64(0)
	add := func(gap int64) {
		recs = append(recs, &Record{Name: "arch/data/x", HeaderOffset: off})
		off += localLen + 11 + gap
	}
	for i := 0; i < 50; i++ {
		add(200)
	}
	add(1 << 20)
	add(page - 2)
	add(page - 2)
	add(page)
	add(0)
	p := &recordingPrefetcher{}
	runs := headerRuns{pf: p}
	for _, rec := range recs {
		runs.add(rec.HeaderOffset, rec.HeaderOffset+localLen+int64(len(rec.Name)))
	}
	runs.flush()
	covered := 0
	for _, r := range p.ranges {
		for pg := r[0] / page; pg <= (r[0]+r[1]-1)/page; pg++ {
			holds := false
			for _, rec := range recs {
				hs, he := rec.HeaderOffset, rec.HeaderOffset+localLen+int64(len(rec.Name))
				if hs < (pg+1)*page && he > pg*page {
					holds = true
				}
			}
			if !holds {
				t.Errorf("range [%d,+%d) covers page %d, which holds no local header", r[0], r[1], pg)
			}
		}
		for _, rec := range recs {
			if rec.HeaderOffset >= r[0] && rec.HeaderOffset < r[0]+r[1] {
				covered++
			}
		}
	}
	if covered != 51+3 {
		t.Errorf("%d headers prefetched, want the 51 of the dense run (the last before the 1 MiB of data) and the 3 under a page apart", covered)
	}
}

// The real 20,000-tensor file: NewReader prefetches its directory and its
// headers, in a handful of ranges, and reads the same records as without.
func TestPrefetchManyPT(t *testing.T) {
	data, err := os.ReadFile("../../testdata/fixtures/large/many.pt")
	if err != nil {
		t.Skip("testdata/fixtures/large/many.pt not generated (testdata/gen/bench_gen.py)")
	}
	p := &recordingPrefetcher{Reader: bytes.NewReader(data)}
	z, err := NewReader(p, int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	if len(z.Records()) != len(plain.Records()) || len(z.Records()) < 20000 {
		t.Fatalf("%d records with prefetching, %d without", len(z.Records()), len(plain.Records()))
	}
	for i, r := range z.Records() {
		if q := plain.Records()[i]; r.Name != q.Name || r.DataOffset != q.DataOffset {
			t.Fatalf("record %d differs: %+v vs %+v", i, r, q)
		}
	}
	if len(p.ranges) < 2 || len(p.ranges) > 100 {
		t.Fatalf("%d prefetch ranges, want the directory and a few runs of headers", len(p.ranges))
	}
}
