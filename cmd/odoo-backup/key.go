package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
)

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage age keys for client-side encryption of backups"}
	cmd.AddCommand(a.keyGenerateCommand())
	return cmd
}

func (a *app) keyGenerateCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "generate -o FILE",
		Short: "Write a new age identity file (mode 0600) and print its public key",
		Long: `Write a new age X25519 identity to FILE, readable by its owner only, and print
its public key (the recipient, age1...) on standard output. Give the file to
destination add --encrypt-key to encrypt a destination's backups and decrypt
them on this host, or only the printed recipient to --encrypt-recipient to
keep the key off this host. An existing file is never overwritten.

A lost key means lost backups: keep a copy of FILE somewhere safe, away from
the backups it decrypts.`,
		Example: `  odoo-backup key generate -o /root/odoo-backup.key
  odoo-backup destination add offsite --endpoint ... --encrypt-key /root/odoo-backup.key`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("say where to write the key with -o FILE")}
			}
			abs, err := filepath.Abs(out)
			if err != nil {
				return err
			}
			recipient, err := core.GenerateIdentityFile(abs)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, recipient)
			fmt.Fprintf(a.stderr, "Wrote the age identity %s (mode 0600); its public key is printed above.\n", abs)
			fmt.Fprintln(a.stderr, lostKeyWarning(abs))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the identity to (must not exist)")
	return cmd
}

// lostKeyWarning is said once, wherever a key starts being used.
func lostKeyWarning(what string) string {
	return fmt.Sprintf("Warning: a lost key means lost backups. Keep a copy of %s somewhere safe, away from this host and the backups.", what)
}

// destinationEncryption applies destination add's --encrypt-* flags to d: at
// most one of an identity file on this host (its path and recipient are
// kept), a recipient whose identity stays elsewhere, or a passphrase read
// from the environment.
func destinationEncryption(d *core.Destination, keyFile, recipient, passphraseEnv string) error {
	given := 0
	for _, v := range []string{keyFile, recipient, passphraseEnv} {
		if v != "" {
			given++
		}
	}
	if given > 1 {
		return usageError{fmt.Errorf("give only one of --encrypt-key, --encrypt-recipient and --encrypt-passphrase-env")}
	}
	switch {
	case keyFile != "":
		// core.AddDestination reads it for its recipient.
		d.Encrypt.KeyFile = keyFile
	case recipient != "":
		d.Encrypt.Recipient = recipient
	case passphraseEnv != "":
		v, ok := os.LookupEnv(passphraseEnv)
		if !ok || v == "" {
			return usageError{fmt.Errorf("the environment variable %s named by --encrypt-passphrase-env is not set", passphraseEnv)}
		}
		d.Encrypt.Passphrase = core.Secret(v)
	}
	return nil
}

// encryptionWarning is what destination add says once about a destination
// that encrypts.
func encryptionWarning(d core.Destination) string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return fmt.Sprintf("Backups on %s are encrypted with the passphrase. Warning: a lost key means lost backups. Keep the passphrase somewhere safe, away from this host.", d.Name)
	case d.Encrypt.KeyFile != "":
		return fmt.Sprintf("Backups on %s are encrypted to %s and decrypted with %s. %s", d.Name, d.Encrypt.Recipient, d.Encrypt.KeyFile, lostKeyWarning(d.Encrypt.KeyFile))
	case d.Encrypt.Recipient != "":
		return fmt.Sprintf("Backups on %s are encrypted to %s; this host cannot decrypt them, so download, verify, restore and drill need --identity FILE. Warning: a lost key means lost backups. Keep the identity of %s somewhere safe.", d.Name, d.Encrypt.Recipient, d.Encrypt.Recipient)
	}
	return ""
}

// encryptionText is the ENCRYPTION column of destination list: the
// recipient, never a key.
func encryptionText(d core.Destination) string {
	switch {
	case d.Encrypt.Passphrase.IsSet():
		return "age passphrase"
	case d.Encrypt.KeyFile != "":
		return "age " + d.Encrypt.Recipient + " (key on this host)"
	case d.Encrypt.Recipient != "":
		return "age " + d.Encrypt.Recipient
	}
	return "—"
}
