// Package extract implements `pth extract MODEL OUT`: the state_dict of an entire-model
// pickle (torch.save(model), zip or legacy stream) or of a TorchScript archive, written
// as a weights-only file that torch.load(OUT, weights_only=True) reads and
// load_state_dict(strict=True) accepts into the original architecture.
package extract
