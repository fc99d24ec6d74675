// Package s3 stores backups as objects in S3-compatible buckets through
// minio-go, behind core.ObjectStore; the local-directory store beside it is
// package store/localdir.
//
// Open builds the store of a core.Destination, S3 or a local directory, and
// Probe checks that a store can be written, read back and deleted before a
// destination is saved. The conformance suite in s3/storetest runs against
// both implementations.
package s3
