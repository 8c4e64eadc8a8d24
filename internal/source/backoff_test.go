package source

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

func TestBackoffStaysWithinBounds(t *testing.T) {
	for _, tc := range []struct{ base, cap time.Duration }{
		{250 * time.Millisecond, 20 * time.Second},
		{time.Hour, 2 * time.Hour}, // base·2ⁿ overflows int64 quickly
		{time.Nanosecond, time.Nanosecond},
	} {
		c := NewCloudControl(awsConfigForTests(), Options{BackoffBase: tc.base, BackoffCap: tc.cap})
		for attempt := range 100 {
			ceiling := tc.cap
			if attempt < 20 {
				ceiling = min(tc.cap, tc.base*(1<<attempt))
			}
			for range 20 {
				if d := c.backoff(attempt); d < 0 || d >= ceiling {
					t.Fatalf("base %s cap %s attempt %d: backoff %s outside [0, %s)", tc.base, tc.cap, attempt, d, ceiling)
				}
			}
		}
	}
}

func awsConfigForTests() aws.Config { return aws.Config{Region: "eu-west-1"} }
