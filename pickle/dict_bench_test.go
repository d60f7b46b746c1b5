package pickle

import (
	"strconv"
	"testing"
)

// stateDictKeys returns n keys shaped like a state_dict's ("layers.123.weight").
func stateDictKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		suffix := ".weight"
		if i%2 == 1 {
			suffix = ".bias"
		}
		keys[i] = "layers." + strconv.Itoa(i/2) + suffix
	}
	return keys
}

// BenchmarkNewDictOf20000 builds a 20,000-entry string-keyed dict in place,
// as the OrderedDict rebuild of a large state_dict does.
func BenchmarkNewDictOf20000(b *testing.B) {
	src := stateDictEntries(20000)
	entries := make([]Entry, len(src))
	b.ReportAllocs()
	for b.Loop() {
		copy(entries, src)
		d := NewDictOf(entries)
		if d.Len() != len(src) {
			b.Fatal(d.Len())
		}
	}
}

// stateDictEntries returns n entries keyed like a state_dict's, valued by position.
func stateDictEntries(n int) []Entry {
	keys := stateDictKeys(n)
	src := make([]Entry, len(keys))
	for i, k := range keys {
		src[i] = Entry{Key: k, Value: int64(i)}
	}
	return src
}
