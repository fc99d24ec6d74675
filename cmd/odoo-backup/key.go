package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/store"
)

func (a *app) keyCommand() *cobra.Command {
	cmd := &cobra.Command{Use: "key", Short: "Manage age keys for client-side encryption of backups, and the catalog's key on each host"}
	cmd.AddCommand(a.keyGenerateCommand(), a.keyExportCatalogCommand(), a.keyInstallCatalogCommand())
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

// catalogKey is the key file that seals the secrets of this host's
// catalog: a PostgreSQL catalog's is this host's copy of the fleet's key,
// an SQLite catalog's lies beside the file.
func (a *app) catalogKey() string {
	if path := a.resolveCatalogPath(); !store.IsPostgres(path) {
		return store.KeyPath(path)
	}
	return a.catalogKeyFile()
}

func (a *app) keyExportCatalogCommand() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "export-catalog -o FILE",
		Short: "Write a copy of this host's catalog key (mode 0600), to install on another host of the fleet",
		Long: `Write a copy of the key that seals the secrets (S3 secret keys, PostgreSQL
passwords, encryption passphrases) of this host's catalog to FILE, readable by
its owner only. Every host sharing a PostgreSQL catalog needs that one key:
copy FILE to each (scp, a secrets manager), install it there with
odoo-backup key install-catalog FILE, then delete the copies. An existing FILE
is never overwritten.

The key of a PostgreSQL catalog is $ODOO_BACKUP_CATALOG_KEY, else catalog.key
in this host's data directory; an SQLite catalog's lies beside its file.`,
		Example: `  odoo-backup key export-catalog -o /root/fleet-catalog.key
  scp -p /root/fleet-catalog.key host-b:/root/`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usageError{fmt.Errorf("say where to write the key with -o FILE")}
			}
			key := a.catalogKey()
			if err := store.ExportKey(key, out); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Wrote a copy of the catalog key %s to %s (mode 0600). Copy it to each host of the fleet, run odoo-backup key install-catalog %s there, then delete the copies: anyone with it and the catalog reads its secrets.\n", key, out, filepath.Base(out))
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write the key to (must not exist)")
	return cmd
}

func (a *app) keyInstallCatalogCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "install-catalog FILE",
		Short: "Install the fleet's catalog key on this host, so it reads the shared catalog's secrets",
		Long: `Install FILE, written by odoo-backup key export-catalog on a host that reads
the catalog's secrets, as this host's catalog key ($ODOO_BACKUP_CATALOG_KEY,
else catalog.key in this host's data directory), readable by its owner only.
FILE must be a catalog key readable by its owner only. When the catalog is in
PostgreSQL, the key must open its secrets. A different key already installed
is never replaced: move it away first if it is not the fleet's.`,
		Example: `  odoo-backup key install-catalog /root/fleet-catalog.key && rm /root/fleet-catalog.key`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if path := a.resolveCatalogPath(); store.IsPostgres(path) {
				if err := a.checkCatalogKey(ctx, path, args[0]); err != nil {
					return err
				}
			}
			key := a.catalogKey()
			installed, err := store.InstallKey(args[0], key)
			if err != nil {
				return err
			}
			if !installed {
				fmt.Fprintf(a.stdout, "This host already has that key at %s; nothing to do.\n", key)
				return nil
			}
			fmt.Fprintf(a.stdout, "Installed the catalog key at %s (mode 0600); this host now reads the catalog's secrets. Delete %s unless you keep it somewhere safe.\n", key, args[0])
			return nil
		},
	}
	return cmd
}

// checkCatalogKey refuses a key that does not open the secrets of the
// PostgreSQL catalog at url (another fleet's key, an old one).
func (a *app) checkCatalogKey(ctx context.Context, url, keyFile string) error {
	if err := store.CheckKeyFile(keyFile); err != nil {
		return err
	}
	cat, err := store.Open(ctx, url, store.WithKeyFile(keyFile))
	if err != nil {
		return err
	}
	defer cat.Close()
	bad, err := cat.UnreadableSecret(ctx)
	if err != nil {
		return err
	}
	if bad != "" {
		return core.Userf(core.ErrInvalid, "%s is not the key of the catalog %s: %s; give the key exported on a host that reads the catalog's secrets", keyFile, store.Redact(url), bad)
	}
	return nil
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
