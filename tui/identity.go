package tui

// Backups on a destination that encrypts to an age recipient whose identity
// is kept off this host can be read only with that identity: the restore
// flow, the download dialog and verify ask for its file here, check it
// before anything runs (core.CheckIdentityFile), and hand it to the engine.
// Which backups need one is core's rule (core.OffHostRecipient).

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/odoo-backup/odoo-backup/core"
)

// checkIdentity checks the identity file typed for a backup encrypted to
// recipient as the engine reads it and that it holds the identity of that
// recipient. It returns the file's absolute path.
func checkIdentity(typed, recipient string) (string, error) {
	p := strings.TrimSpace(typed)
	if p == "" {
		return "", fmt.Errorf("give the age identity file of %s", recipient)
	}
	abs, err := filepath.Abs(expandHome(p))
	if err != nil {
		return "", err
	}
	if err := core.CheckIdentityFile(abs, recipient); err != nil {
		return "", err
	}
	return abs, nil
}
