package cputime

import "time"

// Process returns the process's user+system CPU time so far, over all
// threads (the garbage collector's too); 0 where the platform does not say.
func Process() time.Duration { return process() }
