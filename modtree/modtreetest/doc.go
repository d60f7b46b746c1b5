// Package modtreetest compares module trees and state_dicts read by pth with what
// PyTorch recorded in testdata/models/manifest.json (PyTorch 1.13) and
// testdata/models/torch2/manifest.json (PyTorch 2.6), both written by
// testdata/gen/model_fixtures.py. It is shared by the modtree and torchscript tests.
package modtreetest
