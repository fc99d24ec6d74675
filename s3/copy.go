package s3

import (
	"context"
	"fmt"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
)

var _ core.ServerSideCopier = (*S3)(nil)

// CopyFrom copies srcKey of src to dstKey inside the storage server when src
// is an S3 store on the same endpoint with the same access key (the
// credentials of s can then read src's bucket). ComposeObject does a plain
// CopyObject up to 5 GiB and a multipart upload-part-copy above, so archives
// of any size are copied server-side; the object appears only once complete.
func (s *S3) CopyFrom(ctx context.Context, src core.ObjectStore, srcKey, dstKey string) (bool, error) {
	from, ok := src.(*S3)
	if !ok || from.cfg.Endpoint != s.cfg.Endpoint || from.cfg.AccessKey != s.cfg.AccessKey || from.cfg.NoTLS != s.cfg.NoTLS {
		return false, nil
	}
	if err := validateKey(srcKey); err != nil {
		return false, err
	}
	if err := validateKey(dstKey); err != nil {
		return false, err
	}
	dst := minio.CopyDestOptions{Bucket: s.cfg.Bucket, Object: s.prefix + dstKey, Encryption: s.sse}
	dst.Mode, dst.RetainUntilDate = s.retention(ctx)
	srcOpts := minio.CopySrcOptions{Bucket: from.cfg.Bucket, Object: from.prefix + srcKey}
	if _, err := s.client.ComposeObject(ctx, dst, srcOpts); err != nil {
		return true, s.fail(ctx, fmt.Sprintf("copying %s from %s to %q", srcKey, from, dstKey), err)
	}
	return true, nil
}
