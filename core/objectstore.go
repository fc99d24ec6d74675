package core

import (
	"context"
	"io"
	"time"
)

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// ObjectStore is one destination's storage: an S3 bucket (under an optional
// key prefix) or a local directory. Keys are '/'-separated relative paths
// such as "prod/2026/11/prod_20261122-120000_manual.zip": not empty, at most
// 1024 bytes, no leading or trailing '/', no empty, "." or ".." segment, no
// backslash or control character; other keys fail with ErrInvalid. A key
// cannot also be the directory of another ("a" and "a/b"): a local directory
// cannot hold both. A store never exposes its prefix or directory in them.
//
// Errors wrap ErrNotFound, ErrAccessDenied, ErrUnreachable, ErrTransient or
// ErrNoSpace where the cause is known; ErrTransient and ErrUnreachable are
// worth a retry, the others are not.
type ObjectStore interface {
	// Put stores everything read from r under key. The length is not known in
	// advance and memory use stays bounded whatever it is. Put is atomic: the
	// object appears only once r returned io.EOF and every byte is stored; if
	// r returns an error, ctx is cancelled or storing fails, nothing is
	// visible under key (a previous object under key is left as it was).
	// Putting an existing key replaces it. If r fails, Put returns r's error
	// unchanged; if ctx ends first, the error wraps ctx.Err().
	Put(ctx context.Context, key string, r io.Reader) error

	// Get streams the object from offset on; length < 0 means to the end.
	// A missing key returns an error wrapping ErrNotFound, either from Get or
	// from the first Read. An offset at or past the end gives an empty stream.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)

	// Stat describes the object; a missing key wraps ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)

	// List returns every complete object whose key starts with prefix, at any
	// depth, sorted by key. Objects being written by Put are not listed. A
	// store that cannot be reached (a local directory that is gone) returns an
	// error, never an empty list.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)

	// Delete removes the object. It is idempotent: deleting a missing key
	// succeeds. A store that locks what it writes (ObjectLocker) refuses
	// an object whose lock has not ended with a *LockedError, changing
	// nothing.
	Delete(ctx context.Context, key string) error

	// String names the store for messages, e.g. "s3://host:9000/bucket/prefix"
	// or "/var/backups/odoo". It never contains a secret.
	String() string
}

// StoreOpener opens the object store of a destination. The s3 package
// provides the real one; cmd wires it into the engine.
type StoreOpener func(ctx context.Context, d Destination) (ObjectStore, error)

// ServerSideCopier is an ObjectStore that can copy an object from another
// store without the bytes passing through this process (S3 CopyObject on the
// same endpoint). CopyFrom returns false and no error when it cannot copy
// from src that way (another endpoint, other credentials, a local
// directory): the caller then streams. Like Put, a copy is atomic: on error
// nothing is visible under dstKey.
type ServerSideCopier interface {
	CopyFrom(ctx context.Context, src ObjectStore, srcKey, dstKey string) (bool, error)
}
