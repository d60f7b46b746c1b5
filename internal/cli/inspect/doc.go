// Package inspect implements `pth inspect`: what a model file holds, without
// running anything in it.
package inspect
