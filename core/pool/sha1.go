package pool

import (
	"crypto/sha1"
	"hash"
	"path"
)

func newSHA1() hash.Hash { return sha1.New() }

// MatchesName reports whether a file whose content has the SHA-1 sum1 (hex)
// is named as Odoo names it: the last segment of its store_fname is the
// content's SHA-1. A name of another form (older or custom storage) is not
// judged.
func MatchesName(storeFname, sum1 string) bool {
	base := path.Base(storeFname)
	if len(base) != 40 {
		return true
	}
	for _, c := range base {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return true
		}
	}
	return base == sum1
}
