package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

// neutralizeFlags are --neutralize and --no-neutralize: an explicit choice,
// or nothing, which leaves it to core.DefaultNeutralize.
type neutralizeFlags struct{ on, off bool }

func (n *neutralizeFlags) add(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&n.on, "neutralize", false, "neutralize the restored database: mail servers and crons off, payments disabled, new database uuid and secret (the default for any target but the backup's own service)")
	f.BoolVar(&n.off, "no-neutralize", false, "do not neutralize: keep the restored database's mail servers, crons and identity as they were")
}

// check refuses both flags at once.
func (n neutralizeFlags) check() error {
	if n.on && n.off {
		return usageError{fmt.Errorf("give --neutralize or --no-neutralize, not both")}
	}
	return nil
}

// resolve is the choice given, or the rule's default; a rule without one
// (an uploaded file of unknown origin) needs the choice said.
func (n neutralizeFlags) resolve(rule core.NeutralizeRule, target string) (bool, error) {
	if err := n.check(); err != nil {
		return false, err
	}
	switch {
	case n.on:
		return true, nil
	case n.off:
		return false, nil
	case rule.MustChoose:
		return false, usageError{fmt.Errorf("%s, so say whether to neutralize it on %s: --neutralize if it is another service's data (mail servers and crons off, a new database uuid), --no-neutralize if it is %s's own", rule.Why, target, target)}
	}
	return rule.Neutralize, nil
}

// neutralizedLine says what was decided, for the output.
func neutralizedLine(res core.RestoreResult, n neutralizeFlags, rule core.NeutralizeRule) string {
	switch {
	case res.IsNeutralized && !n.on:
		return fmt.Sprintf("Neutralized by default (%s; --no-neutralize keeps it as it was):", rule.Why)
	case res.IsNeutralized:
		return "Neutralized:"
	}
	line := "Not neutralized: mail servers and crons are as in the backup"
	if res.NewIdentity {
		line += ", with a new database.uuid and database.secret"
	} else {
		line += ", and so is database.uuid"
	}
	if !n.off {
		line += fmt.Sprintf(" (%s; --neutralize turns them off)", rule.Why)
	}
	return line + "."
}
