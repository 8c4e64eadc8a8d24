package bench

import (
	"os"
	"strings"
	"testing"
)

func TestParseVmHWM(t *testing.T) {
	cases := []struct {
		status string
		want   int64
		ok     bool
	}{
		{"Name:\tbench\nVmPeak:\t  900 kB\nVmHWM:\t   12345 kB\nVmRSS:\t 100 kB\n", 12345 * 1024, true},
		{"VmHWM:\t0 kB\n", 0, true},
		{"VmRSS:\t100 kB\n", 0, false},
		{"VmHWM:\t12 MB\n", 0, false},
		{"VmHWM:\t-5 kB\n", 0, false},
		{"VmHWM:\t99999999999999999999 kB\n", 0, false},
	}
	for _, c := range cases {
		got, err := parseVmHWM([]byte(c.status))
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("parseVmHWM(%q) = %d, %v; want %d, ok %t", c.status, got, err, c.want, c.ok)
		}
	}
}

func TestPeakRSSIsThisProcess(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc/self/status (not Linux)")
	}
	before, err := PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	// Touch 64 MB: the high-water mark must rise by about that much.
	buf := make([]byte, 64<<20)
	for i := range buf {
		buf[i] = byte(i)
	}
	after, err := PeakRSS()
	if err != nil {
		t.Fatal(err)
	}
	if after-before < 48<<20 {
		t.Errorf("peak RSS went from %d to %d after touching 64 MB", before, after)
	}
	_ = buf[len(buf)-1]
}

// FuzzParseVmHWM: /proc/self/status is outside input; no line may panic the
// parser, and a value it accepts is a whole number of kB read from a VmHWM line.
func FuzzParseVmHWM(f *testing.F) {
	f.Add([]byte("VmHWM:\t   12345 kB\n"))
	f.Add([]byte("Name:\tx\nVmHWM:\t1 kB"))
	f.Add([]byte("VmHWM:"))
	f.Fuzz(func(t *testing.T, status []byte) {
		got, err := parseVmHWM(status)
		if err != nil {
			return
		}
		if got < 0 || got%1024 != 0 {
			t.Fatalf("parseVmHWM(%q) = %d", status, got)
		}
		if !strings.Contains(string(status), "VmHWM:") {
			t.Fatalf("accepted %q without a VmHWM line", status)
		}
	})
}
