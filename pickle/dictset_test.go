package pickle

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// Set.add keeps the first of equal items (1, 1.0, True), every unhashable
// one, and stays equal to a linear scan with hashKey equality over batches
// that grow its index past several powers of two.
func TestSetAdd(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	item := func() Value {
		i := rng.IntN(3000)
		switch rng.IntN(6) {
		case 0:
			return int64(i)
		case 1:
			return float64(i)
		case 2:
			return fmt.Sprint(i)
		case 3:
			return Tuple{int64(i % 50), []byte("b")}
		case 4:
			return &List{}
		}
		return math.NaN()
	}
	s := &Set{Frozen: true}
	var want []Value
	for batch := range 30 {
		items := make([]Value, rng.IntN(400))
		for i := range items {
			items[i] = item()
		}
		s.add(items)
	next:
		for _, it := range items {
			if hk, ok := hashKey(it); ok {
				for _, w := range want {
					if k, ok := hashKey(w); ok && k == hk {
						continue next
					}
				}
			}
			want = append(want, it)
		}
		if len(s.Items) != len(want) {
			t.Fatalf("batch %d: %d items, want %d", batch, len(s.Items), len(want))
		}
		for i := range want {
			if !sameValue(s.Items[i], want[i]) {
				t.Fatalf("batch %d: item %d is %v, want %v", batch, i, s.Items[i], want[i])
			}
		}
		if n := len(s.index); n&(n-1) != 0 || n < 2*len(s.Items) {
			t.Fatalf("batch %d: index of %d slots for %d items", batch, n, len(s.Items))
		}
	}
}
