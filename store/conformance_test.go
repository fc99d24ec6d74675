package store

import (
	"context"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/odoo-backup/odoo-backup/core/testbed"
)

var servers testbed.Servers

func TestMain(m *testing.M) { testbed.Main(m, &servers) }

// The catalog conformance suite: every test below runs on SQLite as itself
// and again on PostgreSQL as a subtest of TestPostgres, against a database
// of its own on the test bed's real server. openTest and openTwoHandles pick
// the backend from the test's name.
var conformance = []func(*testing.T){
	TestConfigurationChangesAreAudited, TestRefusedChangeIsAuditedAsFailed, TestChangeAndItsRecordAreOneTransaction,
	TestAuditFilterAndPaging, TestBackupsFilter, TestOrphaned, TestCreateBackupReportsOrphaned, TestUpdateProgress,
	TestUpdateProgressHeartbeatIsNotProgress, TestBackupMissingFiles, TestDrillHistory, TestDrillFrequencyStored,
	TestRefusedOperations, TestSchemaRefusesRawSQL, TestCheckPrimariesRollsBack, TestFirstConfigurationBecomesPrimary,
	TestPrimaryMoves, TestPrimaryFalseKeepsThePrimary, TestSetConfigurationUpdatesInPlace, TestRemoveConfigurations,
	TestTemplatePrimaryRules, TestAddServiceFromTemplateCopiesExactly, TestRemoveServiceKeepsItsBackups,
	TestRemoveDestinationForgettingBackups, TestRemoveUnusedDestination, TestRenameKeepsHistory, TestConfigurationsOrder,
	TestAcquireFreeLease, TestAcquireKeepsGivenAcquiredAt, TestAcquireZeroHeartbeatMeansNow,
	TestSameHolderReacquiresAndKeepsAcquiredAt, TestOtherHolderRefusedWhileTakeOverSaysNo, TestTakeOver, TestRenewLease,
	TestRenewAfterTakeOverFails, TestReleaseLease, TestLeasesAreIndependent, TestAcquireLeaseRefusesIncompleteLease,
	TestRacingAcquireHasOneWinner, TestAddServiceAdoptsPlaceholder, TestDestinationRoundTrip, TestServiceRoundTrip,
	TestConfigurationRoundTrip, TestTemplateRoundTrip, TestBackupRoundTrip, TestScheduleVersionFollowsScheduleChanges,
	TestScheduleVersionIgnoresBackupsAndLeases, TestScheduleVersionSeenAcrossHandles, TestSecretsAreEncryptedAtRest,
	TestCiphertextIsBoundToItsColumn, TestSecretReferencesAreStoredAsReferences, TestTwoHandlesWriteConcurrently,
	TestReopenAppliesNoMigrationTwice, TestGivenIDsAreNeverGivenAgain,
	TestDaemonRecordFollowsItsLease, TestServiceMoveIsAudited,
	TestRequestLifecycle, TestCancelRequest, TestAbandonRequestIsConditional, TestRequestsFilter, TestRequestRefusesBadInput,
	TestRacingClaimHasOneWinner, TestWaitRequestsWakesOnSubmit,
	TestJournalReplayIsIdempotent,
	TestRolesEnforcedByTheServer, TestRoleGrantListRevoke,
	TestHealthSnapshotJudgesAsEvaluateService, TestHealthSnapshotFindsSuccessBeyondFifty,
	TestRestoresRecorded,
	TestNotifyChannelLifecycle, TestNotifyURLsAreSealed, TestPingURLRoundTrip, TestDeliveriesAndNotifyStates,
	TestViewerReadsNoNotifyURL,
	TestBackupTotals,
	TestServiceHooksLifecycle,
	TestPoolLocks,
}

// sqliteOnly are the tests about SQLite itself, with the reason each does not
// run on PostgreSQL.
var sqliteOnly = map[string]string{
	"TestBackupsPageUsesIndex":                             "reads SQLite's EXPLAIN QUERY PLAN",
	"TestBackupTotalsUsesIndex":                            "reads SQLite's EXPLAIN QUERY PLAN",
	"TestOpenDamagedCatalog":                               "damages the SQLite file",
	"TestCatalogDamagedAfterOpen":                          "damages pages of the SQLite file after it opened",
	"TestOpenUnreachableCatalog":                           "about the SQLite file's directory",
	"TestOpenCreatesPrivateFileAndDirectory":               "about the SQLite file's mode",
	"TestOpenRestrictsWiderExistingFile":                   "about the SQLite file's mode",
	"TestOpenRefusesUnusablePath":                          "about SQLite file paths",
	"TestKeyPath":                                          "the key beside an SQLite file",
	"TestConcurrentOpenOfNewCatalog":                       "SQLite's busy answer while a new file turns to WAL",
	"TestOpenCatalogKeepsItsFileLock":                      "SQLite's lock on its file",
	"TestScheduleVersionAfterUpgrade":                      "builds an SQLite catalog of an older schema",
	"TestPlaintextSecretsOfOlderCatalogAreEncryptedOnOpen": "builds an SQLite catalog of an older schema",
	"TestAppendedMigrationRunsOnce":                        "appends to the SQLite migrations",
	"TestOpenRefusesNewerCatalog":                          "writes SQLite's schema_migrations by hand",
	"TestKeyFileOthersCanReadIsRefused":                    "the key file is the same code for both backends",
	"TestKeyFileOfWrongSizeIsRefused":                      "the key file is the same code for both backends",
	"TestMissingKeyFile":                                   "the key file is the same code for both backends",
	"TestConcurrentKeyCreationSharesOneKey":                "the key file is the same code for both backends",
	"TestWrongKeyFile":                                     "the key file is the same code for both backends",
	"TestNoFrontEndAdviceInCoreOrStore":                    "reads source files, not a catalog",
	"TestCommandSentencesFindsCommandText":                 "reads source files, not a catalog",
	"TestPostgres":                                         "the suite itself",
	"TestMigrateCatalogIntoPostgres":                       "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateSharesIdenticalDestinations":               "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateRefusesUnreadableSecrets":                  "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateRenumbersClashingBackups":                  "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateRefusesRunningBackups":                     "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateResealsPingURL":                            "migrates an SQLite catalog into PostgreSQL: both backends are in the test",
	"TestMigrateNeedsSQLiteIntoPostgres":                   "about which backends a migration goes between",
	"TestMigrateCoversEveryTable":                          "reads the SQLite schema a migration copies from",
	"TestFleetKeyOnEveryHost":                              "hosts sharing a PostgreSQL catalog: opens the test bed's PostgreSQL itself",
	"TestInstallAndExportKeyRefusals":                      "key files, not a catalog",
	"TestJournalDropsTornLastLine":                         "a host's journal file, not a catalog",
	"TestJournalKeepsCopyOfDamagedJournal":                 "a host's journal file, not a catalog",
	"TestJournalInUnusableDirectory":                       "a host's journal file, not a catalog",
	"TestJournaledWhileCatalogIsDown":                      "stops the server of a PostgreSQL cluster of its own",
	"TestJournaledWhileCatalogHangs":                       "freezes the server of a PostgreSQL cluster of its own",
	"TestConformanceCoversEveryTest":                       "checks this list",
}

func TestPostgres(t *testing.T) {
	servers.Postgres(t)
	for _, test := range conformance {
		name := strings.TrimPrefix(funcName(test), "Test")
		t.Run(name, test)
	}
}

// onPostgres tells whether t runs in the PostgreSQL half of the suite.
func onPostgres(t testing.TB) bool { return strings.HasPrefix(t.Name(), "TestPostgres/") }

var catalogDatabases atomic.Int64

// catalogTarget is where the test's catalog lives: a new SQLite file, or a
// new database on the test bed's PostgreSQL.
func catalogTarget(t testing.TB) string {
	t.Helper()
	if !onPostgres(t) {
		return filepath.Join(t.TempDir(), "catalog.db")
	}
	pg := servers.Postgres(t)
	name := fmt.Sprintf("catalog_%d", catalogDatabases.Add(1))
	ctx := context.Background()
	must(t, pg.CreateDatabase(ctx, name))
	t.Cleanup(func() { pg.DropDatabase(context.Background(), name) })
	return pg.ConnString(name)
}

// TestConformanceCoversEveryTest: a new test of the package runs on both
// backends unless it says why not.
func TestConformanceCoversEveryTest(t *testing.T) {
	listed := map[string]bool{}
	for _, f := range conformance {
		listed[funcName(f)] = true
	}
	fset := token.NewFileSet()
	files, err := filepath.Glob("*_test.go")
	must(t, err)
	var missing []string
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		must(t, err)
		for _, d := range f.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok || fn.Recv != nil || !strings.HasPrefix(fn.Name.Name, "Test") || fn.Name.Name == "TestMain" {
				continue
			}
			if !listed[fn.Name.Name] && sqliteOnly[fn.Name.Name] == "" {
				missing = append(missing, fn.Name.Name)
			}
			if listed[fn.Name.Name] && sqliteOnly[fn.Name.Name] != "" {
				t.Errorf("%s is both in the conformance suite and SQLite-only", fn.Name.Name)
			}
		}
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Errorf("tests neither in the conformance suite nor SQLite-only with a reason: %s", strings.Join(missing, ", "))
	}
}

func funcName(f func(*testing.T)) string {
	name := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return name[strings.LastIndex(name, ".")+1:]
}
