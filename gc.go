package pth

import (
	"runtime/debug"
	"sync"
)

// Decoding and interpreting a large pickle allocates a tree that stays live
// until the open ends: garbage collections during it find almost nothing to
// free, and on a 20,000-tensor state_dict they cost a quarter of the open. So
// while large pickles are being opened the collector's target (GOGC) is raised
// to relaxedGCPercent, then restored. The setting is process-wide: concurrent
// opens share one raise, and the last to finish restores the value found by
// the first. A GOGC of "off" or one already higher is left alone, and a
// memory limit (GOMEMLIMIT, debug.SetMemoryLimit) still applies throughout.
const relaxedGCPercent = 400

// relaxGCMinPickle is the smallest pickle worth the change.
const relaxGCMinPickle = 1 << 20

var gcRelax struct {
	sync.Mutex
	users   int
	saved   int
	changed bool
}

// relaxGC raises GOGC until the returned function is called.
func relaxGC() (restore func()) {
	gcRelax.Lock()
	defer gcRelax.Unlock()
	if gcRelax.users == 0 {
		prev := debug.SetGCPercent(relaxedGCPercent)
		gcRelax.saved, gcRelax.changed = prev, true
		if prev < 0 || prev >= relaxedGCPercent {
			debug.SetGCPercent(prev)
			gcRelax.changed = false
		}
	}
	gcRelax.users++
	var once sync.Once
	return func() {
		once.Do(func() {
			gcRelax.Lock()
			defer gcRelax.Unlock()
			gcRelax.users--
			if gcRelax.users == 0 && gcRelax.changed {
				debug.SetGCPercent(gcRelax.saved)
				gcRelax.changed = false
			}
		})
	}
}
