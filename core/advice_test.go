package core_test

import "github.com/odoo-backup/odoo-backup/core"

// advised reports whether err advises action, which the front ends phrase
// (core's messages name no command or key).
func advised(err error, action core.Action) bool {
	a, ok := core.AdviceOf(err)
	return ok && a.Action == action
}
