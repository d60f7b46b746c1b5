package pth

import (
	"runtime/debug"
	"testing"
)

// gcPercent reads GOGC through the runtime (setting it back at once).
func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestRelaxGC: overlapping relaxGC calls raise GOGC once and the last restore
// puts back the value found by the first; "off" and higher values are kept.
func TestRelaxGC(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	r1 := relaxGC()
	r2 := relaxGC()
	if p := gcPercent(); p != relaxedGCPercent {
		t.Fatalf("while relaxed GOGC = %d, want %d", p, relaxedGCPercent)
	}
	r1()
	r1() // a second call does nothing
	if p := gcPercent(); p != relaxedGCPercent {
		t.Fatalf("with one open left GOGC = %d, want %d", p, relaxedGCPercent)
	}
	r2()
	if p := gcPercent(); p != 100 {
		t.Fatalf("after both GOGC = %d, want 100", p)
	}
	for _, keep := range []int{-1, 1000} {
		debug.SetGCPercent(keep)
		r := relaxGC()
		if p := gcPercent(); p != keep {
			t.Errorf("GOGC %d changed to %d", keep, p)
		}
		r()
		if p := gcPercent(); p != keep {
			t.Errorf("GOGC %d restored as %d", keep, p)
		}
	}
}
