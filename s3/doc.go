// Package s3 stores backups as objects: in S3-compatible buckets through
// minio-go, or in a local directory, both behind core.ObjectStore.
//
// Open builds the store of a core.Destination and Probe checks that a store
// can be written, read back and deleted before a destination is saved. The
// conformance suite in s3/storetest runs against every implementation.
package s3
