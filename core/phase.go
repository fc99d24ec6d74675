package core

// Phase names a step of long work (a backup, restore, verify, download,
// upload, copy or drill), as Progress and a running Backup report it and
// the catalog stores it. Its value is the word the front ends show.
type Phase string

// Every phase there is: the front ends plan and show their jobs with these.
const (
	// PhaseSafety: a restore onto a service first backs the service up.
	PhaseSafety  Phase = "safety backup"
	PhaseConnect Phase = "connect"
	PhaseDump    Phase = "dump"
	// PhaseFilestore: a backup adds the filestore's files to the archive.
	PhaseFilestore Phase = "filestore"
	PhaseFinish    Phase = "finish"
	PhaseVerify    Phase = "verify"
	PhaseRestoreDB Phase = "restore database"
	PhaseRestoreFS Phase = "restore filestore"
	// PhaseCheck: the checks of a restored database (CheckRestored).
	PhaseCheck      Phase = "check"
	PhaseNeutralize Phase = "neutralize"
	// PhaseSwap: a verified restore is put in place of the service's data.
	PhaseSwap     Phase = "swap"
	PhaseDownload Phase = "download"
	// PhaseUpload is an upload sending its file.
	PhaseUpload Phase = "upload"
	// PhaseCopy and PhaseCopyServer are a backup copy to another
	// destination, streamed or done by the server.
	PhaseCopy       Phase = "copy"
	PhaseCopyServer Phase = "server-side copy"
	// PhaseDrillCheck is a drill checking the restored copy.
	PhaseDrillCheck Phase = "drill check"
	// PhaseHook: a backup waits for its pre-backup hook, which its own
	// timeout bounds (it is not stalled meanwhile).
	PhaseHook Phase = "pre-backup hook"
)
