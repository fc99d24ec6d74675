package pool

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"

	"github.com/odoo-backup/odoo-backup/core/odoozip"
)

// deflateLevel matches the zip layout's: filestore files that compress at
// all compress well enough at a fast level.
const deflateLevel = 2

// Level is the deflate level for content that starts with sample (up to
// 64 KiB): stored blocks for what would not compress, so the object is
// still a deflate stream.
func Level(sample []byte) int {
	if odoozip.Incompressible(sample) {
		return flate.NoCompression
	}
	return deflateLevel
}

// Sums hashes content as it is written: SHA-256 (its id and check), SHA-1
// (what Odoo names it by) and CRC-32 (what a zip entry carries).
type Sums struct {
	SHA256 hash.Hash
	SHA1   hash.Hash
	CRC32  hash.Hash32
	Size   int64
}

// Write adds p to every sum.
func (s *Sums) Write(p []byte) (int, error) {
	s.SHA256.Write(p)
	if s.SHA1 != nil {
		s.SHA1.Write(p)
	}
	s.CRC32.Write(p)
	s.Size += int64(len(p))
	return len(p), nil
}

// Open returns the content of the object of e, read from its deflate
// stream; reading it to the end checks the content's size and SHA-256
// against e, and a mismatch fails the last Read with an error wrapping
// ErrAltered that names the file and the object.
func Open(deflated io.Reader, e Entry) io.ReadCloser {
	return &checked{e: e, fr: flate.NewReader(deflated), h: sha256.New()}
}

type checked struct {
	e  Entry
	fr io.ReadCloser
	h  hash.Hash
	n  int64
}

func (c *checked) Read(p []byte) (int, error) {
	n, err := c.fr.Read(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	if c.n > c.e.Size {
		return n, c.altered(fmt.Sprintf("it holds more than the %d bytes recorded", c.e.Size))
	}
	if err == io.EOF {
		if c.n != c.e.Size {
			return n, c.altered(fmt.Sprintf("it holds %d bytes, %d were recorded", c.n, c.e.Size))
		}
		if sum := hex.EncodeToString(c.h.Sum(nil)); sum != c.e.SHA256 {
			return n, c.altered("its content does not match the checksum recorded")
		}
		return n, io.EOF
	}
	if err != nil && err != io.ErrUnexpectedEOF {
		return n, c.altered(fmt.Sprintf("it is not a deflate stream (%v)", err))
	}
	if err == io.ErrUnexpectedEOF {
		return n, c.altered("it is truncated")
	}
	return n, err
}

func (c *checked) altered(why string) error {
	return fmt.Errorf("%w: the object %s of filestore file %s: %s", ErrAltered, c.e.Object, c.e.Name, why)
}

func (c *checked) Close() error { return c.fr.Close() }

// NewSums starts the sums of one file's content.
func NewSums() *Sums {
	return &Sums{SHA256: sha256.New(), SHA1: newSHA1(), CRC32: crc32.NewIEEE()}
}
