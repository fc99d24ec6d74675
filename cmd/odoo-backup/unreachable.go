package main

import (
	"errors"
	"fmt"
	"net"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/store"
)

// exitCatalogUnreachable is the exit code of status (and of odoo-backup
// without a terminal, which prints the status) when the catalog's server
// does not answer: a monitoring check tells "cannot know" from "unhealthy"
// (1), as a Nagios plugin's UNKNOWN (3) does.
const exitCatalogUnreachable = 3

// catalogUnreachable says in one sentence that the catalog's server does not
// answer, without the URL's password, and returns the exit code.
func (a *app) catalogUnreachable(cmd *cobra.Command, err error) int {
	why := ""
	// The catalog that did not answer: the one the error names (a
	// migration's target, say), else this command's.
	catalog := store.Redact(a.resolveCatalogPath())
	var oe *net.OpError
	var ue *store.CatalogUnreachableError
	if errors.As(err, &ue) && ue.URL != "" {
		catalog = ue.URL
	}
	switch {
	case errors.As(err, &oe) && oe.Err != nil:
		why = " (" + lastCause(oe.Err) + ")"
	case ue != nil && ue.Cause != nil:
		why = " (" + lastCause(ue.Cause) + ")"
	}
	fmt.Fprintf(a.stderr, "odoo-backup: the catalog %s is unreachable%s; start its PostgreSQL server or check this host's access to it, then try again\n",
		catalog, why)
	if cmd != nil && (cmd.Name() == "status" || !cmd.HasParent()) {
		return exitCatalogUnreachable
	}
	return 1
}

// lastCause is the innermost error's text: "connection refused", not the
// dial's whole story.
func lastCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
