// Package convert implements `pth convert`: re-save any checkpoint pth reads in
// another format, streaming, atomically.
package convert
