package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/minio/minio-go/v7"

	"github.com/odoo-backup/odoo-backup/core"
)

// classify turns an error of minio-go into one plain sentence that names
// the endpoint or bucket and says what to check, wrapping the core error
// class (for errors.Is) and the original error. doing says what was being
// done, e.g. "uploading prod/x.zip". The secret key never appears: neither
// minio-go's errors nor these messages contain it.
func (s *S3) classify(doing string, err error) error {
	ep, bucket, key := s.cfg.Endpoint, s.cfg.Bucket, s.cfg.AccessKey
	// A request cancelled by its caller is neither the server's fault nor
	// the object's: say so, and leave it to the caller to phrase (it knows
	// what was interrupted).
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("%s on %s was cancelled: %w", doing, s, err)
	}

	var resp minio.ErrorResponse
	if errors.As(err, &resp) && resp.Code != "" {
		detail := resp.Code
		if resp.Message != "" && resp.Message != resp.Code {
			detail += ": " + strings.TrimSuffix(resp.Message, ".")
		}
		switch resp.Code {
		case minio.NoSuchKey:
			return userErr(core.ErrNotFound, err, "%s: the object does not exist in %s", doing, s)
		case minio.NoSuchBucket:
			return userErr(core.ErrNotFound, err, "bucket %q does not exist on %s; create it or fix --bucket", bucket, ep)
		case "InvalidAccessKeyId":
			return userErr(core.ErrAccessDenied, err,
				"%s does not know the access key %q (invalid access key id); check the access key and secret key", ep, key)
		case "SignatureDoesNotMatch":
			return userErr(core.ErrAccessDenied, err,
				"%s refused the secret key of access key %q (signature does not match); check the secret key", ep, key)
		case minio.AccessDenied, "AllAccessDisabled", "AccountProblem":
			return userErr(core.ErrAccessDenied, err,
				"%s refused the access key %q for bucket %q while %s (access denied); check the access key, the secret key and the key's permissions on the bucket", ep, key, bucket, doing)
		case "ExpiredToken", "InvalidToken":
			return userErr(core.ErrAccessDenied, err, "%s refused the credentials of access key %q (%s); renew them", ep, key, detail)
		case minio.InvalidRegion, minio.AuthorizationHeaderMalformed, "IllegalLocationConstraintException":
			if resp.Region != "" {
				return userErr(core.ErrInvalid, err, "bucket %q on %s is in region %q, not %q; fix --region", bucket, ep, resp.Region, s.cfg.Region)
			}
			return userErr(core.ErrInvalid, err, "%s refused the region %q (%s); fix --region", ep, s.cfg.Region, detail)
		case minio.InvalidBucketName:
			return userErr(core.ErrInvalid, err, "%s refused the bucket name %q (%s); fix --bucket", ep, bucket, detail)
		case minio.EntityTooLarge:
			return userErr(core.ErrInvalid, err,
				"%s failed: the object is too large for %d MiB parts (%s); raise the part size", doing, s.partSize>>20, detail)
		case "XMinioStorageFull", "XMinioAdminBucketQuotaExceeded", "QuotaExceeded":
			return userErr(core.ErrNoSpace, err, "%s is out of space while %s (%s); free space on the server or raise the bucket's quota", ep, doing, detail)
		case "NotImplemented":
			if s.sse != nil {
				return userErr(core.ErrInvalid, err,
					"%s does not support server-side encryption (%s); turn SSE off for this destination, or enable it on the server", ep, detail)
			}
			return userErr(core.ErrInvalid, err, "%s does not support what %s needs (%s); check that the endpoint is S3-compatible", ep, doing, detail)
		case "SlowDown", "SlowDownWrite", "SlowDownRead", "Throttling", "RequestLimitExceeded",
			"InternalError", "ServiceUnavailable", "RequestTimeout", "OperationAborted",
			"XMinioServerNotInitialized", "XMinioReadQuorum", "XMinioWriteQuorum":
			return userErr(core.ErrTransient, err, "%s failed while %s (%s); try again later", ep, doing, detail)
		}
		// MinIO's KMS errors are "kms:KeyNotFound" and the like, AWS's
		// "KMS.NotFoundException", "KMS.DisabledException", ...
		if strings.HasPrefix(resp.Code, "kms:") || strings.HasPrefix(resp.Code, "KMS.") {
			return userErr(core.ErrInvalid, err,
				"%s refused the KMS key %q while %s (%s); check --sse-kms-key-id and that the key exists, is enabled and may be used by access key %q", ep, s.cfg.SSEKMSKeyID, doing, detail, key)
		}
		// minio-go names non-XML answers by their HTTP status ("400 Bad Request").
		if strings.Contains(resp.Message, "HTTP request to an HTTPS server") {
			return userErr(core.ErrUnreachable, err, "%s expects TLS, but the destination is set to plain HTTP; drop --no-tls", ep)
		}
		switch {
		case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
			return userErr(core.ErrTransient, err, "%s failed while %s (%s); try again later", ep, doing, detail)
		case resp.StatusCode == http.StatusForbidden:
			return userErr(core.ErrAccessDenied, err,
				"%s refused the access key %q for bucket %q while %s (%s); check the access key, the secret key and the key's permissions on the bucket", ep, key, bucket, doing, detail)
		case resp.StatusCode == http.StatusNotFound:
			return userErr(core.ErrNotFound, err, "%s: %s answered not found (%s); check the endpoint and --bucket", doing, ep, detail)
		}
		return core.Userf(err, "%s refused %s (%s)", ep, doing, detail)
	}

	var (
		dnsErr   *net.DNSError
		opErr    *net.OpError
		netErr   net.Error
		recErr   tls.RecordHeaderError
		verifErr *tls.CertificateVerificationError
		authErr  x509.UnknownAuthorityError
		hostErr  x509.HostnameError
		certErr  x509.CertificateInvalidError
		alertErr tls.AlertError
	)
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		return userErr(core.ErrUnreachable, err, "cannot reach %s (connection refused); check the endpoint and that the server is running", ep)
	case errors.As(err, &dnsErr):
		if dnsErr.IsNotFound {
			return userErr(core.ErrUnreachable, err, "cannot reach %s (host %q not found); check the endpoint's host name", ep, dnsErr.Name)
		}
		return userErr(core.ErrUnreachable, err, "cannot reach %s (DNS lookup of %q failed: %v); check the endpoint's host name and the DNS servers", ep, dnsErr.Name, dnsErr.Err)
	case errors.As(err, &verifErr), errors.As(err, &authErr), errors.As(err, &hostErr), errors.As(err, &certErr):
		return userErr(core.ErrUnreachable, err,
			"cannot trust the TLS certificate of %s (%s); %s", ep, tlsReason(err), s.tlsAdvice(err))
	case errors.As(err, &recErr), strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return userErr(core.ErrUnreachable, err, "%s does not answer with TLS; pass --no-tls if it serves plain HTTP, or check the port", ep)
	case errors.As(err, &alertErr):
		return userErr(core.ErrUnreachable, err, "the TLS handshake with %s failed (%v); check the endpoint and its TLS settings", ep, alertErr)
	case errors.As(err, &netErr) && netErr.Timeout():
		if errors.As(err, &opErr) && opErr.Op == "dial" {
			return userErr(core.ErrUnreachable, err, "cannot reach %s (connection timed out); check the endpoint, the firewall and that the server is running", ep)
		}
		if strings.Contains(err.Error(), "TLS handshake timeout") {
			return userErr(core.ErrUnreachable, err, "cannot reach %s (TLS handshake timed out); check the endpoint, and pass --no-tls if it serves plain HTTP", ep)
		}
		return userErr(core.ErrTransient, err, "%s did not answer in time while %s; try again later", ep, doing)
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH), errors.Is(err, syscall.EADDRNOTAVAIL):
		return userErr(core.ErrUnreachable, err, "cannot reach %s (%s); check the endpoint and the network", ep, syscallReason(err))
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF), strings.Contains(err.Error(), "Connection closed by foreign host"):
		return userErr(core.ErrTransient, err, "the connection to %s broke while %s; try again", ep, doing)
	case errors.As(err, &opErr):
		return userErr(core.ErrUnreachable, err, "cannot reach %s (%v); check the endpoint and the network", ep, opErr.Err)
	}
	return core.Userf(err, "%s failed on %s (%v)", doing, s, err)
}

// tlsAdvice says what fixes an untrusted certificate.
func (s *S3) tlsAdvice(err error) string {
	var hostErr x509.HostnameError
	switch {
	case errors.As(err, &hostErr):
		return "fix the endpoint's host name to one the certificate names"
	case s.cfg.CAFile != "":
		return fmt.Sprintf("check that %s holds the certificate of the authority that signed it", s.cfg.CAFile)
	}
	return "pass --ca-file with the certificate of the authority that signed it, or add that certificate to the system's trusted ones"
}

func tlsReason(err error) string {
	var (
		authErr x509.UnknownAuthorityError
		hostErr x509.HostnameError
		certErr x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &authErr):
		return "signed by an unknown authority"
	case errors.As(err, &hostErr):
		return fmt.Sprintf("it is not valid for %q", hostErr.Host)
	case errors.As(err, &certErr):
		return certErr.Error()
	}
	return err.Error()
}

func syscallReason(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}
