package core

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/odoo-backup/odoo-backup/core/dumpguard"
)

// psqlEncodingEnv makes psql start in an encoding whose ASCII bytes are
// always ASCII (else a locale such as ja_JP.SJIS could choose one that hides
// quotes and backslashes inside multibyte characters), before the dump's own
// SET client_encoding.
const psqlEncodingEnv = "PGCLIENTENCODING=UTF8"

// guardDump is what psql reads of a plain dump: the dump through the guard
// (see package dumpguard), after a \restrict line with a random key when
// psql knows the command, so that psql itself refuses any meta-command the
// guard would have missed. The dump's own \restrict and \unrestrict lines
// are dropped by the guard: they would end our restriction.
func guardDump(dump io.Reader, psql Tool) io.Reader {
	guarded := dumpguard.NewReader(dump)
	if !psql.SupportsRestrict() {
		return guarded
	}
	return io.MultiReader(strings.NewReader(`\restrict `+restrictKey()+"\n"), guarded)
}

// restrictKey is a \restrict key: letters and digits, as pg_dump's.
func restrictKey() string {
	return rand.Text()
}

// refusedDump turns the guard's refusal into the sentence a restore
// reports, or nil when err is not one.
func refusedDump(err error) error {
	var refused *dumpguard.RefusedError
	if !errors.As(err, &refused) {
		return nil
	}
	return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s; it was refused and nothing was changed", refused.Error())
}

// dumpRefusal is the guard's refusal as one sentence of its own (the
// caller adds what happened to the file), or nil when err is not one.
func dumpRefusal(err error) error {
	var refused *dumpguard.RefusedError
	if !errors.As(err, &refused) {
		return nil
	}
	return Userf(fmt.Errorf("%w: %w", ErrCorrupt, err), "%s", refused.Error())
}

// guardedCopy reads a whole plain dump through the guard, for the checks
// that read a dump without restoring it (an upload, verify).
func guardedCopy(w io.Writer, dump io.Reader) error {
	_, err := io.Copy(w, dumpguard.NewReader(dump))
	return err
}
