package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/odoo-backup/odoo-backup/core"
)

// DamagedError: the catalog file exists but is not a readable SQLite
// database (garbage, truncated, overwritten pages). It wraps core.ErrCorrupt.
// Front ends phrase the way out: restore the file from a copy, or rebuild
// the history from the destinations.
type DamagedError struct {
	Path  string
	Cause error
}

func (e *DamagedError) Error() string {
	return fmt.Sprintf("the catalog %s is damaged (%v)", e.Path, e.Cause)
}

func (e *DamagedError) Unwrap() []error { return []error{core.ErrCorrupt, e.Cause} }

// UnreachableError: the catalog cannot be opened or created where it was
// asked for, because its directory is missing and cannot be made, is not a
// directory, or cannot be written. It wraps core.ErrUnreachable.
type UnreachableError struct {
	Path  string
	Dir   string
	Cause error
}

func (e *UnreachableError) Error() string {
	return fmt.Sprintf("the catalog %s cannot be opened: its directory %s does not exist or is not writable (%v)", e.Path, e.Dir, e.Cause)
}

func (e *UnreachableError) Unwrap() []error { return []error{core.ErrUnreachable, e.Cause} }

// checkDirectory makes the catalog's directory if needed and makes sure this
// process can create files in it (SQLite creates -wal and -shm files beside
// the catalog, so a writable file in a read-only directory is not enough).
func checkDirectory(path string) error {
	dir := filepath.Dir(path)
	unreachable := func(err error) error { return unreachableIn(path, dir, cause(err)) }
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return unreachable(err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return unreachable(err)
	} else if !fi.IsDir() {
		return unreachable(syscall.ENOTDIR)
	}
	if err := syscall.Access(dir, 2|1); err != nil { // W_OK|X_OK
		return unreachable(err)
	}
	return nil
}

// cause is the bare reason of a file error ("permission denied"), the path
// being said by the sentence around it.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// classifyOpen turns SQLite's codes from the first reads of a file into
// DamagedError or UnreachableError; anything else passes unchanged.
func classifyOpen(path string, err error) error {
	if ce, ok := classifySQLite(path, err); ok {
		return ce
	}
	return err
}

// classifySQLite is the DamagedError or UnreachableError that SQLite's code
// in err means for the catalog at path, whenever it is read: a page found
// malformed by a query long after the file was opened is as damaged as one
// found at once. ok is false for any other error.
func classifySQLite(path string, err error) (_ error, ok bool) {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return nil, false
	}
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_NOTADB:
		return damaged(path, errors.New("it is not an SQLite database")), true
	case sqlite3.SQLITE_CORRUPT:
		return damaged(path, errors.New("SQLite finds its pages malformed")), true
	case sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM:
		return unreachableIn(path, filepath.Dir(path), errors.New("SQLite cannot open or write it")), true
	}
	return nil, false
}

// damaged is the DamagedError of the catalog at path, said as one sentence
// with the way out advised (each front end phrases it).
func damaged(path string, cause error) error {
	d := &DamagedError{Path: path, Cause: cause}
	return core.Advise(core.Advice{Action: core.ActionRepairCatalog, Detail: path}, d, "%s", d.Error())
}

// unreachableIn is the UnreachableError of the catalog at path in dir, said
// as one sentence with the way out advised (each front end phrases it).
func unreachableIn(path, dir string, cause error) error {
	u := &UnreachableError{Path: path, Dir: dir, Cause: cause}
	return core.Advise(core.Advice{Action: core.ActionFixCatalogDirectory, Detail: dir}, u, "%s", u.Error())
}

// dbError is how every catalog operation says a database error: SQLite's
// codes for a damaged or unreachable file become the errors that say so,
// naming it; the rest is classifyDBError's.
func (c *Catalog) dbError(op string, err error) error {
	if c.db != nil && !c.db.pg {
		if ce, ok := classifySQLite(c.path, err); ok {
			return ce
		}
	}
	return classifyDBError(op, err)
}
