// Package version says which build of port-aws-exporter is running.
//
// A release build stamps the version, commit and date with the linker
// (-ldflags "-X ...", scripts/release.sh). Any other build falls back on what
// the Go toolchain recorded in the binary (debug.ReadBuildInfo): the module
// version of `go install ...@v1.2.3`, the version Go derives from the git tag
// of a checkout (Go 1.24 and later), and the VCS revision and commit time,
// unless the build ran with -buildvcs=false.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Set by the release build: -X github.com/port-labs/port-aws-exporter/internal/version.version=v1.2.3
// (and .commit, .date). Empty when not stamped.
var version, commit, date string

// Info is what `port-aws-exporter version` prints.
type Info struct {
	// Version is a tag (v1.2.3), a `git describe` or Go pseudo-version, or
	// "dev" when nothing recorded one.
	Version string `json:"version"`
	// Commit is the VCS revision the binary was built from; "" when unknown.
	Commit string `json:"commit,omitempty"`
	// Date is the commit's time (RFC 3339): release builds take the commit
	// time rather than the clock, so that a build is reproducible; "" when unknown.
	Date string `json:"date,omitempty"`
	// Modified is true when the work tree had uncommitted changes.
	Modified  bool   `json:"modified,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
}

// Get is this binary's Info.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return resolve(version, commit, date, bi)
}

// resolve prefers the stamped values and fills the rest from the build info.
func resolve(stampedVersion, stampedCommit, stampedDate string, bi *debug.BuildInfo) Info {
	info := Info{
		Version: stampedVersion, Commit: stampedCommit, Date: stampedDate,
		GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
	if bi != nil {
		info.GoVersion = bi.GoVersion
		settings := map[string]string{}
		for _, s := range bi.Settings {
			settings[s.Key] = s.Value
		}
		if os, arch := settings["GOOS"], settings["GOARCH"]; os != "" && arch != "" {
			info.Platform = os + "/" + arch
		}
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		if info.Commit == "" {
			info.Commit = settings["vcs.revision"]
			info.Modified = settings["vcs.modified"] == "true"
		}
		if info.Date == "" {
			info.Date = settings["vcs.time"]
		}
	}
	if strings.HasSuffix(info.Version, "-dirty") || strings.HasSuffix(info.Version, "+dirty") {
		info.Modified = true
	}
	if info.Version == "" {
		info.Version = "dev"
	}
	return info
}

// String is one line: the version, then commit, date and toolchain when known.
func (i Info) String() string {
	var b strings.Builder
	b.WriteString(i.Version)
	var details []string
	if i.Commit != "" {
		c := i.Commit
		if i.Modified {
			c += " (modified)"
		}
		details = append(details, "commit "+c)
	}
	if i.Date != "" {
		details = append(details, "date "+i.Date)
	}
	details = append(details, i.GoVersion+" "+i.Platform)
	fmt.Fprintf(&b, " (%s)", strings.Join(details, ", "))
	return b.String()
}
