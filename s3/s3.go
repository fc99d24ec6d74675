package s3

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/encrypt"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/core/storekit"
)

// Part sizes of multipart uploads. S3 allows at most 10,000 parts, so the
// part size bounds the object size: 16 MiB parts allow 156 GiB.
const (
	DefaultPartSize = 16 << 20
	MinPartSize     = 5 << 20 // S3's minimum for every part but the last
	MaxPartSize     = 5 << 30
)

// Defaults of the tuning knobs in Config.
const (
	DefaultConcurrency = 2
	DefaultMaxRetries  = 4
)

// Network timeouts. They bound how long an unreachable or silent endpoint
// can stall a request; streams themselves have no overall deadline, since a
// backup upload may rightly take hours. Beyond these, Config.StallTimeout
// (DefaultStallTimeout) ends any operation, retries included, that moves
// no byte for that long: the response to a request is awaited as long.
const (
	dialTimeout         = 5 * time.Second
	tlsHandshakeTimeout = 10 * time.Second
)

// core.S3Settings.SSE values: SSES3 asks the bucket to encrypt objects with
// keys it manages; SSEKMS asks it to encrypt them with a key of its key
// management service, SSEKMSKeyID (or the service's default key when empty).
const (
	SSES3  = core.SSES3
	SSEKMS = core.SSEKMS
)

// Config says how to reach one S3-compatible bucket: a destination's
// settings, and how hard to work the connection.
type Config struct {
	// S3Settings are the destination's, with SecretKey resolved (the value,
	// not a reference: see core.Secret.Resolve). Leading and trailing '/'
	// of Prefix are ignored.
	core.S3Settings

	// PartSize is the size of multipart upload parts, DefaultPartSize if 0.
	PartSize int64
	// Concurrency is how many parts of one Put are in flight at once (the
	// next part is read while the previous ones upload); default
	// DefaultConcurrency. A Put holds Concurrency+1 part buffers.
	Concurrency int
	// MaxRetries is how many times a failed request is tried, with
	// exponential backoff; default DefaultMaxRetries.
	MaxRetries int
	// StallTimeout ends an operation that moves no byte to or from the
	// endpoint for this long (a frozen server, a black-holed network);
	// default DefaultStallTimeout.
	StallTimeout time.Duration
	// LockMode and LockFor put an S3 Object Lock retention on every object
	// written: in that mode, until LockFor from the write (see
	// core.ObjectLocker). The bucket must have Object Lock enabled.
	// LockNone writes without a retention.
	LockMode core.LockMode
	LockFor  time.Duration
}

// S3 is an object store in an S3-compatible bucket, under an optional key
// prefix that its keys never show. It is safe for concurrent use.
type S3 struct {
	cfg         Config
	prefix      string // "" or "<prefix>/"
	partSize    int64
	concurrency int
	sse         encrypt.ServerSide
	watch       *stallWatch

	client *minio.Client
}

// singlePutLimit is the largest stream Put stores with one PUT request;
// longer ones become multipart uploads. Only this much is read ahead to
// tell the two apart: backup archives are large, while the small objects
// (metadata, probes) are well below it.
const singlePutLimit = 1 << 20

// headBufs holds the read-ahead buffers of Put.
var headBufs = sync.Pool{New: func() any {
	b := make([]byte, singlePutLimit)
	return &b
}}

var _ core.ObjectStore = (*S3)(nil)

// NewS3 checks cfg and builds the client. It does not contact the server;
// Probe does.
func NewS3(cfg Config) (*S3, error) {
	ep := cfg.Endpoint
	switch {
	case ep == "":
		return nil, userErr(core.ErrInvalid, nil, "no S3 endpoint given; pass --endpoint HOST:PORT")
	case strings.Contains(ep, "://"):
		return nil, userErr(core.ErrInvalid, nil,
			"S3 endpoint %q must be HOST:PORT without a scheme; drop the scheme (TLS is the default, --no-tls turns it off)", ep)
	case strings.ContainsAny(ep, "/?#@ "):
		return nil, userErr(core.ErrInvalid, nil, "S3 endpoint %q is not HOST:PORT; pass only the host name and port", ep)
	}
	if cfg.Bucket == "" {
		return nil, userErr(core.ErrInvalid, nil, "no bucket given for S3 endpoint %s; pass --bucket", ep)
	}
	if err := s3utils.CheckValidBucketName(cfg.Bucket); err != nil {
		return nil, userErr(core.ErrInvalid, err,
			"bucket name %q is not valid (%v); use 3 to 63 lowercase letters, digits, '.' and '-'", cfg.Bucket, err)
	}
	cfg.Prefix = strings.Trim(cfg.Prefix, "/")
	if cfg.Prefix != "" {
		if why := keyProblem(cfg.Prefix); why != "" {
			return nil, userErr(core.ErrInvalid, nil,
				"key prefix %q is not allowed (%s); use '/'-separated names such as odoo/backups", cfg.Prefix, why)
		}
	}
	s := &S3{cfg: cfg, partSize: cfg.PartSize, concurrency: cfg.Concurrency}
	if cfg.Prefix != "" {
		s.prefix = cfg.Prefix + "/"
	}
	switch strings.ToUpper(cfg.SSE) {
	case "":
	case SSES3:
		s.sse = encrypt.NewSSE()
	case SSEKMS:
		if strings.ContainsAny(cfg.SSEKMSKeyID, "\x00\r\n") {
			return nil, userErr(core.ErrInvalid, nil, "KMS key id %q has a control character; pass the key's id or ARN as the KMS shows it", cfg.SSEKMSKeyID)
		}
		s.sse, _ = encrypt.NewSSEKMS(cfg.SSEKMSKeyID, nil) // fails only on an encryption context, which there is none of
	default:
		return nil, userErr(core.ErrInvalid, nil, "server-side encryption %q is not supported; use %s, %s or none", cfg.SSE, SSES3, SSEKMS)
	}
	switch cfg.LockMode {
	case core.LockNone:
	case core.LockGovernance, core.LockCompliance:
		if cfg.LockFor < time.Second {
			return nil, userErr(core.ErrInvalid, nil, "an Object Lock of %s is too short to keep anything; lock for a number of days", cfg.LockFor)
		}
	default:
		return nil, userErr(core.ErrInvalid, nil, "Object Lock mode %q is not supported; use %s or %s", cfg.LockMode, core.LockGovernance, core.LockCompliance)
	}
	if cfg.SSEKMSKeyID != "" && !strings.EqualFold(cfg.SSE, SSEKMS) {
		return nil, userErr(core.ErrInvalid, nil, "a KMS key id is given but server-side encryption is %q; use --sse kms with --sse-kms-key-id", cfg.SSE)
	}
	if s.partSize == 0 {
		s.partSize = DefaultPartSize
	}
	if s.partSize < MinPartSize || s.partSize > MaxPartSize {
		return nil, userErr(core.ErrInvalid, nil,
			"part size %d is out of range; use between %d (5 MiB) and %d (5 GiB) bytes", s.partSize, MinPartSize, int64(MaxPartSize))
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrency
	}
	retries := cfg.MaxRetries
	if retries <= 0 {
		retries = DefaultMaxRetries
	}
	tr, err := minio.DefaultTransport(!cfg.NoTLS)
	if err != nil {
		return nil, fmt.Errorf("set up HTTP transport: %w", err)
	}
	stall := cfg.StallTimeout
	if stall <= 0 {
		stall = DefaultStallTimeout
	}
	s.watch = newStallWatch(stall)
	tr.DialContext = s.watch.dialer((&net.Dialer{Timeout: dialTimeout, KeepAlive: 30 * time.Second}).DialContext)
	if cfg.CAFile != "" {
		if cfg.NoTLS {
			return nil, userErr(core.ErrInvalid, nil, "a CA file (%s) is given for %s, which is set to plain HTTP; drop --ca-file or --no-tls", cfg.CAFile, ep)
		}
		pool, err := caPool(cfg.CAFile, tr.TLSClientConfig.RootCAs)
		if err != nil {
			return nil, err
		}
		tr.TLSClientConfig.RootCAs = pool
	}
	tr.TLSHandshakeTimeout = tlsHandshakeTimeout
	tr.ResponseHeaderTimeout = stall

	s.client, err = minio.New(ep, &minio.Options{
		Creds:      credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey.Reveal(), ""),
		Secure:     !cfg.NoTLS,
		Region:     cfg.Region,
		Transport:  tr,
		MaxRetries: retries,
	})
	if err != nil {
		return nil, userErr(core.ErrInvalid, err, "S3 endpoint %q is not usable (%v); pass --endpoint HOST:PORT", ep, err)
	}
	return s, nil
}

// caPool is base (the system's trusted certificates if nil) plus the
// certificates of the PEM file caFile.
func caPool(caFile string, base *x509.CertPool) (*x509.CertPool, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, userErr(core.ErrInvalid, err, "cannot read the CA file %s (%v); pass --ca-file with a readable PEM file", caFile, syscallReason(err))
	}
	pool := base
	if pool == nil {
		if pool, err = x509.SystemCertPool(); err != nil {
			pool = x509.NewCertPool()
		}
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, userErr(core.ErrInvalid, nil, "the CA file %s holds no PEM certificate; pass --ca-file with the PEM (-----BEGIN CERTIFICATE-----) file of the endpoint's certificate authority", caFile)
	}
	return pool, nil
}

// String is s3://endpoint/bucket[/prefix].
func (s *S3) String() string {
	return "s3://" + s.cfg.Endpoint + "/" + s.cfg.Bucket + strings.TrimSuffix("/"+s.prefix, "/")
}

// PartSize is the size of the parts of multipart uploads.
func (s *S3) PartSize() int64 { return s.partSize }

// Client is the underlying minio-go client, for callers that need
// bucket-level operations; object keys there include the prefix.
func (s *S3) Client() *minio.Client { return s.client }

// Put reads up to 1 MiB ahead. A stream that ends within it is stored
// with a single PUT; a longer one becomes a multipart upload that minio-go
// completes only after the last part, and aborts on any error or
// cancellation, so a failed Put leaves neither an object nor stray parts.
// Memory stays at Concurrency part buffers (plus the 1 MiB) whatever the
// object's size. An error of r is returned unchanged.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if err := validateKey(key); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return cancelled(ctx, key, s.String())
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	src := &storekit.SourceReader{Ctx: ctx, R: r, Watch: s.watch}
	bp := headBufs.Get().(*[]byte)
	head := *bp
	n, rerr := io.ReadFull(src, head)
	if src.Failed() {
		headBufs.Put(bp)
		return src.Failure(key, s.String())
	}
	opts := minio.PutObjectOptions{
		PartSize:             uint64(s.partSize),
		ServerSideEncryption: s.sse,
		ContentType:          "application/octet-stream",
	}
	opts.Mode, opts.RetainUntilDate = s.retention(ctx)
	put := func() error {
		if rerr != nil { // io.EOF or io.ErrUnexpectedEOF: the whole object is in head
			_, err := s.client.PutObject(gctx, s.cfg.Bucket, s.prefix+key, bytes.NewReader(head[:n]), int64(n), opts)
			return err
		}
		// Size -1 with an explicit part size: minio-go's default for an
		// unknown length is a part size of over 500 MiB, per buffer.
		opts.ConcurrentStreamParts = s.concurrency > 1
		opts.NumThreads = uint(s.concurrency)
		_, err := s.client.PutObject(gctx, s.cfg.Bucket, s.prefix+key, io.MultiReader(bytes.NewReader(head), src), -1, opts)
		return err
	}
	// On a stall Put returns at once: minio-go would first spend up to a
	// minute trying to abort the upload on the server that stopped
	// answering, holding back the other destinations of a backup. The
	// abort goes on in the background (a process that exits first leaves
	// the unfinished upload to the next successful backup's cleanup); the
	// head buffer stays with it.
	done := make(chan error, 1)
	go func() { done <- put() }()
	var err error
	select {
	case err = <-done:
		headBufs.Put(bp)
	case <-gctx.Done():
		if stalled(gctx) {
			return s.stallError("uploading " + key)
		}
		err = <-done
		headBufs.Put(bp)
	}
	if err != nil {
		if stalled(gctx) {
			return s.stallError("uploading " + key)
		}
		if src.Failed() {
			return src.Failure(key, s.String())
		}
		if ctx.Err() != nil {
			return cancelled(ctx, key, s.String())
		}
		return s.classify("uploading "+key, err)
	}
	if src.Failed() {
		// minio-go drops a read error that comes with the last byte of a
		// part. storekit.SourceReader repeats it, so minio-go sees it on its next
		// read and aborts; should some path still complete the upload, an
		// object built from a failed source must not stay.
		_ = s.client.RemoveObject(context.WithoutCancel(ctx), s.cfg.Bucket, s.prefix+key, minio.RemoveObjectOptions{})
		return src.Failure(key, s.String())
	}
	return nil
}

// Get asks for the range it needs. An offset at or past the end gives an
// empty stream, as a file would.
func (s *S3) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if err := validateKey(key); err != nil {
		return nil, err
	}
	if offset < 0 {
		return nil, userErr(core.ErrInvalid, nil, "cannot read %s from offset %d; offsets start at 0", key, offset)
	}
	if length == 0 {
		// No range can ask for zero bytes; still report a missing key.
		if _, err := s.Stat(ctx, key); err != nil {
			return nil, err
		}
		return io.NopCloser(strings.NewReader("")), nil
	}
	var opts minio.GetObjectOptions
	switch {
	case length > 0:
		err := opts.SetRange(offset, offset+length-1)
		if err != nil {
			return nil, userErr(core.ErrInvalid, err, "cannot read %d bytes of %s from offset %d (%v)", length, key, offset, err)
		}
	case offset > 0:
		_ = opts.SetRange(offset, 0) // bytes=offset-
	}
	// The stall watch covers the request; the body's reads are bounded by
	// the connection's idle deadline, which does not count the time the
	// caller takes between reads.
	octx, begun := s.watch.withOp(ctx)
	rctx, cancel := context.WithCancelCause(octx)
	stop := s.watch.onStall(begun, func() { cancel(errStalled) })
	body, _, _, err := minio.Core{Client: s.client}.GetObject(rctx, s.cfg.Bucket, s.prefix+key, opts)
	stop()
	if err != nil {
		defer cancel(context.Canceled)
		var resp minio.ErrorResponse
		if errors.As(err, &resp) && resp.Code == "InvalidRange" {
			return io.NopCloser(strings.NewReader("")), nil
		}
		return nil, s.failGuarded(ctx, rctx, "downloading "+key, err)
	}
	return &s3Reader{ctx: ctx, cancel: cancel, body: body, s: s, key: key}, nil
}

// s3Reader classifies the errors of a download as they come.
type s3Reader struct {
	ctx context.Context
	// cancel ends the request's context, which lives as long as the body.
	cancel context.CancelCauseFunc
	body   io.ReadCloser
	s      *S3
	key    string
}

func (r *s3Reader) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() && r.ctx.Err() == nil {
			return n, r.s.stallError("downloading " + r.key)
		}
		err = r.s.fail(r.ctx, "downloading "+r.key, err)
	}
	return n, err
}

func (r *s3Reader) Close() error {
	err := r.body.Close()
	r.cancel(context.Canceled)
	return err
}

// Stat asks for the object's headers.
func (s *S3) Stat(ctx context.Context, key string) (core.ObjectInfo, error) {
	if err := validateKey(key); err != nil {
		return core.ObjectInfo{}, err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	info, err := s.client.StatObject(gctx, s.cfg.Bucket, s.prefix+key, minio.StatObjectOptions{})
	if err != nil {
		return core.ObjectInfo{}, s.failGuarded(ctx, gctx, "looking up "+key, err)
	}
	return core.ObjectInfo{Key: key, Size: info.Size, ModTime: info.LastModified}, nil
}

// List lists the bucket under the prefix. Keys that no store could hold
// (folder markers ending in '/', say, made by a bucket browser) are skipped.
func (s *S3) List(ctx context.Context, prefix string) ([]core.ObjectInfo, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	lctx, cancel := context.WithCancel(gctx)
	defer cancel() // stops minio-go's lister if we return early
	// MinIO refuses a prefix whose partial last segment is "." or ".."
	// (though ".hidden" keys are fine), so such a prefix is listed from
	// its directory and filtered here.
	listPrefix := prefix
	if i := strings.LastIndexByte(prefix, '/'); segmentProblem(prefix[i+1:]) != "" {
		listPrefix = prefix[:i+1]
	}
	objs := []core.ObjectInfo{}
	for obj := range s.client.ListObjectsIter(lctx, s.cfg.Bucket, minio.ListObjectsOptions{Prefix: s.prefix + listPrefix, Recursive: true}) {
		if obj.Err != nil {
			return nil, s.failGuarded(ctx, gctx, fmt.Sprintf("listing prefix %q", prefix), obj.Err)
		}
		key, ok := strings.CutPrefix(obj.Key, s.prefix)
		if !ok || !strings.HasPrefix(key, prefix) || keyProblem(key) != "" {
			continue
		}
		objs = append(objs, core.ObjectInfo{Key: key, Size: obj.Size, ModTime: obj.LastModified})
	}
	// S3 lists in UTF-8 byte order already; some compatible servers do not.
	slices.SortFunc(objs, func(a, b core.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	return objs, nil
}

// Delete removes the object; S3 answers a delete of a missing key with
// success, which is the contract. On a locking store it removes every
// version of the key (deleteVersions).
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	if s.locking() {
		return s.deleteVersions(ctx, gctx, key)
	}
	if err := s.client.RemoveObject(gctx, s.cfg.Bucket, s.prefix+key, minio.RemoveObjectOptions{}); err != nil {
		return s.failGuarded(ctx, gctx, "deleting "+key, err)
	}
	return nil
}

// Incomplete lists the keys of multipart uploads under prefix that were
// neither completed nor aborted: those in progress, and those a process
// that died mid-upload left behind (they hold storage until aborted, or
// until a bucket lifecycle rule expires them).
func (s *S3) Incomplete(ctx context.Context, prefix string) ([]string, error) {
	if err := validatePrefix(prefix); err != nil {
		return nil, err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	lctx, cancel := context.WithCancel(gctx)
	defer cancel()
	var keys []string
	var firstErr error
	// MinIO lists uploads only for an exact key or the whole bucket, not
	// under a partial prefix, so the filtering is done here. (A restarted
	// MinIO lists the whole bucket's as empty: uploads left from before
	// the restart show only for their exact key, which CleanupIncomplete
	// uses.)
	for up := range s.client.ListIncompleteUploads(lctx, s.cfg.Bucket, "", true) {
		if up.Err != nil {
			if firstErr == nil {
				firstErr = up.Err
				cancel()
			}
			continue // drain, so minio-go's lister can finish
		}
		if key, ok := strings.CutPrefix(up.Key, s.prefix); ok && firstErr == nil && strings.HasPrefix(key, prefix) {
			keys = append(keys, key)
		}
	}
	if firstErr != nil {
		return nil, s.failGuarded(ctx, gctx, fmt.Sprintf("listing unfinished uploads under %q", prefix), firstErr)
	}
	slices.Sort(keys)
	return keys, nil
}

// failGuarded is fail for an operation run under gctx, the stall guard of
// ctx: a stall is said as such.
func (s *S3) failGuarded(ctx, gctx context.Context, doing string, err error) error {
	if ctx.Err() == nil && stalled(gctx) {
		return s.stallError(doing)
	}
	return s.fail(ctx, doing, err)
}

// fail is the error of an operation other than Put: a cancellation as
// such, anything else classified.
func (s *S3) fail(ctx context.Context, doing string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%s on %s was cancelled: %w", doing, s, ctx.Err())
	}
	return s.classify(doing, err)
}

var _ core.IncompleteCleaner = (*S3)(nil)

// CleanupIncomplete aborts the multipart uploads of key that a process that
// died mid-upload left behind.
func (s *S3) CleanupIncomplete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return err
	}
	gctx, stop := s.watch.guard(ctx)
	defer stop()
	if err := s.client.RemoveIncompleteUpload(gctx, s.cfg.Bucket, s.prefix+key); err != nil {
		return s.failGuarded(ctx, gctx, fmt.Sprintf("aborting unfinished uploads of %q", key), err)
	}
	return nil
}
