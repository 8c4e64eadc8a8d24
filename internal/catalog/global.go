package catalog

import "strings"

// Global is a global service: one control plane for the whole partition,
// whose CloudTrail events (and so the EventBridge events the rules match)
// arrive in one region only.
type Global struct {
	// Service is the type namespace, e.g. IAM for AWS::IAM::Role.
	Service string
	// EventRegion is where the service's events arrive in the commercial
	// partition (aws).
	EventRegion string
}

// globalServices: AWS documents that IAM, CloudFront and Route 53 events are
// delivered as occurring in US East (N. Virginia) (CloudTrail user guide,
// global service events), that Organizations (like IAM) delivers events to
// us-east-1 only (EventBridge knowledge center: rules for global services),
// and that Global Accelerator's API is served from US West (Oregon) only
// (Global Accelerator developer guide), so its CloudTrail events are recorded
// there. Route53Resolver and the other Route 53 families are regional.
var globalServices = map[string]string{
	"IAM":               "us-east-1",
	"CloudFront":        "us-east-1",
	"Route53":           "us-east-1",
	"Organizations":     "us-east-1",
	"GlobalAccelerator": "us-west-2",
}

// GlobalService says whether kind belongs to a global service, and where its
// events arrive.
func GlobalService(kind string) (Global, bool) {
	parts := strings.Split(kind, "::")
	if len(parts) < 3 {
		return Global{}, false
	}
	region, ok := globalServices[parts[1]]
	if !ok {
		return Global{}, false
	}
	return Global{Service: parts[1], EventRegion: region}, true
}
