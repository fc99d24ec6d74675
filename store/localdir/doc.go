// Package localdir is the local-directory object store: a directory used as
// a core.ObjectStore, one file per key; the SQLite catalog is package store.
//
// It lives beside the catalog rather than in s3, which is the S3 store; s3.Open
// picks one or the other by the kind of the destination.
package localdir
