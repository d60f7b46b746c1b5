// Package ziptest reads and rewrites zip archives for tests with Go's own
// archive/zip: a reader and writer independent of internal/zipfile, so that
// tests never check pth's zip code with itself.
package ziptest
