package remap

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/pthkit/pth"
	"github.com/pthkit/pth/remap"
)

// Options are the inputs of one `pth remap` run. Rules apply in this order:
// every StripPrefix, every Rename, every Drop, then AddPrefix.
type Options struct {
	In, Out     string
	StripPrefix []string
	Rename      []string // PATTERN=REPLACEMENT
	Drop        []string // PATTERN
	AddPrefix   string
	JSON        bool
	Stdout      io.Writer
}

// NewCmd returns the `pth remap` command.
func NewCmd() *cobra.Command {
	opts := &Options{}
	cmd := &cobra.Command{
		Use:   "remap IN OUT",
		Short: "Rename, strip, prefix or drop state_dict keys, keeping everything else",
		Long: `Remap rewrites the keys of every state_dict in IN (the file's root, or one nested in a
training checkpoint, e.g. under "state_dict") and writes OUT in torch.save's zip format,
atomically. Every other value — epoch, optimizer state, _metadata, strings — is kept.

Rules apply in this order: --strip-prefix, --rename (in the order given), --drop, --add-prefix.
Patterns are Go regular expressions; a replacement names groups as $1 or \1.
Two keys renamed to the same name is an error and OUT is left untouched.`,
		Example: `  pth remap dp.pth plain.pth --strip-prefix module.
  pth remap old.pth new.pth --rename '^features\.(\d+)\.=backbone.$1.' --drop 'num_batches_tracked$'
  pth remap model.pth wrapped.pth --add-prefix model. --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.In, opts.Out = args[0], args[1]
			opts.Stdout = cmd.OutOrStdout()
			return Run(opts)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&opts.StripPrefix, "strip-prefix", nil, "remove this prefix from keys that start with it (repeatable)")
	f.StringArrayVar(&opts.Rename, "rename", nil, "rename keys: 'PATTERN=REPLACEMENT' (repeatable)")
	f.StringArrayVar(&opts.Drop, "drop", nil, "drop keys matching PATTERN (repeatable)")
	f.StringVar(&opts.AddPrefix, "add-prefix", "", "put this prefix in front of every key")
	f.BoolVar(&opts.JSON, "json", false, "print a JSON report of renamed and dropped keys")
	return cmd
}

// Rules builds the rule list the options describe.
func (o *Options) Rules() (remap.Rules, error) {
	var rs remap.Rules
	for _, p := range o.StripPrefix {
		rs = append(rs, remap.StripPrefix(p))
	}
	for _, spec := range o.Rename {
		r, err := remap.ParseRename(spec)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	for _, pat := range o.Drop {
		r, err := remap.Drop(pat)
		if err != nil {
			return nil, err
		}
		rs = append(rs, r)
	}
	if o.AddPrefix != "" {
		rs = append(rs, remap.AddPrefix(o.AddPrefix))
	}
	if len(rs) == 0 {
		return nil, errors.New("no rules: give --strip-prefix, --add-prefix, --rename or --drop")
	}
	return rs, nil
}

// Report is the --json output.
type Report struct {
	In      string         `json:"in"`
	Out     string         `json:"out"`
	Rules   []string       `json:"rules"`
	Renamed []RenamedEntry `json:"renamed"`
	Dropped []string       `json:"dropped"`
}

// RenamedEntry is one renamed key, by its path in the file ("state_dict/module.fc1.weight").
type RenamedEntry struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// Run performs the remapping described by opts.
func Run(opts *Options) error {
	if opts.Stdout == nil {
		opts.Stdout = io.Discard
	}
	rules, err := opts.Rules()
	if err != nil {
		return err
	}
	root, err := pth.Load(opts.In, nil)
	if err != nil {
		return err
	}
	out, changes, err := rules.Tree(root)
	if err != nil {
		return fmt.Errorf("remap %s: %w", opts.In, err)
	}
	if err := pth.Save(opts.Out, out, nil); err != nil {
		return err
	}
	rep := Report{In: opts.In, Out: opts.Out, Renamed: []RenamedEntry{}, Dropped: []string{}}
	for _, r := range rules {
		rep.Rules = append(rep.Rules, r.String())
	}
	for _, c := range changes {
		if c.Dropped {
			rep.Dropped = append(rep.Dropped, c.From)
		} else {
			rep.Renamed = append(rep.Renamed, RenamedEntry{c.From, c.To})
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	for _, r := range rep.Renamed {
		fmt.Fprintf(opts.Stdout, "%s → %s\n", r.From, r.To)
	}
	for _, d := range rep.Dropped {
		fmt.Fprintf(opts.Stdout, "dropped %s\n", d)
	}
	fmt.Fprintf(opts.Stdout, "%s: %d keys renamed, %d dropped; wrote %s\n", opts.In, len(rep.Renamed), len(rep.Dropped), opts.Out)
	return nil
}
