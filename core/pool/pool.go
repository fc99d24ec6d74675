// Package pool is the layout of a destination's filestore pool.
//
// On a destination whose layout is the pool, a backup of a service is three
// things: its archive, an Odoo zip of the database alone (manifest.json and
// dump.sql, on its own a database-only backup Odoo's database manager
// restores); its file list, naming for every filestore file (its
// ir_attachment.store_fname) the pool object that holds its content; and its
// metadata object. The pool is per service and destination: each filestore
// file's content is stored once, as one object under Prefix(service), named
// by its content, so a backup stores only the files no earlier backup did.
//
// An object holds the file's content as a raw deflate stream (RFC 1951;
// stored blocks for content that does not compress), so a standard zip is
// assembled from the pool by copying objects into entries, and it is
// age-encrypted on an encrypting destination. Its name is the hex SHA-256 of
// the file's content, or on an encrypting destination the hex HMAC-SHA256 of
// that digest under the destination's name key, so names reveal nothing of
// the content there.
package pool

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// ErrAltered is wrapped by errors about an object whose content is not the
// one its file list records.
var ErrAltered = errors.New("pool object altered")

// ErrInvalidList is wrapped by errors about a file list that cannot be read.
var ErrInvalidList = errors.New("invalid file list")

// Prefix is where a service's pool lives on a destination: beside its
// archives ("<service>/YYYY/MM/..."), never among them.
func Prefix(service string) string { return service + "/pool/" }

// ObjectKey is the key of the pool object id of service, fanned out by the
// id's first two characters so no directory of a local destination holds
// every object.
func ObjectKey(service, id string) string { return Prefix(service) + id[:2] + "/" + id }

// ParseObjectKey returns the object id of a key under Prefix(service), and
// false for any other key (a name key object, debris).
func ParseObjectKey(service, key string) (string, bool) {
	rest, ok := strings.CutPrefix(key, Prefix(service))
	if !ok || len(rest) != 3+idLen || rest[2] != '/' || rest[:2] != rest[3:5] || !ValidID(rest[3:]) {
		return "", false
	}
	return rest[3:], true
}

// NameKeyKey is the key of the object that holds the pool key id of a
// service on an encrypting destination (its name key and the identity its
// objects are encrypted to), age-encrypted to the destination's recipients.
// A pool gets a new key, under a new id, when its writer cannot recover the
// last one (its identity is off the host and its local copy was lost, or
// the destination now encrypts to another recipient); every backup records
// the id of its own.
func NameKeyKey(service, id string) string { return Prefix(service) + "name-key-" + id + ".age" }

// ValidKeyID reports whether id can name a pool key: 1 to 32 lowercase hex
// digits.
func ValidKeyID(id string) bool { return len(id) > 0 && len(id) <= 32 && isHex(id) }

// ListKey is the key of the file list of the backup whose archive is
// archiveKey (next to it, as its metadata object is).
func ListKey(archiveKey string) string { return archiveKey + ".files" }

const idLen = 64

// ValidID reports whether id can name an object: 64 lowercase hex digits.
func ValidID(id string) bool {
	return len(id) == idLen && isHex(id)
}

func isHex(s string) bool {
	for _, c := range s {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// ID names the object of content whose SHA-256 is sum: the digest itself,
// or with a name key (an encrypting destination) its HMAC-SHA256 under that
// key.
func ID(sum []byte, nameKey []byte) string {
	if nameKey == nil {
		return hex.EncodeToString(sum)
	}
	m := hmac.New(sha256.New, nameKey)
	m.Write(sum)
	return hex.EncodeToString(m.Sum(nil))
}
