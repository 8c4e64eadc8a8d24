package metrics

import (
	"regexp"
	"sync"

	"github.com/port-labs/port-aws-exporter/internal/catalog"
)

// Other is the label value that stands for every value a label does not
// admit: an unconfigured kind or region, or one past a label's cap.
const Other = "other"

// Caps on the distinct values a label admits when no allowed set bounds it.
const (
	// DefaultMaxKinds bounds resource_type and kind before SetKinds or
	// WithKinds names the configured kinds.
	DefaultMaxKinds = 100
	// DefaultMaxRegions bounds region before SetRegions or WithRegions.
	DefaultMaxRegions = 40
	// maxCodeValues bounds labels the exporter's own code or AWS and Port
	// answers fill (operation, outcome, route, status, reason).
	maxCodeValues = 64
)

var (
	// A Cloud Control type name: AWS::Lambda::Function, or a module's
	// Org::Service::Resource::MODULE.
	kindShape = regexp.MustCompile(`^[A-Za-z0-9]{1,64}(::[A-Za-z0-9]{1,64}){2,3}$`)
	// An AWS region of any partition, by the SDK's patterns: eu-west-1,
	// us-gov-west-1, cn-north-1, eusc-de-east-1 (internal/catalog).
	regionShape  = regexp.MustCompile(catalog.RegionPattern())
	accountShape = regexp.MustCompile(`^[0-9]{12}$`)
	// Error codes, operation and route names, statuses, reasons.
	codeShape = regexp.MustCompile(`^[A-Za-z0-9 ._:/{}-]{1,128}$`)
)

// label bounds the values of one label: a value in the allowed set passes;
// once an allowed set is given nothing else does; before that, values of
// the label's shape are admitted first come, up to max. Everything refused
// is Other. The empty value always passes (a message with no resource type
// at all is one series, not many). Safe for concurrent use.
type label struct {
	shape *regexp.Regexp
	max   int

	mu       sync.RWMutex
	allowed  map[string]bool // nil: no allowed set given
	admitted map[string]bool
}

func newLabel(shape *regexp.Regexp, max int) *label {
	return &label{shape: shape, max: max, admitted: map[string]bool{}}
}

func (l *label) value(v string) string {
	if v == "" {
		return v
	}
	l.mu.RLock()
	allowed, admitted, full := l.allowed, l.admitted[v], len(l.admitted) >= l.max
	l.mu.RUnlock()
	switch {
	case allowed != nil:
		if allowed[v] {
			return v
		}
		return Other
	case admitted:
		return v
	case full || !l.shape.MatchString(v):
		return Other
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.allowed != nil {
		// SetKinds ran meanwhile.
		if l.allowed[v] {
			return v
		}
		return Other
	}
	if !l.admitted[v] && len(l.admitted) >= l.max {
		return Other
	}
	l.admitted[v] = true
	return v
}

// allow makes values the only ones that pass. A nil or empty values still
// sets an (empty) allowed set: every non-empty value becomes Other.
func (l *label) allow(values []string) {
	set := make(map[string]bool, len(values))
	for _, v := range values {
		set[v] = true
	}
	l.mu.Lock()
	l.allowed = set
	l.mu.Unlock()
}

// fixed is a label whose values are known in advance.
func fixed(values ...string) *label {
	l := newLabel(codeShape, 0)
	l.allow(values)
	return l
}
