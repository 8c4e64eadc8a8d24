// Package cloudcontrol emulates the AWS Cloud Control API (ListResources and
// GetResource) over AWS JSON 1.0, faithfully enough that the real
// aws-sdk-go-v2 client yields the same typed errors it yields against AWS.
//
// One emulator serves every region: the region of a request is read from the
// SigV4 credential scope of its Authorization header (signatures themselves are
// not checked). It holds resources per (region, type), pages ListResources in
// small pages with opaque tokens, requires a ResourceModel for configured child
// types, may return fewer properties from list than from get, and injects
// faults: latency, a seeded share of throttled calls, access denied, type not
// found, unsupported action, not found, server errors and a broken paginator.
// It is safe for concurrent use; tests and the demo change its state while it
// serves.
package cloudcontrol

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// DefaultAccountID is the account an emulator reports unless a fixture says otherwise.
const DefaultAccountID = "123456789012"

// DefaultPageSize is the largest page ListResources returns, whatever MaxResults asks:
// real Cloud Control list handlers often answer about 25 resources a page.
const DefaultPageSize = 25

// Operation names as they appear after "CloudApiService." in X-Amz-Target.
const (
	OpListResources = "ListResources"
	OpGetResource   = "GetResource"
)

// FaultKind is an injected failure.
type FaultKind string

const (
	// AccessDenied answers AccessDeniedException, as AWS does when the caller
	// lacks cloudformation:ListResources or cloudformation:GetResource. Cloud
	// Control has no modelled type for it: the SDK yields a smithy.GenericAPIError.
	AccessDenied FaultKind = "AccessDenied"
	// HandlerAccessDenied answers GeneralServiceException carrying the
	// underlying service's AccessDenied, as when the caller may call Cloud
	// Control but not the service behind the type (e.g. lambda:ListFunctions).
	HandlerAccessDenied FaultKind = "HandlerAccessDenied"
	// TypeNotFound answers TypeNotFoundException (type not available in the region).
	TypeNotFound FaultKind = "TypeNotFound"
	// UnsupportedAction answers UnsupportedActionException (type cannot be listed or read).
	UnsupportedAction FaultKind = "UnsupportedAction"
	// NotFound makes GetResource answer ResourceNotFoundException while
	// ListResources still lists the resource: a resource that vanished
	// between the two calls. It does not affect ListResources.
	NotFound FaultKind = "NotFound"
	// InternalError answers ServiceInternalErrorException with HTTP 500.
	InternalError FaultKind = "InternalError"
	// RepeatNextToken makes ListResources answer, on a continued call, the
	// same NextToken it was given: a paginator that never ends.
	RepeatNextToken FaultKind = "RepeatNextToken"
)

// Scope selects the calls a fault applies to; an empty field matches anything.
// A fault with an Identifier applies to GetResource only.
type Scope struct {
	Region, Type, Identifier string
}

func (s Scope) matches(op, region, typeName, identifier string) bool {
	if s.Region != "" && s.Region != region {
		return false
	}
	if s.Type != "" && s.Type != typeName {
		return false
	}
	if s.Identifier != "" && (op != OpGetResource || s.Identifier != identifier) {
		return false
	}
	return true
}

func (s Scope) specificity() int {
	n := 0
	for _, f := range []string{s.Region, s.Type, s.Identifier} {
		if f != "" {
			n++
		}
	}
	return n
}

// Counts are what an emulator saw for one (operation, region).
type Counts struct {
	// Calls is every request that reached the operation, including failed ones.
	Calls int
	// Throttled is how many of them were answered ThrottlingException.
	Throttled int
	// Failed is how many were answered any other error.
	Failed int
}

type countKey struct{ op, region string }

// Emulator is an in-memory Cloud Control API.
type Emulator struct {
	mu         sync.Mutex
	accountID  string
	pageSize   int
	types      map[string]TypeConfig
	shelves    map[shelfKey]*shelf
	tokens     map[string]pageToken
	tokenOrder []string // issue order, for forgetting the oldest
	faults     map[Scope]FaultKind
	latency    time.Duration
	throttle   float64
	rng        *rand.Rand
	counts     map[countKey]*Counts
}

type pageToken struct {
	key    shelfKey
	model  string // the ResourceModel the listing was started with
	cursor string // last identifier returned
}

// New returns an empty emulator with the default page size and account.
func New() *Emulator {
	return &Emulator{
		accountID: DefaultAccountID,
		pageSize:  DefaultPageSize,
		types:     map[string]TypeConfig{},
		shelves:   map[shelfKey]*shelf{},
		tokens:    map[string]pageToken{},
		faults:    map[Scope]FaultKind{},
		rng:       rand.New(rand.NewPCG(1, 1)),
		counts:    map[countKey]*Counts{},
	}
}

// NewFromFixture returns an emulator loaded with a fixture's types and resources.
func NewFromFixture(f *Fixture) (*Emulator, error) {
	e := New()
	if f.AccountID != "" {
		e.accountID = f.AccountID
	}
	for name, tc := range f.Types {
		e.SetType(name, tc)
	}
	for _, r := range f.Resources {
		if err := e.Put(r.Region, r.Type, r.Identifier, r.Properties); err != nil {
			return nil, err
		}
	}
	return e, nil
}

// AccountID is the account the emulated resources belong to.
func (e *Emulator) AccountID() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.accountID
}

// SetPageSize caps every ListResources page at n resources (n ≥ 1).
func (e *Emulator) SetPageSize(n int) {
	if n < 1 {
		n = 1
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.pageSize = n
}

// ExpireTokens forgets every page token issued so far, as Cloud Control
// does with old ones: a listing resumed with one is refused with
// InvalidRequestException ("Invalid NextToken").
func (e *Emulator) ExpireTokens() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tokens = map[string]pageToken{}
	e.tokenOrder = nil
}

// SetType configures the list handler of one type.
func (e *Emulator) SetType(typeName string, tc TypeConfig) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.types[typeName] = tc
}

// Put adds a resource or replaces its properties.
func (e *Emulator) Put(region, typeName, identifier string, properties map[string]any) error {
	if region == "" || typeName == "" || identifier == "" {
		return fmt.Errorf("put cloud control resource: region, type and identifier are required (got %q, %q, %q)", region, typeName, identifier)
	}
	if properties == nil {
		properties = map[string]any{}
	}
	doc, err := json.Marshal(properties)
	if err != nil {
		return fmt.Errorf("put %s %s in %s: encode properties: %w", typeName, identifier, region, err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	k := shelfKey{region, typeName}
	s := e.shelves[k]
	if s == nil {
		s = &shelf{props: map[string][]byte{}}
		e.shelves[k] = s
	}
	s.put(identifier, doc)
	return nil
}

// Delete removes a resource and reports whether it existed.
func (e *Emulator) Delete(region, typeName, identifier string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.shelves[shelfKey{region, typeName}]
	return s != nil && s.remove(identifier)
}

// Resources returns the stored resources of one (region, type), sorted by identifier.
func (e *Emulator) Resources(region, typeName string) []Resource {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.shelves[shelfKey{region, typeName}]
	if s == nil {
		return nil
	}
	out := make([]Resource, 0, len(s.ids))
	for _, id := range s.ids {
		var props map[string]any
		_ = json.Unmarshal(s.props[id], &props) // stored by Put from valid JSON
		out = append(out, Resource{Region: region, Type: typeName, Identifier: id, Properties: props})
	}
	return out
}

// SetLatency delays every request by d before answering.
func (e *Emulator) SetLatency(d time.Duration) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.latency = d
}

// SetThrottle answers the given share (0..1) of all calls with
// ThrottlingException. Which calls are throttled follows a generator seeded
// with seed, so a sequential run is reproducible.
func (e *Emulator) SetThrottle(share float64, seed uint64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.throttle = share
	e.rng = rand.New(rand.NewPCG(seed, seed))
}

// SetFault injects a fault for every call in scope; the most specific
// matching scope wins.
func (e *Emulator) SetFault(scope Scope, kind FaultKind) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults[scope] = kind
}

// ClearFaults removes every injected fault, throttling and latency.
func (e *Emulator) ClearFaults() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.faults = map[Scope]FaultKind{}
	e.throttle = 0
	e.latency = 0
}

// Counts returns what the emulator saw for one operation in one region.
func (e *Emulator) Counts(op, region string) Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	if c := e.counts[countKey{op, region}]; c != nil {
		return *c
	}
	return Counts{}
}

// TotalCounts sums Counts over every operation and region.
func (e *Emulator) TotalCounts() Counts {
	e.mu.Lock()
	defer e.mu.Unlock()
	var t Counts
	for _, c := range e.counts {
		t.Calls += c.Calls
		t.Throttled += c.Throttled
		t.Failed += c.Failed
	}
	return t
}

// ResetCounts zeroes every counter.
func (e *Emulator) ResetCounts() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.counts = map[countKey]*Counts{}
}

// Regions lists the regions holding at least one resource.
func (e *Emulator) Regions() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := map[string]bool{}
	for k, s := range e.shelves {
		if len(s.ids) > 0 {
			set[k.region] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Types lists the types holding at least one resource.
func (e *Emulator) Types() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	set := map[string]bool{}
	for k, s := range e.shelves {
		if len(s.ids) > 0 {
			set[k.typeName] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// faultFor returns the most specific fault for a call; the caller holds e.mu.
func (e *Emulator) faultFor(op, region, typeName, identifier string) (FaultKind, bool) {
	best, bestN, found := FaultKind(""), -1, false
	for s, k := range e.faults {
		if s.matches(op, region, typeName, identifier) && s.specificity() > bestN {
			best, bestN, found = k, s.specificity(), true
		}
	}
	return best, found
}
