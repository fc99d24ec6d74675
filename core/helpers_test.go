package core_test

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

func sha256hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// withoutFiles is p without the given filestore files (orphans, which a
// backup leaves out on purpose).
func withoutFiles(p testbed.Print, files []string) testbed.Print {
	q := p
	q.Files = make(map[string]string, len(p.Files))
	for k, v := range p.Files {
		q.Files[k] = v
	}
	for _, f := range files {
		delete(q.Files, f)
	}
	return q
}
