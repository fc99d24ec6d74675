package tui

// Backups on a destination that encrypts to an age recipient whose identity
// is kept off this host can be read only with that identity: the restore
// flow, the download dialog and verify ask for its file here, check it
// before anything runs, and hand it to the engine.

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	agelib "filippo.io/age"

	"github.com/odoo-backup/odoo-backup/core"
)

// ageRecipientOf is the recipient backup b is encrypted to, or "" when it is
// plain or encrypted with a passphrase.
func ageRecipientOf(b core.Backup) string {
	if b.Encryption == core.EncryptionPassphrase || !strings.HasPrefix(b.Encryption, "age:") {
		return ""
	}
	return strings.TrimPrefix(b.Encryption, "age:")
}

// offHostRecipient is the recipient whose identity file must be given to
// read backup b, or "" when none has to be: the backup is plain, encrypted
// with a passphrase, or its destination keeps the key of that recipient on
// this host. A destination that no longer exists is left to the engine to
// report; one that cannot be read is said in a sentence naming it.
func offHostRecipient(c context.Context, cat core.DestinationReader, b core.Backup) (string, error) {
	recipient := ageRecipientOf(b)
	if recipient == "" {
		return "", nil
	}
	d, err := cat.Destination(c, b.Destination)
	switch {
	case errors.Is(err, core.ErrNotFound):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("cannot read destination %s: %v", b.Destination, err)
	case d.Encrypt.KeyFile != "" && d.Encrypt.Recipient == recipient:
		return "", nil
	}
	return recipient, nil
}

// checkIdentity checks the identity file typed for a backup encrypted to
// recipient as the engine reads it (a file other users can read is
// refused) and that it holds the identity of that recipient. It returns
// the file's absolute path.
func checkIdentity(typed, recipient string) (string, error) {
	p := strings.TrimSpace(typed)
	if p == "" {
		return "", fmt.Errorf("give the age identity file of %s", recipient)
	}
	abs, err := filepath.Abs(expandHome(p))
	if err != nil {
		return "", err
	}
	ids, err := core.ReadIdentityFile(abs)
	if err != nil {
		return "", err
	}
	var other string
	for _, id := range ids {
		r := identityRecipientOf(id)
		if r == "" || r == recipient {
			// An identity of an unknown kind is left to the engine to try.
			return abs, nil
		}
		if other == "" {
			other = r
		}
	}
	return "", fmt.Errorf("%s holds the identity of %s, not of %s, so nothing was read; give the age identity file of %s", abs, other, recipient, recipient)
}

func identityRecipientOf(id agelib.Identity) string {
	switch i := id.(type) {
	case *agelib.X25519Identity:
		return i.Recipient().String()
	case *agelib.HybridIdentity:
		return i.Recipient().String()
	}
	return ""
}

// cliAdvice is the engine's advice for a missing or wrong identity, which
// speaks of the command line's --identity flag.
var cliAdvice = []string{
	"pass --identity FILE with the age identity file of that recipient",
	"pass --identity with the key file of that recipient",
}

// consoleError says the engine's error about backup b in the console's
// words: the advice to pass --identity becomes the advice to give the
// identity file, which this console asks for.
func consoleError(err error, b core.Backup) error {
	var ue *core.UserError
	if err == nil || !errors.As(err, &ue) {
		return err
	}
	recipient := ageRecipientOf(b)
	if recipient == "" {
		recipient = "that recipient"
	}
	for _, cli := range cliAdvice {
		if strings.Contains(ue.Msg, cli) {
			return &core.UserError{Msg: strings.Replace(ue.Msg, cli, "give the age identity file of "+recipient, 1), Cause: ue.Cause}
		}
	}
	return err
}
