// Package atomicfile writes files so that readers see either the old content or the
// complete new content, never a half-written file: the data goes to a temporary file
// in the destination's directory, is synced, and is renamed over the destination.
// On any error the temporary file is removed and the destination is untouched.
//
// Every writer in pth (torch.save files, TorchScript, safetensors, GGUF, npy, shards)
// goes through here, so the guarantee is the same everywhere.
package atomicfile
