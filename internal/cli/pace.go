package cli

import (
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/port-labs/port-aws-exporter/internal/source"
)

// PrintPace writes the pace the sync found under its table: each region's
// Cloud Control pace with its throttled calls and cuts, and the Port
// client's (portPerSecond: +Inf unpaced, NaN without a Port client).
func PrintPace(w io.Writer, regions []source.RegionRate, portPerSecond float64) {
	var parts []string
	for _, r := range regions {
		if r.PerSecond < 0 || math.IsInf(r.PerSecond, 1) {
			parts = append(parts, fmt.Sprintf("cloud control %s unpaced", r.Region))
			continue
		}
		parts = append(parts, fmt.Sprintf("cloud control %s %.1f/s (%d throttled, %d cuts)", r.Region, r.PerSecond, r.Throttled, r.Cuts))
	}
	switch {
	case math.IsNaN(portPerSecond):
	case math.IsInf(portPerSecond, 1):
		parts = append(parts, "port unpaced")
	default:
		parts = append(parts, fmt.Sprintf("port %.2f/s", portPerSecond))
	}
	if len(parts) > 0 {
		fmt.Fprintf(w, "PACE %s\n", strings.Join(parts, ", "))
	}
}
