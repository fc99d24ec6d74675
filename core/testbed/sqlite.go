package testbed

import (
	"bytes"
	"fmt"
	"os"
)

// sqlitePage is the page size of the catalogs the tests make (SQLite's
// default).
const sqlitePage = 4096

// SQLitePages is how many pages the closed SQLite file at path holds.
func SQLitePages(path string) (int64, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return fi.Size() / sqlitePage, nil
}

// DamageSQLiteFrom overwrites the header of every page of the closed
// SQLite file at path after its first from pages (the pages written after
// SQLitePages said from) with a page type SQLite does not have, leaving the
// earlier ones sound: the file opens, and a read of the later pages finds
// them malformed.
func DamageSQLiteFrom(path string, from int64) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if int64(len(b)) <= from*sqlitePage {
		return fmt.Errorf("%s has %d bytes, no page after page %d to damage", path, len(b), from)
	}
	for off := from * sqlitePage; off+64 <= int64(len(b)); off += sqlitePage {
		copy(b[off:off+64], bytes.Repeat([]byte{0xff}, 64))
	}
	return os.WriteFile(path, b, 0o600)
}
