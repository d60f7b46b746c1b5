// Package modfile opens entire-model pickles and TorchScript archives as module trees,
// with no class code.
//
// An entire-model pickle is what torch.save(model) writes (zip or legacy stream); a
// TorchScript archive is what torch.jit.save writes. Open recovers the nn.Module tree
// of either (package modtree) without the model's Python classes and without running
// anything in the file; StateDict returns that tree's state_dict as model.state_dict()
// (or torch.jit.load(f).state_dict()) gives it, detached from the file.
package modfile
