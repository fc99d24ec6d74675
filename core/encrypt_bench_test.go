package core_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/odoo-backup/odoo-backup/core"
	"github.com/odoo-backup/odoo-backup/s3"
)

// BenchmarkEncryptedBackupToMinIO measures what client-side encryption costs
// a backup: on the database of BenchmarkBackupToMinIO (sized by the same
// ODOO_BACKUP_BENCH_DUMP and ODOO_BACKUP_BENCH_FILESTORE), each iteration
// backs up to a plain MinIO destination and then to one encrypted with age,
// and reports both wall times, the engine's CPU time of each, and the
// encrypted backup's overhead in percent of the plain one's.
//
//	ODOO_BACKUP_BENCH_DUMP=128MiB ODOO_BACKUP_BENCH_FILESTORE=128MiB \
//	  go test -run '^$' -bench BenchmarkEncryptedBackupToMinIO -benchtime 2x -timeout 60m ./core/
func BenchmarkEncryptedBackupToMinIO(b *testing.B) {
	minio := servers.MinIO(b)
	dumpBytes := benchSize(b, benchDumpEnv, benchDefaultDump)
	filestoreBytes := benchSize(b, benchFilestoreEnv, benchDefaultFilestore)
	fx := newBenchFixture(b, dumpBytes, filestoreBytes)
	recipient, err := core.GenerateIdentityFile(filepath.Join(b.TempDir(), "bench.key"))
	if err != nil {
		b.Fatal(err)
	}
	sealed := core.Destination{
		Name:    "minio-age",
		Kind:    core.DestinationS3,
		S3:      core.S3Settings{Endpoint: minio.Endpoint, Bucket: minio.NewBucket(b), Prefix: "odoo", AccessKey: minio.AccessKey, SecretKey: core.Secret(minio.SecretKey), NoTLS: true},
		Encrypt: core.EncryptionSettings{Recipient: recipient},
	}
	if err := fx.cat.AddDestination(fx.ctx, &sealed); err != nil {
		b.Fatal(err)
	}
	if err := fx.cat.SetConfiguration(fx.ctx, core.Configuration{Service: benchService, Destination: sealed.Name}); err != nil {
		b.Fatal(err)
	}
	engine := &core.Engine{Catalog: fx.cat, OpenStore: s3.Open}
	backup := func(dest string) (time.Duration, time.Duration, core.Backup) {
		before := readBenchUsage(b)
		start := time.Now()
		bs, err := engine.Backup(fx.ctx, core.BackupRequest{Service: benchService, Destinations: []string{dest}})
		took := time.Since(start)
		cpu := readBenchUsage(b).sub(before).self
		if err != nil || len(bs) != 1 || bs[0].Status != core.StatusSucceeded {
			b.Fatalf("backup to %s: %+v, %v", dest, bs, err)
		}
		return took, cpu, bs[0]
	}
	var plainWall, plainCPU, ageWall, ageCPU time.Duration
	var plainSize, ageSize int64
	b.ResetTimer()
	for range b.N {
		w, c, pb := backup(benchDestName)
		plainWall, plainCPU, plainSize = plainWall+w, plainCPU+c, pb.Size
		w, c, ab := backup(sealed.Name)
		ageWall, ageCPU, ageSize = ageWall+w, ageCPU+c, ab.Size
		if ab.Encryption != "age:"+recipient {
			b.Fatalf("the encrypted backup says %q", ab.Encryption)
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(plainWall.Seconds()/n, "plain-s")
	b.ReportMetric(ageWall.Seconds()/n, "age-s")
	b.ReportMetric(plainCPU.Seconds()/n, "plain-engine-cpu-s")
	b.ReportMetric(ageCPU.Seconds()/n, "age-engine-cpu-s")
	b.ReportMetric(float64(plainSize)/benchMB/(plainWall.Seconds()/n), "plain-MB/s")
	b.ReportMetric(float64(ageSize)/benchMB/(ageWall.Seconds()/n), "age-MB/s")
	b.ReportMetric(100*(ageWall.Seconds()-plainWall.Seconds())/plainWall.Seconds(), "age-overhead-%")
	b.ReportMetric(float64(ageSize-plainSize), "age-extra-bytes")
}
