// Package corpus holds the test data the project keeps in its shared folder
// beside the repository (../shared), copied here so that a clone's tests need
// nothing outside it: the real CloudTrail records of
// shared/testdata/cloudtrail (with their SOURCES.md) and the event-rule
// template of Port's documentation (shared/spec/seed-event-rule-template.yaml).
// Its test checks the copies against the originals when ../shared is present,
// and the repository's other copies of the template against this one always.
//
// Tests of other packages find the files through CloudTrailDir, CloudTrailRecord
// and SeedTemplate.
package corpus

import (
	"path/filepath"
	"runtime"
)

// dir is this package's directory in the source tree (tests run with the
// sources present).
func dir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("corpus: no caller information")
	}
	return filepath.Dir(file)
}

// CloudTrailDir is the directory of the CloudTrail records (one JSON record per file).
func CloudTrailDir() string { return filepath.Join(dir(), "testdata", "cloudtrail") }

// CloudTrailRecord is the path of one record, by file name.
func CloudTrailRecord(name string) string { return filepath.Join(CloudTrailDir(), name) }

// SeedTemplate is the path of the event-rule template of Port's documentation.
func SeedTemplate() string { return filepath.Join(dir(), "testdata", "seed-event-rule-template.yaml") }
