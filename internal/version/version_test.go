package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestResolve(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/port-labs/port-aws-exporter", Version: "v1.4.0"},
		Settings: []debug.BuildSetting{
			{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-01-01T00:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}
	cases := []struct {
		name                  string
		version, commit, date string
		bi                    *debug.BuildInfo
		want                  Info
	}{
		{"stamped release wins over build info", "v2.0.0", "fedcba", "2026-02-02T00:00:00Z", vcs,
			Info{Version: "v2.0.0", Commit: "fedcba", Date: "2026-02-02T00:00:00Z", GoVersion: "go1.26.8", Platform: "darwin/arm64"}},
		{"go install or go build in a tagged checkout", "", "", "", vcs,
			Info{Version: "v1.4.0", Commit: "0123456789abcdef0123456789abcdef01234567", Date: "2026-01-01T00:00:00Z", Modified: true, GoVersion: "go1.26.8", Platform: "darwin/arm64"}},
		{"-buildvcs=false and no stamp", "", "", "", devel,
			Info{Version: "dev", GoVersion: "go1.26.8", Platform: devel0Platform()}},
		{"git describe of a dirty tree", "v1.0.0-3-gabc1234-dirty", "", "", devel,
			Info{Version: "v1.0.0-3-gabc1234-dirty", Modified: true, GoVersion: "go1.26.8", Platform: devel0Platform()}},
	}
	if len(cases) < 4 {
		t.Fatalf("%d cases, want 4", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := resolve(c.version, c.commit, c.date, c.bi); got != c.want {
				t.Errorf("resolve = %+v\nwant      %+v", got, c.want)
			}
		})
	}
}

func devel0Platform() string { return resolve("", "", "", nil).Platform }

func TestStringNamesWhatIsKnown(t *testing.T) {
	s := Info{Version: "v1.2.3", Commit: "abc", Date: "2026-01-01T00:00:00Z", Modified: true, GoVersion: "go1.26.8", Platform: "linux/arm64"}.String()
	for _, want := range []string{"v1.2.3", "commit abc (modified)", "date 2026-01-01T00:00:00Z", "go1.26.8 linux/arm64"} {
		if !strings.Contains(s, want) {
			t.Errorf("%q lacks %q", s, want)
		}
	}
	if s := (Info{Version: "dev", GoVersion: "go1.26.8", Platform: "linux/amd64"}).String(); strings.Contains(s, "commit") || strings.Contains(s, "date") {
		t.Errorf("%q names a commit or date it does not know", s)
	}
}
